"""Rate limits (contract section 7): GCRA buckets, 429 with Retry-After, the IETF RateLimit headers.

Every limit here runs on a `FakeClock`, so refills happen exactly when a test advances time.
"""

from __future__ import annotations

import threading

import pytest
import webob
from helpers import FakeClock

from resourcekit import errors
from resourcekit.ratelimit import (
    Decision,
    MemoryRateLimitStore,
    MemoryStore,
    RateLimit,
    client_address,
    parse_rate,
)


def request(addr: str = "192.0.2.1", **environ: str) -> webob.Request:
    return webob.Request.blank("/things", environ={"REMOTE_ADDR": addr, **environ})


def allowed(limit: RateLimit, n: int, req: webob.Request | None = None) -> int:
    """How many of ``n`` hits got through."""
    req = req or request()
    return sum(limit.hit(req).allowed for _ in range(n))


def state(headers: list[tuple[str, str]]) -> str:
    return dict(headers)["RateLimit"]


# -- rate strings -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rate", "expected"),
    [
        ("100/minute", (100, 60)),
        ("100/min", (100, 60)),
        ("5/second", (5, 1)),
        ("5/s", (5, 1)),
        ("5/sec", (5, 1)),
        ("3/hour", (3, 3600)),
        ("3/h", (3, 3600)),
        ("2/day", (2, 86400)),
        ("2/d", (2, 86400)),
        (" 10 / Minute ", (10, 60)),
    ],
)
def test_parse_rate(rate: str, expected: tuple[int, int]) -> None:
    assert parse_rate(rate) == expected


@pytest.mark.parametrize(
    "rate", ["100", "100/", "/minute", "100/week", "100/minutes", "0/minute", "-1/s", "1.5/s", ""]
)
def test_bad_rate_strings_are_refused_clearly(rate: str) -> None:
    with pytest.raises(ValueError, match=r"is not 'N/unit' with N >= 1.*minute \(min\)"):
        RateLimit(rate)


def test_bad_names_are_refused() -> None:
    for name in ["", "caf\u00e9", "tab\there"]:
        with pytest.raises(ValueError, match="printable ASCII"):
            RateLimit("1/s", name=name)


# -- the algorithm ------------------------------------------------------------------------------


def test_a_burst_of_exactly_n_then_429_with_retry_after() -> None:
    limit = RateLimit("5/minute", clock=FakeClock())
    for _ in range(5):
        limit.check(request())
    with pytest.raises(errors.TooManyRequests) as caught:
        limit.check(request())
    error = caught.value
    assert error.status == 429
    assert error.detail == "rate limit exceeded: 5 per minute"
    assert error.to_problem()["status"] == 429
    assert error.headers == [
        ("Retry-After", "12"),  # one request refills every 60 / 5 seconds
        ("RateLimit-Policy", '"default";q=5;w=60'),
        ("RateLimit", '"default";r=0;t=60'),
    ]


def test_decisions_report_remaining_reset_and_retry_after() -> None:
    limit = RateLimit("5/minute", clock=FakeClock())
    assert limit.hit(request()) == Decision(True, 5, 4, 12.0, 0.0)
    for _ in range(3):
        limit.hit(request())
    assert limit.hit(request()) == Decision(True, 5, 0, 60.0, 0.0)
    assert limit.hit(request()) == Decision(False, 5, 0, 60.0, 12.0)
    assert limit.hit(request()) == Decision(False, 5, 0, 60.0, 12.0)  # refusals cost nothing


def test_the_bucket_refills_continuously() -> None:
    clock = FakeClock()
    limit = RateLimit("5/minute", clock=clock)
    assert allowed(limit, 10) == 5
    clock.advance(11.9)
    denied = limit.hit(request())
    assert not denied.allowed and denied.retry_after == pytest.approx(0.1)
    with pytest.raises(errors.TooManyRequests) as caught:
        limit.check(request())
    assert dict(caught.value.headers)["Retry-After"] == "1"  # rounded up, at least 1
    clock.advance(0.1)
    assert allowed(limit, 10) == 1
    clock.advance(30)  # two and a half requests' worth
    assert allowed(limit, 10) == 2
    clock.advance(60)  # a full bucket, and no more than that
    assert allowed(limit, 10) == 5


def test_a_steady_client_gets_the_rate_and_the_burst_over_a_long_run() -> None:
    clock = FakeClock()
    limit = RateLimit("5/minute", clock=clock)
    total = 0
    for _ in range(600):  # one request a second for ten minutes
        total += limit.hit(request()).allowed
        clock.advance(1)
    assert total == 5 + 50 - 1  # the burst, then one per 12 s; the 50th refill lands at t=600


def test_counts_are_exact_at_any_clock_magnitude_and_rate() -> None:
    for now in (0.0, 1e6, 1.7e9):  # monotonic seconds after boot, or wall-clock time
        for rate, n in [("7/minute", 7), ("1000/second", 1000), ("3/day", 3)]:
            assert allowed(RateLimit(rate, clock=FakeClock(now)), n + 5) == n


# -- keys ---------------------------------------------------------------------------------------


def test_clients_have_separate_buckets() -> None:
    limit = RateLimit("2/minute", clock=FakeClock())
    assert allowed(limit, 5, request("192.0.2.1")) == 2
    assert allowed(limit, 5, request("192.0.2.2")) == 2
    assert allowed(limit, 5, request("192.0.2.1")) == 0


