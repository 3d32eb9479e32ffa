"""Every request header the framework reads is parsed in time linear in its length.

A parser that is quadratic on some input lets one request hold the GIL for seconds and stop every
other request of the process (a 40,000-space ``If-None-Match`` took 23 s once). These tests send
each header, filled with short units repeated to growing sizes up to a server's header limit,
through a whole site, and check that the time grows like the size and stays small in absolute
terms.
"""

from __future__ import annotations

import datetime as dt
import io
import itertools
import time
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from resourcekit import Created, Resource, Site, auth
from resourcekit.conditional import MAX_TAGS, ETag, parse_tag_list
from resourcekit.negotiation import MAX_ACCEPT_LENGTH
from resourcekit.ratelimit import RateLimit

SIZES = (2_000, 8_000, 32_000)
"""Up to past the header limit `resourcekit serve` gives waitress: what a request can carry."""

GROWTH = 9.0
"""The most time may grow when the size grows 4 times: 4 when linear, 16 when quadratic."""

READ_HEADERS = [
    "If-None-Match", "If-Match", "If-Modified-Since", "If-Unmodified-Since", "Accept",
    "Forwarded", "X-Forwarded-For", "X-Forwarded-Proto", "X-Forwarded-Host", "Prefer",
    "Authorization", "X-API-Key", "Content-Type", "Origin", "Access-Control-Request-Method",
    "Access-Control-Request-Headers", "Idempotency-Key", "Host",
]

UNITS = [
    " ", "\t", ",", ";", "=", '"', "\\", "a,", " ,", "W/", 'W/"a" ', '"a",', "a=", "a;q=1,",
    "for=1.2.3.4,", "Bearer ", "Mon, ", "1", ":", "*/*;", '"\\',
]


def hostile_site() -> Site:
    """A site reading every header it can: validators, proxies, CORS, auth, keys, limits."""
    verify = auth.tokens({"secret-token": "writer"})
    site = Site(
        cors=["https://app.example"],
        trusted_proxies=["127.0.0.1"],
        idempotent=True,
        rate_limit=RateLimit("1000000/second"),
        authentication={"get": [], "*": [auth.Bearer(verify), auth.APIKey(verify)]},
    )

    @site.route("/things/{thing_id}")
    class Thing(Resource):
        def etag(self, request, thing_id):
            return "v1"

        def last_modified(self, request, thing_id):
            return dt.datetime(2026, 1, 1, tzinfo=dt.UTC)

        def get(self, request, thing_id):
            return {"id": thing_id, "self": request.url_for(Thing, thing_id=thing_id)}

        def patch(self, request, thing_id):
            return {"id": thing_id}

        def post(self, request, thing_id):
            return Created({"id": 2}, location=request.url_for(Thing, thing_id="2"))

    return site


SITE = hostile_site()


def environ(method: str, header: str, value: str) -> dict[str, object]:
    env: dict[str, object] = {
        "REQUEST_METHOD": method, "SCRIPT_NAME": "", "PATH_INFO": "/things/1",
        "QUERY_STRING": "", "SERVER_NAME": "localhost", "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "127.0.0.1", "HTTP_HOST": "localhost",
        "HTTP_AUTHORIZATION": "Bearer secret-token", "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": "2", "wsgi.input": io.BytesIO(b"{}"), "wsgi.url_scheme": "http",
        "wsgi.errors": io.StringIO(),
    }
    key = header.upper().replace("-", "_")
    env[key if key == "CONTENT_TYPE" else f"HTTP_{key}"] = value
    return env


def answer(env: dict[str, object]) -> tuple[str, dict[str, str]]:
    """The status and headers the site answers ``env`` with."""
    started: list[tuple[str, dict[str, str]]] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: object = None):
        started.append((status, dict(headers)))

    b"".join(SITE(env, start_response))
    return started[0]


def answer_time(method: str, header: str, value: str) -> float:
    """The best of five times to answer one request carrying ``header: value``: the best is
    the parser's cost, the rest is what other processes on the machine took."""
    best = float("inf")
    for _ in range(5):
        env = environ(method, header, value)
        began = time.perf_counter()
        status, _ = answer(env)
        best = min(best, time.perf_counter() - began)
        assert not status.startswith("5"), (header, status)
    return best


