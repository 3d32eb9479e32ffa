"""The scenarios: one request each, the answer every framework must give, and untimed guards.

A framework is timed only after its answer to every scenario has been checked (status, the
headers that matter, the body parsed and compared), so a fast wrong answer can never win.
Guards are extra requests proving the work is really done, e.g. that validation rejects.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol
from xml.etree import ElementTree as ET

from .apps import common

__all__ = ["SCENARIOS", "CheckFailed", "Guard", "Probe", "Reply", "Scenario", "Steps",
           "StepsKind", "verify"]


class CheckFailed(Exception):
    """A framework answered a scenario wrongly; its column is dropped with this message."""


@dataclass(frozen=True)
class Probe:
    """One HTTP request, independent of how it is sent (WSGI environ or socket)."""

    method: str
    path: str
    query: str = ""
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""

    @property
    def target(self) -> str:
        return f"{self.path}?{self.query}" if self.query else self.path

    def with_headers(self, *headers: tuple[str, str], drop: str = "") -> Probe:
        kept = tuple(h for h in self.headers if h[0].lower() != drop.lower())
        return Probe(self.method, self.path, self.query, kept + headers, self.body)


@dataclass(frozen=True)
class Reply:
    """A response as the checks see it: header names in lower case."""

    status: int
    headers: dict[str, str]
    body: bytes


@dataclass(frozen=True)
class Guard:
    probe: Probe
    status: int | tuple[int, ...]
    """The status expected, or any of several where frameworks rightly differ."""
    why: str

    def accepts(self, status: int) -> bool:
        return status == self.status if isinstance(self.status, int) else status in self.status


Send = Callable[[Probe], Reply]


class Steps(Protocol):
    """Successive requests of a scenario that must not repeat one request: each POST needs a
    new unique title, each conditional PUT the tag the previous answer gave. One sequence per
    connection; ``probe``/``answered`` serve the checks and the load generator,
    ``prepare``/``start_response`` the in-process loop, where building a `Probe` would cost
    more than the request."""

    failures: int
    """Answers (in-process) that were not the expected status: the timing is then void."""

    def probe(self) -> Probe: ...

    def answered(self, status: int, headers: Mapping[str, str]) -> None: ...

    def check(self, reply: Reply, send: Send) -> None:
        """Check the answer to `probe`, and read back what it changed."""

    def prepare(self, environ: dict[str, Any]) -> bytes:
        """Turn a copy of the scenario's environ into the next request; return its body."""

    def start_response(self, status: str, headers: list[tuple[str, str]],
                       exc_info: Any = None) -> Callable[[bytes], None]: ...


class StepsKind(Protocol):
    """A `Steps` class: one sequence per connection, and the same sequence for wrk in Lua."""

    per_connection: bool
    """wrk needs one thread (one Lua state) per connection, each with its own sequence."""

    def __call__(self, send: Send, connection: int) -> Steps: ...

    def lua(self, prefix: str) -> str:
        """A wrk script's ``request`` (and ``setup``/``response``) producing the sequence."""


@dataclass(frozen=True)
class Scenario:
    key: str
    title: str
    probe: Probe
    check: Callable[[Reply], None]
    frameworks: frozenset[str] | None = None
    """None: every framework; else only these (the F scenarios are resourcekit's own)."""
    guards: tuple[Guard, ...] = ()
    compare_to: str | None = None
    """For framework-only scenarios: the scenario of the same framework to take a ratio to."""
    extra: dict[str, Any] = field(default_factory=dict)
    steps: StepsKind | None = None
    """For a scenario whose request cannot repeat: makes the sequence for connection N from
    the app's current state (read through the given ``send``); ``probe`` is then a template."""

    def applies_to(self, framework: str) -> bool:
        return self.frameworks is None or framework in self.frameworks


# -- checks -----------------------------------------------------------------------------------


def _expect(condition: bool, message: str) -> None:
    if not condition:
        raise CheckFailed(message)


def _status(reply: Reply, status: int) -> None:
    _expect(
        reply.status == status, f"status {reply.status}, expected {status}: {reply.body[:200]!r}"
    )


def _media_type(reply: Reply, media_type: str) -> None:
    actual = reply.headers.get("content-type", "").partition(";")[0].strip()
    _expect(actual == media_type, f"Content-Type {actual!r}, expected {media_type}")


