"""The stores behind rate limits and idempotency keys, in memory and in Redis, held to one contract.

Every behavioural test here runs against both the in-memory store and the Redis store (a real
``redis-server`` on a free loopback port, started once for the session). Tests that move time
use a fake clock with the memory store and real sleeps with Redis (whose expiry runs on its own
clock), with margins that survive a loaded machine. Then come what only a shared store can show:
several `RateLimit`s, clients and sites, as several processes would be, seeing one state.

Without ``redis-server`` (Debian: ``apt-get install redis-server``) or the ``redis`` package the
Redis cases are skipped, saying which is missing; under CI (``CI=true``) they fail instead, so a
missing install step cannot pass as green.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import webob
from helpers import FakeClock, free_port, notes_site, stop, unavailable

from resourcekit import errors
from resourcekit.idempotency import (
    Begin,
    BeginState,
    Idempotency,
    IdempotencyStore,
    MemoryIdempotencyStore,
    StoredResponse,
)
from resourcekit.ratelimit import Decision, MemoryRateLimitStore, RateLimit, RateLimitStore
from resourcekit.testing import Client

CREATED = StoredResponse(
    201,
    (("Content-Type", "application/json"), ("Location", "/n/1"), ("X-Caf\u00e9", "cr\u00e8me")),
    b'{"id": 1}\x00\xff binary is kept',
)
DAY = 24 * 3600


# -- servers ------------------------------------------------------------------------------------


def redis_module() -> Any:
    try:
        import redis
    except ImportError:
        unavailable("the redis package is not installed: pip install -e '.[test]' (or redis>=5)")
    return redis


@contextlib.contextmanager
def redis_server(directory: Path, port: int | None = None) -> Iterator[str]:
    """A private redis-server on 127.0.0.1 and a free port (or ``port``), without persistence;
    yields its URL."""
    redis = redis_module()
    binary = shutil.which("redis-server")
    if binary is None:
        unavailable("redis-server is not installed (Debian: apt-get install redis-server)")
    port = port or free_port()
    command = [
        binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
        "--dir", str(directory), "--daemonize", "no", "--loglevel", "warning",
    ]  # fmt: skip
    log = open(directory / "redis.log", "w+")  # noqa: SIM115 - closed below
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    url = f"redis://127.0.0.1:{port}/0"
    try:
        client = redis.Redis.from_url(url, socket_timeout=2)
        deadline = time.monotonic() + 15
        while True:
            try:
                # ours, not another test session's that took the same free port first
                if client.info("server")["process_id"] == process.pid:
                    break
                raise redis.ConnectionError("another redis-server answers on this port")
            except redis.ConnectionError:
                if process.poll() is not None or time.monotonic() > deadline:
                    log.seek(0)
                    unavailable(f"redis-server did not start on port {port}: {log.read()[-500:]}")
                time.sleep(0.05)
        client.close()
        yield url
    finally:
        stop(process)
        log.close()


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with redis_server(tmp_path_factory.mktemp("redis")) as url:
        yield url


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[Any]:
    """A client on an emptied database: every test starts from nothing."""
    client = redis_module().Redis.from_url(redis_url, socket_timeout=5)
    client.flushdb()
    yield client
    client.close()


# -- the two kinds of store, behind one harness -------------------------------------------------


class Stores:
    """Makes stores of one kind; ``wait(seconds)`` lets their time pass (fake or real)."""

    def __init__(self, kind: str, client: Any = None) -> None:
        self.kind = kind
        self.client = client
        self.clock = FakeClock()

    def idempotency(self, lock_ttl: float = 60.0) -> IdempotencyStore:
        if self.kind == "memory":
            return MemoryIdempotencyStore(lock_ttl=lock_ttl, clock=self.clock)
        from resourcekit.redis import RedisIdempotencyStore

        return RedisIdempotencyStore(self.client, lock_ttl=lock_ttl)

    def rate_limits(self) -> RateLimitStore:
        """A store that takes the caller's time, so a fake clock drives it."""
        if self.kind == "memory":
            return MemoryRateLimitStore()
        from resourcekit.redis import RedisRateLimitStore

        return RedisRateLimitStore(self.client, server_time=False)

    def wait(self, seconds: float) -> None:
        if self.kind == "memory":
            self.clock.advance(seconds)
        else:
            time.sleep(seconds)


@pytest.fixture(params=["memory", "redis"])
def stores(request: pytest.FixtureRequest) -> Stores:
    if request.param == "memory":
        return Stores("memory")
    return Stores("redis", request.getfixturevalue("redis_client"))


# -- idempotency: the store contract ------------------------------------------------------------