def assert_linear(measure: Callable[[int], float], what: str) -> None:
    """Times at growing sizes: never more than `GROWTH` times per step, under 0.5 s at the end."""
    times = []
    for size in SIZES:
        took = measure(size)
        times.append(took)
        assert took < 0.5, f"{what}: {took:.3f} s at {size} characters ({times})"
    for smaller, larger in itertools.pairwise(times):
        if larger > 0.02:  # below that, allocation, collection and a busy machine are the noise
            assert larger < GROWTH * smaller, f"{what} grows faster than its size: {times}"


def repeated(unit: str, size: int, lead: str = "") -> str:
    return (lead + unit * (size // len(unit) + 1))[:size] + "x"


@pytest.mark.parametrize("header", READ_HEADERS)
@pytest.mark.parametrize("unit", UNITS)
def test_every_read_header_is_parsed_in_linear_time(header: str, unit: str) -> None:
    method = "OPTIONS" if header.startswith("Access-Control") else "PATCH"
    assert_linear(lambda size: answer_time(method, header, repeated(unit, size)), header)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    header=st.sampled_from(READ_HEADERS),
    unit=st.text(alphabet=' \t,;="\\/W*a1:()<>@', min_size=1, max_size=4),
    lead=st.sampled_from(["", '"a"', "W/", "a/b;", "for=", "Bearer "]),
)
def test_any_repeated_unit_is_parsed_in_linear_time(header: str, unit: str, lead: str) -> None:
    assert_linear(lambda size: answer_time("GET", header, repeated(unit, size, lead)), header)


def test_a_tag_followed_by_whitespace_and_junk_is_read_at_once() -> None:
    header = '"a"' + " " * 40_000 + "x"
    started = time.perf_counter()
    assert parse_tag_list(header) == []
    assert time.perf_counter() - started < 0.05


def test_tag_lists_still_read_every_valid_member() -> None:
    header = ' "a" ,W/"b",junk, "c,d"\t, "" ,"e'
    assert parse_tag_list(header) == [ETag("a"), ETag("b", weak=True), ETag("c,d"), ETag("")]
    assert parse_tag_list(" * ") is None


def test_tag_lists_read_a_bounded_number_of_tags() -> None:
    tags = parse_tag_list(",".join(f'"t{i}"' for i in range(MAX_TAGS + 10)))
    assert tags is not None
    assert len(tags) == MAX_TAGS
    assert tags[-1] == ETag(f"t{MAX_TAGS - 1}")


def test_if_none_match_beyond_the_bound_answers_the_full_representation() -> None:
    many = ",".join(f'"t{i}"' for i in range(MAX_TAGS)) + ',"v1"'
    assert answer(environ("GET", "If-None-Match", many))[0] == "200 OK"


@pytest.mark.parametrize("header", READ_HEADERS)
def test_a_256_kb_header_is_answered_within_a_second(header: str) -> None:
    """What a server without a small header limit would pass on (waitress's own is 256 KiB)."""
    method = "OPTIONS" if header.startswith("Access-Control") else "PATCH"
    for unit in (" ", ",", "a;q=1,", "for=1.2.3.4,", '"a",', "a=", "; "):
        took = answer_time(method, header, repeated(unit, 256_000))
        assert took < 1.0, f"{header} filled with {unit!r}: {took:.2f} s"


def test_a_very_long_accept_is_ignored_as_an_unparseable_one_is() -> None:
    accept = "application/xml, " + ", ".join(f"x/y{i}" for i in range(MAX_ACCEPT_LENGTH // 6))
    assert len(accept) > MAX_ACCEPT_LENGTH
    status, headers = answer(environ("GET", "Accept", accept))
    assert status == "200 OK"
    assert headers["Content-Type"].startswith("application/json")
    _, headers = answer(environ("GET", "Accept", "application/xml"))
    assert headers["Content-Type"].startswith("application/xml")