def _json_body(reply: Reply, expected: Any) -> None:
    _media_type(reply, "application/json")
    try:
        actual = json.loads(reply.body)
    except ValueError as exc:
        raise CheckFailed(f"body is not JSON ({exc}): {reply.body[:200]!r}") from None
    _expect(actual == expected, f"body {actual!r}, expected {expected!r}")


def _xml_tree(body: bytes) -> tuple[Any, ...]:
    """An element as (tag, text, children), whitespace-insensitive: the shape, not the bytes."""

    def shape(elem: ET.Element) -> tuple[Any, ...]:
        return (elem.tag, (elem.text or "").strip(), [shape(child) for child in elem])

    return shape(ET.fromstring(body))


def _dumped_item(item_id: int) -> dict[str, Any]:
    item = common.get_item(item_id)
    assert item is not None
    return common.ITEM_SCHEMA.dump(item)


def check_hello(reply: Reply) -> None:
    _status(reply, 200)
    _json_body(reply, {"message": "hello"})


def check_item(reply: Reply) -> None:
    _status(reply, 200)
    _json_body(reply, _dumped_item(42))


def check_created(reply: Reply) -> None:
    _status(reply, 201)
    location = reply.headers.get("location", "")
    _expect(
        location.startswith("http") and location.endswith(f"/items/{common.NEW_ITEM_ID}"),
        f"Location {location!r}, expected an absolute URL of /items/{common.NEW_ITEM_ID}",
    )
    created = common.new_item(common.ITEM_SCHEMA.load(json.loads(NEW_ITEM)))
    _json_body(reply, common.ITEM_SCHEMA.dump(created))


def check_item_xml(reply: Reply) -> None:
    _status(reply, 200)
    _media_type(reply, "application/xml")
    try:
        actual = _xml_tree(reply.body)
    except ET.ParseError as exc:
        raise CheckFailed(f"body is not XML ({exc}): {reply.body[:200]!r}") from None
    expected = _xml_tree(common.item_xml(_dumped_item(42)))
    _expect(actual == expected, f"XML {reply.body[:300]!r} is not shaped like {expected!r}")


def check_list(reply: Reply) -> None:
    _status(reply, 200)
    _json_body(reply, common.ITEM_SCHEMA.dump(common.list_items(10), many=True))


def check_not_modified(reply: Reply) -> None:
    _status(reply, 304)
    _expect(not reply.body, f"a 304 with a body: {reply.body[:100]!r}")
    _expect(reply.headers.get("etag") == ITEM_TAG, f"ETag {reply.headers.get('etag')!r}")


def _api_version(reply: Reply, version: str) -> None:
    found = reply.headers.get("api-version")
    _expect(found == version, f"API-Version {found!r}, expected {version!r}")


def check_newest_version(reply: Reply) -> None:
    _status(reply, 200)
    _api_version(reply, common.API_VERSIONS[-1])
    _json_body(reply, {common.RENAMED.get(k, k): v for k, v in _dumped_item(42).items()})


def check_first_version(reply: Reply) -> None:
    _status(reply, 200)
    _api_version(reply, common.API_VERSIONS[0])
    _json_body(reply, _dumped_item(42))


def check_put(reply: Reply) -> None:
    _status(reply, 200)
    _json_body(reply, _dumped_item(42))
    _expect(reply.headers.get("etag") == ITEM_TAG, f"ETag {reply.headers.get('etag')!r}")


# -- the scenarios ----------------------------------------------------------------------------

_JSON = ("Accept", "application/json")
_SEND_JSON = ("Content-Type", "application/json")
NEW_ITEM = '{"name": "widget", "price": 9.5, "tags": ["new", "bench"]}'
_BAD_ITEM = b'{"name": "widget", "price": -1}'
_ITEM_42 = common.get_item(42) or {}
ITEM_TAG = f'"{common.item_etag(_ITEM_42)}"'
_PUT_BODY = json.dumps({k: _ITEM_42[k] for k in ("name", "price", "tags")}).encode()