def test_the_first_request_starts(stores: Stores) -> None:
    s = stores.idempotency()
    begin = s.begin("k", "fp", DAY)
    assert begin.state is BeginState.STARTED
    assert begin.response is None and begin.token
    assert s.begin("other", "fp", DAY).token != begin.token


def test_a_completed_key_replays_the_same_response(stores: Stores) -> None:
    s = stores.idempotency()
    token = s.begin("k", "fp", DAY).token
    assert s.complete("k", CREATED, DAY, token=token)
    replay = s.begin("k", "fp", DAY)
    assert replay == Begin(BeginState.REPLAY, CREATED)  # status, headers in order, exact bytes
    assert s.begin("k", "fp", DAY).state is BeginState.REPLAY  # and again
    empty = StoredResponse(204, (), b"")
    s.complete("e", empty, DAY, token=s.begin("e", "fp", DAY).token)
    assert s.begin("e", "fp", DAY).response == empty


def test_the_same_key_with_another_request_is_a_mismatch(stores: Stores) -> None:
    s = stores.idempotency()
    token = s.begin("k", "fp", DAY).token
    assert s.begin("k", "other fp", DAY).state is BeginState.MISMATCH  # while in progress
    s.complete("k", CREATED, DAY, token=token)
    assert s.begin("k", "other fp", DAY) == Begin(BeginState.MISMATCH)  # and once done