def test_the_default_key_prefers_the_resolved_client_address() -> None:
    assert client_address(request("10.0.0.1")) == "10.0.0.1"
    behind_proxy = request("10.0.0.1", **{"resourcekit.client": "198.51.100.7"})
    assert client_address(behind_proxy) == "198.51.100.7"
    assert client_address(webob.Request.blank("/", environ={"REMOTE_ADDR": ""})) == ""
    limit = RateLimit("1/minute", clock=FakeClock())
    assert allowed(limit, 1, behind_proxy) == 1
    assert allowed(limit, 1, request("10.0.0.1")) == 1  # the proxy itself is another client


def test_a_custom_key() -> None:
    limit = RateLimit("2/hour", key=lambda r: r.headers["X-API-Key"], clock=FakeClock())
    alice_here = request("192.0.2.1", HTTP_X_API_KEY="alice")
    alice_there = request("192.0.2.2", HTTP_X_API_KEY="alice")
    bob = request("192.0.2.1", HTTP_X_API_KEY="bob")
    assert allowed(limit, 1, alice_here) + allowed(limit, 3, alice_there) == 2
    assert allowed(limit, 3, bob) == 2


def test_limits_sharing_a_store_are_told_apart_by_name() -> None:
    store, clock = MemoryRateLimitStore(), FakeClock()
    reads = RateLimit("2/minute", store=store, name="reads", clock=clock)
    writes = RateLimit("1/minute", store=store, name="writes", clock=clock)
    assert allowed(reads, 5) == 2
    assert allowed(writes, 5) == 1
    assert len(store) == 2


# -- headers ------------------------------------------------------------------------------------


def test_headers_follow_the_ietf_draft() -> None:
    limit = RateLimit("100/minute", clock=FakeClock())
    assert limit.policy_header == ("RateLimit-Policy", '"default";q=100;w=60')
    for _ in range(57):
        limit.hit(request())
    headers = limit.check(request())  # the 58th: 42 left, full again in 58 * 0.6 = 34.8 s
    assert headers == [
        ("RateLimit-Policy", '"default";q=100;w=60'),
        ("RateLimit", '"default";r=42;t=35'),
    ]


def test_header_names_are_structured_field_strings() -> None:
    limit = RateLimit("3/hour", name='say "hi" \\o', clock=FakeClock())
    assert limit.policy_header[1] == '"say \\"hi\\" \\\\o";q=3;w=3600'
    assert state(limit.check(request())) == '"say \\"hi\\" \\\\o";r=2;t=1200'


def test_headers_of_a_partly_refilled_bucket() -> None:
    clock = FakeClock()
    limit = RateLimit("10/second", clock=clock)
    assert allowed(limit, 10) == 10
    clock.advance(0.25)  # two and a half refills
    assert state(limit.check(request())) == '"default";r=1;t=1'  # full again in 0.85 s
    assert limit.hit(request()) == Decision(True, 10, 0, pytest.approx(0.95), 0.0)
    assert not limit.hit(request()).allowed


# -- the memory store ---------------------------------------------------------------------------


def test_concurrent_hits_on_one_key_admit_exactly_the_limit() -> None:
    limit = RateLimit("50/hour", clock=FakeClock())
    start = threading.Barrier(8)
    counts: list[int] = []

    def hammer() -> None:
        start.wait()
        counts.append(allowed(limit, 100))

    threads = [threading.Thread(target=hammer) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(counts) == 50


def test_full_buckets_are_pruned() -> None:
    clock, store = FakeClock(), MemoryRateLimitStore()
    limit = RateLimit("1/second", store=store, clock=clock)
    for addr in ["192.0.2.1", "192.0.2.2", "192.0.2.3"]:
        limit.hit(request(addr))
    assert len(store) == 3
    clock.advance(0.5)
    limit.hit(request("192.0.2.4"))
    assert len(store) == 4  # nothing has refilled yet
    clock.advance(0.6)  # the first three are full again, the fourth is not
    limit.hit(request("192.0.2.5"))
    assert len(store) == 2


def test_the_store_is_bounded_and_forgets_the_least_recently_hit() -> None:
    store = MemoryRateLimitStore(max_keys=3)
    limit = RateLimit("1/hour", store=store, clock=FakeClock())
    for addr in ["a", "b", "c"]:
        assert limit.hit(request(addr)).allowed
    assert not limit.hit(request("a")).allowed  # a is now the most recently hit
    for addr in [f"churn-{i}" for i in range(1000)]:
        limit.hit(request(addr))
        assert len(store) <= 3
    assert limit.hit(request("a")).allowed  # forgotten under churn: a fresh bucket
    assert MemoryRateLimitStore(max_keys=1).gcra("k", 0, 10, 0) == (True, 10)
    with pytest.raises(ValueError, match="max_keys"):
        MemoryRateLimitStore(max_keys=0)


def test_a_refused_client_counts_as_recently_seen() -> None:
    store = MemoryRateLimitStore(max_keys=2)
    limit = RateLimit("1/hour", store=store, clock=FakeClock())
    limit.hit(request("a"))
    limit.hit(request("b"))
    assert not limit.hit(request("a")).allowed  # refused, yet now newer than b
    limit.hit(request("c"))  # evicts b, not a
    assert not limit.hit(request("a")).allowed
    assert limit.hit(request("b")).allowed


def test_memory_store_is_the_first_name_of_the_memory_rate_limit_store() -> None:
    assert MemoryStore is MemoryRateLimitStore
    assert isinstance(RateLimit("1/s").store, MemoryRateLimitStore)