_POST = Probe("POST", "/items", headers=(_JSON, _SEND_JSON), body=NEW_ITEM.encode())
_LIST = Probe("GET", "/items", "limit=10", headers=(_JSON,))
_CONDITIONAL = Probe("GET", "/tagged-items/42", headers=(_JSON, ("If-None-Match", ITEM_TAG)))
_PUT = Probe(
    "PUT",
    "/tagged-items/42",
    headers=(
        _JSON,
        _SEND_JSON,
        ("If-Match", ITEM_TAG),
        ("Authorization", f"Bearer {common.BENCH_TOKEN}"),
    ),
    body=_PUT_BODY,
)
_VERSIONED = Probe("GET", "/versioned-items/42", headers=(_JSON,))
_RESOURCEKIT = frozenset({"resourcekit"})

SCENARIOS: dict[str, Scenario] = {
    s.key: s
    for s in (
        Scenario("S1", "GET /hello", Probe("GET", "/hello", headers=(_JSON,)), check_hello),
        Scenario("S2", "GET /items/42", Probe("GET", "/items/42", headers=(_JSON,)), check_item),
        Scenario(
            "S3",
            "POST /items",
            _POST,
            check_created,
            guards=(Guard(Probe("POST", "/items", headers=_POST.headers, body=_BAD_ITEM), 422,
                          "a negative price is rejected"),),
        ),
        Scenario(
            "S4",
            "GET /items/42 as XML",
            Probe("GET", "/items/42", headers=(("Accept", "application/xml"),)),
            check_item_xml,
        ),
        Scenario(
            "S5",
            "GET /items?limit=10",
            _LIST,
            check_list,
            guards=(Guard(Probe("GET", "/items", "limit=1000", headers=(_JSON,)), 400,
                          "limit above 100 is rejected"),),
        ),
        Scenario(
            "F1",
            "GET /tagged-items/42, If-None-Match: 304",
            _CONDITIONAL,
            check_not_modified,
            frameworks=_RESOURCEKIT,
            compare_to="S2",
            guards=(Guard(_CONDITIONAL.with_headers(("If-None-Match", '"other"'),
                                                    drop="If-None-Match"), 200,
                          "a tag that does not match gets the full item"),),
        ),
        Scenario(
            "F2",
            "PUT /tagged-items/42, If-Match",
            _PUT,
            check_put,
            frameworks=_RESOURCEKIT,
            compare_to="S3",
            guards=(
                Guard(_PUT.with_headers(drop="If-Match"), 428, "no If-Match is refused"),
                Guard(_PUT.with_headers(("If-Match", '"stale"'), drop="If-Match"), 412,
                      "a stale If-Match is refused"),
            ),
        ),
        Scenario(
            "F3",
            "GET /versioned-items/42, the newest API-Version",
            _VERSIONED.with_headers(("API-Version", common.API_VERSIONS[-1])),
            check_newest_version,
            frameworks=_RESOURCEKIT,
            compare_to="S2",
            guards=(Guard(_VERSIONED.with_headers(("API-Version", "2025-01-01")), 400,
                          "an unknown version is refused"),),
        ),
        Scenario(
            "F4",
            "GET /versioned-items/42, API-Version three changes back",
            _VERSIONED.with_headers(("API-Version", common.API_VERSIONS[0])),
            check_first_version,
            frameworks=_RESOURCEKIT,
            compare_to="S2",
        ),
    )
}


def auth_guard() -> Guard:
    """F2 without a token: only checked once resourcekit has authentication."""
    return Guard(_PUT.with_headers(drop="Authorization"), 401, "no bearer token is refused")


def verify(scenario: Scenario, framework: str, send: Send) -> None:
    """Check one framework's answers to a scenario and its guards; raise `CheckFailed`."""
    try:
        if scenario.steps is None:
            scenario.check(send(scenario.probe))
        else:
            steps = scenario.steps(send, 0)
            reply = send(steps.probe())
            scenario.check(reply)
            steps.check(reply, send)
        guards = scenario.guards
        if scenario.key == "F2" and _auth_enabled():
            guards = (*guards, auth_guard())
        for guard in guards:
            reply = send(guard.probe)
            _expect(guard.accepts(reply.status),
                    f"guard '{guard.why}': status {reply.status}, expected {guard.status}")
    except CheckFailed as exc:
        raise CheckFailed(f"{scenario.key} ({scenario.title}): {exc}") from None


def _auth_enabled() -> bool:
    from .apps.resourcekit_app import AUTH_ENABLED

    return AUTH_ENABLED