def test_concurrent_begins_start_exactly_once(stores: Stores) -> None:
    s = stores.idempotency()
    start = threading.Barrier(20)
    states: list[BeginState] = []

    def begin() -> None:
        start.wait()
        states.append(s.begin("k", "fp", DAY).state)

    threads = [threading.Thread(target=begin) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert states.count(BeginState.STARTED) == 1
    assert states.count(BeginState.IN_PROGRESS) == 19


def test_a_released_key_starts_again(stores: Stores) -> None:
    s = stores.idempotency()
    first = s.begin("k", "fp", DAY)
    s.release("k", token="not the owner's")
    assert s.begin("k", "fp", DAY).state is BeginState.IN_PROGRESS
    s.release("k", token=first.token)
    second = s.begin("k", "fp", DAY)
    assert second.state is BeginState.STARTED and second.token != first.token
    s.release("k")  # without a token: whoever holds the claim
    assert s.begin("k", "other fp", DAY).state is BeginState.STARTED  # forgotten entirely


def test_release_keeps_a_result(stores: Stores) -> None:
    s = stores.idempotency()
    token = s.begin("k", "fp", DAY).token
    s.complete("k", CREATED, DAY, token=token)
    s.release("k", token=token)
    s.release("k")
    assert s.begin("k", "fp", DAY).state is BeginState.REPLAY


def test_complete_needs_a_live_claim(stores: Stores) -> None:
    s = stores.idempotency()
    assert not s.complete("unknown", CREATED, DAY)
    token = s.begin("k", "fp", DAY).token
    assert not s.complete("k", CREATED, DAY, token="not the owner's")
    assert s.complete("k", CREATED, DAY, token=token)
    other = StoredResponse(500, (), b"")
    assert not s.complete("k", other, DAY, token=token)  # a result is never overwritten
    assert not s.complete("k", other, DAY)
    assert s.begin("k", "fp", DAY).response == CREATED


def test_results_expire_after_their_ttl(stores: Stores) -> None:
    s = stores.idempotency()
    s.complete("k", CREATED, 1.0, token=s.begin("k", "fp", DAY).token)
    stores.wait(0.3)
    assert s.begin("k", "fp", DAY).state is BeginState.REPLAY
    stores.wait(0.9)
    assert s.begin("k", "other fp", DAY).state is BeginState.STARTED


def test_claims_lapse_after_the_lock_ttl(stores: Stores) -> None:
    s = stores.idempotency(lock_ttl=1.0)
    crashed = s.begin("k", "fp", DAY)
    stores.wait(0.3)
    assert s.begin("k", "fp", DAY).state is BeginState.IN_PROGRESS
    stores.wait(0.9)
    retry = s.begin("k", "fp", DAY)
    assert retry.state is BeginState.STARTED
    assert not s.complete("k", CREATED, DAY, token=crashed.token)  # too late: not its claim
    s.release("k", token=crashed.token)
    assert s.begin("k", "fp", DAY).state is BeginState.IN_PROGRESS
    assert s.complete("k", CREATED, DAY, token=retry.token)


def test_a_claim_lapses_at_the_key_ttl_when_that_is_shorter(stores: Stores) -> None:
    s = stores.idempotency(lock_ttl=60)
    s.begin("k", "fp", 1.0)
    stores.wait(0.3)
    assert s.begin("k", "fp", DAY).state is BeginState.IN_PROGRESS
    stores.wait(0.9)
    assert s.begin("k", "fp", DAY).state is BeginState.STARTED


def test_stores_refuse_a_lock_ttl_that_is_not_positive(stores: Stores) -> None:
    with pytest.raises(ValueError, match="lock_ttl"):
        stores.idempotency(lock_ttl=0)


# -- rate limits: the store contract ------------------------------------------------------------


def hits(limit: RateLimit, n: int, address: str = "192.0.2.1") -> int:
    """How many of ``n`` hits from ``address`` got through."""
    req = webob.Request.blank("/things", environ={"REMOTE_ADDR": address})
    return sum(limit.hit(req).allowed for _ in range(n))


def test_the_store_operation_in_microseconds(stores: Stores) -> None:
    store = stores.rate_limits()
    s = 1_000_000  # seconds: Redis expires the key at its TAT in real time, which must not pass
    assert store.gcra("k", 100 * s, 10 * s, 20 * s) == (True, 110 * s)
    assert store.gcra("k", 100 * s, 10 * s, 20 * s) == (True, 120 * s)
    assert store.gcra("k", 100 * s, 10 * s, 20 * s) == (True, 130 * s)
    assert store.gcra("k", 100 * s, 10 * s, 20 * s) == (False, 130 * s)  # refused: TAT unchanged
    assert store.gcra("k", 110 * s, 10 * s, 20 * s) == (True, 140 * s)
    assert store.gcra("k", 500 * s, 10 * s, 20 * s) == (True, 510 * s)  # idle: again from now
    big = 1_700_000_000_123_457  # wall-clock microseconds: beyond Lua's 14-digit tostring
    assert store.gcra("wall", big, 3 * s, 6 * s) == (True, big + 3 * s)
    assert store.gcra("wall", big, 3 * s, 6 * s) == (True, big + 6 * s)
    assert store.gcra("wall", big + 1, 3 * s, 6 * s) == (True, big + 9 * s)
    assert store.gcra("wall", big + 1, 3 * s, 6 * s) == (False, big + 9 * s)


def test_a_burst_of_exactly_n_then_429_with_retry_after(stores: Stores) -> None:
    limit = RateLimit("5/minute", store=stores.rate_limits(), clock=FakeClock())
    req = webob.Request.blank("/things", environ={"REMOTE_ADDR": "192.0.2.1"})
    for _ in range(5):
        limit.check(req)
    with pytest.raises(errors.TooManyRequests) as caught:
        limit.check(req)
    assert caught.value.headers == [
        ("Retry-After", "12"),
        ("RateLimit-Policy", '"default";q=5;w=60'),
        ("RateLimit", '"default";r=0;t=60'),
    ]


def test_decisions_and_refills(stores: Stores) -> None:
    clock = FakeClock(1.7e9)  # wall-clock magnitude
    limit = RateLimit("5/minute", store=stores.rate_limits(), clock=clock)
    req = webob.Request.blank("/things", environ={"REMOTE_ADDR": "192.0.2.1"})
    assert limit.hit(req) == Decision(True, 5, 4, 12.0, 0.0)
    assert hits(limit, 10) == 4
    assert limit.hit(req) == Decision(False, 5, 0, 60.0, 12.0)
    clock.advance(30)  # two and a half requests' worth
    assert hits(limit, 10) == 2
    assert hits(limit, 10, "192.0.2.2") == 5  # another client, another bucket


def test_concurrent_hits_on_one_key_admit_exactly_the_limit(stores: Stores) -> None:
    limit = RateLimit("50/hour", store=stores.rate_limits(), clock=FakeClock())
    start = threading.Barrier(8)
    counts: list[int] = []

    def hammer() -> None:
        start.wait()
        counts.append(hits(limit, 20))

    threads = [threading.Thread(target=hammer) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sum(counts) == 50


def test_two_rate_limits_in_two_threads_share_one_store(stores: Stores) -> None:
    """Two `RateLimit`s, as two processes would have, over one store: one bucket per client."""
    store, clock = stores.rate_limits(), FakeClock()
    limits = [RateLimit("30/hour", store=store, clock=clock) for _ in range(2)]
    start = threading.Barrier(2)
    counts: list[int] = []

    def hammer(limit: RateLimit) -> None:
        start.wait()
        counts.append(hits(limit, 40))

    threads = [threading.Thread(target=hammer, args=(limit,)) for limit in limits]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sum(counts) == 30
    assert hits(limits[0], 1) + hits(limits[1], 1) == 0


# -- Redis only: what several processes see ----------------------------------------------------


def test_redis_claims_are_seen_through_another_client(redis_url: str, redis_client: Any) -> None:
    from resourcekit.redis import RedisIdempotencyStore

    redis = redis_module()
    other = redis.Redis.from_url(redis_url, decode_responses=True)  # and replies as text
    try:
        here, there = RedisIdempotencyStore(redis_client), RedisIdempotencyStore(other)
        begin = here.begin("k", "fp", DAY)
        assert there.begin("k", "fp", DAY).state is BeginState.IN_PROGRESS
        assert there.begin("k", "other", DAY).state is BeginState.MISMATCH
        assert not there.complete("k", CREATED, DAY, token="not the owner's")
        assert here.complete("k", CREATED, DAY, token=begin.token)
        assert there.begin("k", "fp", DAY) == Begin(BeginState.REPLAY, CREATED)
        assert RedisIdempotencyStore(other, prefix="elsewhere:").begin("k", "fp", DAY).token
    finally:
        other.close()


def test_redis_keys_always_expire(redis_client: Any) -> None:
    from resourcekit.redis import RedisIdempotencyStore, RedisRateLimitStore

    idempotency = RedisIdempotencyStore(redis_client, lock_ttl=30)
    idempotency.begin("claimed", "fp", DAY)
    idempotency.complete("done", CREATED, 3600, token=idempotency.begin("done", "fp", DAY).token)
    RateLimit("10/minute", store=RedisRateLimitStore(redis_client)).hit(
        webob.Request.blank("/", environ={"REMOTE_ADDR": "192.0.2.1"})
    )
    ttls = {key.decode(): redis_client.pttl(key) for key in redis_client.keys("*")}
    assert len(ttls) == 3
    assert 29_000 < ttls["resourcekit:idempotency:claimed"] <= 30_000
    assert 3_599_000 < ttls["resourcekit:idempotency:done"] <= 3_600_000
    assert 0 < ttls["resourcekit:ratelimit:default:192.0.2.1"] <= 6_000  # one emission interval


def test_redis_server_time_is_one_clock_for_every_caller(redis_client: Any) -> None:
    """By default the script reads Redis's clock: callers whose clocks disagree share a bucket."""
    from resourcekit.redis import RedisRateLimitStore

    store = RedisRateLimitStore(redis_client)
    here = RateLimit("5/minute", store=store)  # time.monotonic: seconds since boot
    there = RateLimit("5/minute", store=store, clock=lambda: time.monotonic() + 3e7)  # a year on
    assert hits(here, 3) + hits(there, 3) == 5
    refused = here.hit(webob.Request.blank("/", environ={"REMOTE_ADDR": "192.0.2.1"}))
    assert not refused.allowed
    assert refused.reset == pytest.approx(60, abs=1)  # in the caller's terms, not Redis's
    assert refused.retry_after == pytest.approx(12, abs=1)


def test_redis_server_time_refills(redis_client: Any) -> None:
    from resourcekit.redis import RedisRateLimitStore

    limit = RateLimit("20/second", store=RedisRateLimitStore(redis_client))  # one per 50 ms
    started = time.monotonic()
    burst = hits(limit, 25)
    refills = int((time.monotonic() - started) / 0.05)  # a few ms normally; more on a slow day
    assert 20 <= burst <= 20 + refills
    emptied = time.monotonic()
    time.sleep(0.12)
    later = hits(limit, 10)
    assert 2 <= later <= 1 + int((time.monotonic() - emptied) / 0.05)  # refilled at the rate


def test_two_sites_share_rate_limits_and_idempotency_keys(redis_client: Any) -> None:
    """Two sites, as two processes behind a load balancer, sharing the Redis stores."""
    from resourcekit.redis import RedisIdempotencyStore, RedisRateLimitStore

    def site() -> Any:
        return notes_site(
            idempotent=True,
            idempotency=Idempotency(RedisIdempotencyStore(redis_client)),
            rate_limit=RateLimit("4/minute", store=RedisRateLimitStore(redis_client)),
        )

    one, two = site(), site()
    key = {"Idempotency-Key": "abc-123"}
    first = Client(one).post("/notes", json={"title": "milk"}, headers=key)
    again = Client(two).post("/notes", json={"title": "milk"}, headers=key)
    assert first.status_code == again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.body == first.body and again.headers["Location"] == first.headers["Location"]
    assert (len(one.notes), len(two.notes)) == (1, 0)  # ran once, on the first site only
    other = Client(two).post("/notes", json={"title": "eggs"}, headers=key)
    assert other.status_code == 422
    statuses = [Client(s).get("/notes").status_code for s in (one, two)]
    assert statuses == [200, 429]  # the fifth request of this client, whichever site answers

