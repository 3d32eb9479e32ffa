"""The production features of contract section 7, end to end through a `Site` (in process).

Each feature is exercised through small example sites and `resourcekit.testing.Client`:
authentication and permissions, rate limits, ``Idempotency-Key``, pagination links, CORS,
trusted proxies, body limits, ``Prefer: return=minimal`` and hooks. The modules' own unit tests
(test_auth.py, test_cors.py...) call them directly; these check that the site wires them in.
"""

from __future__ import annotations

import base64
import io
import itertools
import json
import re
import threading
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
import webob
from helpers import assert_problem, media_type_of
from marshmallow import Schema, fields

from resourcekit import CORS, Created, Hook, Page, Resource, Site, auth, errors
from resourcekit.ratelimit import RateLimit
from resourcekit.testing import Client, TestResponse

# -- shared pieces ------------------------------------------------------------------------------

TOKENS = {"alice-token": "alice", "bob-token": "bob"}
BEARER = auth.Bearer(auth.tokens(TOKENS))
BASIC = auth.Basic(auth.passwords({"ada": "lovelace"}))
API_KEY = auth.APIKey(auth.tokens({"key-123": "service"}))

ALICE = {"Authorization": "Bearer alice-token"}
BOB = {"Authorization": "Bearer bob-token"}
ADA = {"Authorization": "Basic " + base64.b64encode(b"ada:lovelace").decode()}
SERVICE = {"X-API-Key": "key-123"}

BEARER_CHALLENGE = 'Bearer realm="api"'
BASIC_CHALLENGE = 'Basic realm="api", charset="UTF-8"'
API_KEY_CHALLENGE = 'APIKey header="X-API-Key"'

APP = "https://app.example"
XML_ACCEPT = {"Accept": "application/xml"}


class TextSchema(Schema):
    id = fields.Int(dump_only=True)
    text = fields.Str(required=True)
    version = fields.Int(dump_only=True)


def values(response: TestResponse, name: str) -> list[str]:
    """Every value of header ``name``, in order, whatever the number of header lines."""
    return [v for k, v in response.headerlist if k.lower() == name.lower()]


def items(response: TestResponse, name: str) -> list[str]:
    """The comma-separated items of every ``name`` header line, lower case."""
    return [i.strip().lower() for v in values(response, name) for i in v.split(",") if i.strip()]


def without_date(response: TestResponse) -> list[tuple[str, str]]:
    """The headers but ``Date`` and ``X-Request-ID`` (each request has its own)."""
    return [(k, v) for k, v in response.headerlist if k.lower() not in ("date", "x-request-id")]


def echo_site(resource_attrs: dict[str, Any] | None = None, **site_options: Any):
    """A site with ``/things`` (GET, HEAD, POST, DELETE) answering who called, and ``/open``.

    ``site.calls`` records each handler call as ``(method, identity)``.
    """
    site = Site(**site_options)
    calls: list[tuple[str, Any]] = []
    site.calls = calls  # type: ignore[attr-defined]

    class Things(Resource):
        def get(self, request):
            calls.append(("GET", request.identity))
            return {"identity": request.identity}

        def post(self, request):
            calls.append(("POST", request.identity))
            return {"identity": request.identity}

        def delete(self, request):
            calls.append(("DELETE", request.identity))

    for name, value in (resource_attrs or {}).items():
        setattr(Things, name, value)

    class Open(Resource):
        authentication: Any = []

        def get(self, request):
            calls.append(("GET open", request.identity))
            return {"identity": request.identity}

    site.add("/things", Things)
    site.add("/open", Open)
    return site


# -- authentication and permissions -------------------------------------------------------------


@pytest.mark.parametrize(
    ("authenticator", "good", "bad", "challenge", "rejected_challenge"),
    [
        (BEARER, ALICE, {"Authorization": "Bearer wrong-token"}, BEARER_CHALLENGE,
         BEARER_CHALLENGE + ', error="invalid_token"'),
        (BASIC, ADA, {"Authorization": "Basic " + base64.b64encode(b"ada:wrong-pw").decode()},
         BASIC_CHALLENGE, BASIC_CHALLENGE),
        (API_KEY, SERVICE, {"X-API-Key": "wrong-key"}, API_KEY_CHALLENGE,
         API_KEY_CHALLENGE + ', error="invalid_token"'),
    ],
    ids=["bearer", "basic", "apikey"],
)
def test_resource_authentication_per_scheme(
    authenticator, good, bad, challenge, rejected_challenge
) -> None:
    site = echo_site({"authentication": [authenticator]})
    client = Client(site)

    anonymous = client.get("/things")
    problem = assert_problem(anonymous, 401)
    assert values(anonymous, "WWW-Authenticate") == [challenge]
    assert "error" not in problem

    refused = client.get("/things", headers=bad)
    problem = assert_problem(refused, 401)
    assert values(refused, "WWW-Authenticate") == [rejected_challenge]
    assert problem["error"] == "invalid_token"
    secret = next(iter(bad.values())).split()[-1]
    assert secret.encode() not in refused.body  # the credential is never repeated

    ok = client.get("/things", headers=good)
    assert ok.status_code == 200
    assert ok.json == {"identity": authenticator.verify(*_credential(good))}
    assert client.head("/things", headers=good).status_code == 200
    assert site.calls == [("GET", ok.json["identity"]), ("GET", ok.json["identity"])]


def _credential(headers: dict[str, str]) -> tuple[str, ...]:
    if "X-API-Key" in headers:
        return (headers["X-API-Key"],)
    scheme, _, token = headers["Authorization"].partition(" ")
    if scheme == "Basic":
        return tuple(base64.b64decode(token).decode().split(":", 1))
    return (token,)


def test_several_schemes_challenge_at_once_in_json_and_xml() -> None:
    site = echo_site({"authentication": [BEARER, BASIC, API_KEY]})
    client = Client(site)
    for accept, media_type in [(None, "application/problem+json"),
                               ("application/xml", "application/problem+xml")]:
        response = client.post("/things", headers={"Accept": accept} if accept else None)
        assert_problem(response, 401, media_type=media_type)
        assert values(response, "WWW-Authenticate") == [
            BEARER_CHALLENGE, BASIC_CHALLENGE, API_KEY_CHALLENGE
        ]
    # a rejected bearer token: every scheme is still offered, bearer's with its error
    refused = client.post("/things", headers={**XML_ACCEPT, "Authorization": "Bearer nope"})
    problem = assert_problem(refused, 401, media_type="application/problem+xml")
    assert problem["error"] == "invalid_token"
    assert values(refused, "WWW-Authenticate") == [
        BEARER_CHALLENGE + ', error="invalid_token"', BASIC_CHALLENGE, API_KEY_CHALLENGE
    ]
    # a malformed one is invalid_request, never anonymous
    malformed = client.post("/things", headers={"Authorization": "Bearer a b"})
    assert assert_problem(malformed, 401)["error"] == "invalid_request"
    for headers, identity in [(ALICE, "alice"), (ADA, "ada"), (SERVICE, "service")]:
        assert client.post("/things", headers=headers).json == {"identity": identity}
    assert site.calls == [("POST", "alice"), ("POST", "ada"), ("POST", "service")]


def test_authentication_by_method_open_reads_authenticated_writes() -> None:
    site = echo_site({"authentication": {"get": [], "*": [BEARER]}})
    client = Client(site)
    assert client.get("/things").json == {"identity": None}
    assert client.head("/things").status_code == 200  # HEAD follows GET
    for method in ("post", "delete"):
        response = getattr(client, method)("/things")
        assert_problem(response, 401)
        assert values(response, "WWW-Authenticate") == [BEARER_CHALLENGE]
    assert client.post("/things", headers=ALICE).json == {"identity": "alice"}
    assert client.delete("/things", headers=BOB).status_code == 204
    assert site.calls == [("GET", None), ("GET", None), ("POST", "alice"), ("DELETE", "bob")]


@pytest.mark.parametrize(
    ("authentication", "head_needs_credentials"),
    [
        ({"get": [BEARER], "*": []}, True),  # HEAD follows GET
        ({"get": [BEARER], "head": [], "*": []}, False),  # unless named itself
    ],
)
def test_head_follows_get(authentication, head_needs_credentials) -> None:
    client = Client(echo_site({"authentication": authentication}))
    assert client.get("/things").status_code == 401
    assert client.head("/things").status_code == (401 if head_needs_credentials else 200)
    assert client.head("/things", headers=ALICE).status_code == 200
    assert client.post("/things").json == {"identity": None}


def test_authentication_names_unknown_methods() -> None:
    with pytest.raises(TypeError, match="unknown methods"):
        echo_site({"authentication": {"fetch": [BEARER]}})


@pytest.mark.parametrize(
    "authentication", [[BEARER], {"*": [BEARER]}], ids=["list", "mapping"]
)
def test_site_wide_authentication_and_a_resource_opting_out(authentication) -> None:
    site = echo_site(authentication=authentication)
    client = Client(site)
    for method in ("get", "head", "post", "delete"):
        assert getattr(client, method)("/things").status_code == 401
    assert client.get("/things", headers=ALICE).json == {"identity": "alice"}
    assert client.get("/open").json == {"identity": None}  # authentication = []
    assert client.get("/open", headers={"Authorization": "Bearer nope"}).status_code == 200
    assert site.calls == [("GET", "alice"), ("GET open", None), ("GET open", None)]


def test_client_headers_authenticate_every_request() -> None:
    client = Client(echo_site(authentication=[BEARER]), headers=ALICE)
    assert client.get("/things").json == {"identity": "alice"}
    assert client.post("/things", headers=BOB).json == {"identity": "bob"}  # the request's wins


def is_alice(request, resource) -> bool:
    return request.identity == "alice"


def test_permissions_403_for_the_wrong_identity_401_for_anonymous() -> None:
    site = echo_site(
        {"authentication": {"get": [], "*": [BEARER, BASIC]}, "permissions": [is_alice]}
    )
    client = Client(site)
    forbidden = client.post("/things", headers=BOB)
    assert "is_alice" in assert_problem(forbidden, 403)["detail"]
    assert values(forbidden, "WWW-Authenticate") == []
    xml = client.post("/things", headers={**BOB, **XML_ACCEPT})
    assert_problem(xml, 403, media_type="application/problem+xml")
    # anonymous: credentials might change the answer, so 401 with every challenge
    anonymous = client.get("/things")
    assert_problem(anonymous, 401)
    assert sorted(values(anonymous, "WWW-Authenticate")) == [BASIC_CHALLENGE, BEARER_CHALLENGE]
    assert client.post("/things", headers=ALICE).json == {"identity": "alice"}
    assert site.calls == [("POST", "alice")]


def test_credentials_a_401_asked_for_are_honoured() -> None:
    """Open reads with a permission needing an identity: the anonymous GET is 401 with the
    bearer challenge (credentials might change the answer), so the retry with the token it
    asked for must be let in, not refused with 403 because GET never reads credentials."""
    site = echo_site(
        {"authentication": {"get": [], "*": [BEARER]}, "permissions": [auth.authenticated]}
    )
    client = Client(site)
    anonymous = client.get("/things")
    assert_problem(anonymous, 401)
    assert values(anonymous, "WWW-Authenticate") == [BEARER_CHALLENGE]
    retry = client.get("/things", headers=ALICE)
    assert retry.status_code == 200, retry.body
    assert retry.json == {"identity": "alice"}


def test_permissions_without_authentication_are_403() -> None:
    site = echo_site({"permissions": [lambda request, resource: False]})
    response = Client(site).get("/things")
    assert_problem(response, 403)
    assert values(response, "WWW-Authenticate") == []
    assert site.calls == []


def test_ready_made_permissions() -> None:
    site = echo_site({
        "authentication": {"get": [], "*": [BEARER]},
        "permissions": [auth.authenticated_or_read_only],
    })
    client = Client(site)
    assert client.get("/things").status_code == 200
    assert client.post("/things", headers=ALICE).status_code == 200
    strict = Client(echo_site({"authentication": [BEARER], "permissions": [auth.authenticated]}))
    assert strict.get("/things").status_code == 401
    assert strict.get("/things", headers=BOB).json == {"identity": "bob"}


@pytest.mark.parametrize("where", ["resource", "site"])
def test_options_never_needs_credentials(where) -> None:
    site = echo_site(
        {"authentication": [BEARER], "permissions": [auth.authenticated]}
        if where == "resource" else None,
        authentication=[BEARER] if where == "site" else None,
    )
    response = Client(site).options("/things")
    assert response.status_code == 204
    assert response.headers["Allow"] == "GET, POST, DELETE, HEAD, OPTIONS"
    assert values(response, "WWW-Authenticate") == []
    assert site.calls == []


# -- rate limits --------------------------------------------------------------------------------

RATELIMIT = re.compile(r'"default";r=(\d+);t=(\d+)')


def limited_site(**options: Any) -> Site:
    """``/items`` (GET; POST loads TextSchema) and ``/items/{n}`` (404 but for 1), ``/free``."""
    resource_limit = options.pop("resource_limit", None)
    site = Site(**options)

    class Items(Resource):
        schema = TextSchema
        rate_limit = resource_limit

        def get(self, request):
            return []

        def post(self, request):
            return request.validated

    class Item(Resource):
        rate_limit = resource_limit

        def get(self, request, n):
            if n != 1:
                raise errors.NotFound(f"no item {n}")
            return {"n": n}

    class Free(Resource):
        def get(self, request):
            return {}

    site.add("/items", Items)
    site.add("/items/{n:int}", Item)
    site.add("/free", Free)
    return site


def assert_limited(response: TestResponse, remaining: int, quota: int = 3) -> None:
    assert values(response, "RateLimit-Policy") == [f'"default";q={quota};w=60']
    (state,) = values(response, "RateLimit")
    match = RATELIMIT.fullmatch(state)
    assert match, state
    assert int(match[1]) == remaining
    assert 0 < int(match[2]) <= 60


def assert_429(response: TestResponse, quota: int = 3) -> None:
    problem = assert_problem(response, 429)
    assert f"{quota} per minute" in problem["detail"]
    (retry,) = values(response, "Retry-After")
    assert 1 <= int(retry) <= 60 // quota
    assert_limited(response, 0, quota)


@pytest.mark.parametrize("where", ["resource", "site"])
def test_the_fourth_request_is_429(where) -> None:
    limit = RateLimit("3/minute")
    site = limited_site(**({"resource_limit": limit} if where == "resource" else
                           {"rate_limit": limit}))
    client = Client(site)
    for remaining in (2, 1, 0):
        response = client.get("/items")
        assert response.status_code == 200
        assert_limited(response, remaining)
    assert_429(client.get("/items"))
    assert_429(client.get("/items/1"))  # one bucket per client, across the resources
    free = client.get("/free")
    if where == "resource":
        assert free.status_code == 200
        assert values(free, "RateLimit") == values(free, "RateLimit-Policy") == []
    else:
        assert_429(free)


def test_rate_limit_headers_on_error_responses_after_the_check() -> None:
    site = limited_site(rate_limit=RateLimit("3/minute"), authentication={"get": [],
                                                                           "*": [BEARER]})
    client = Client(site)
    missing = client.get("/items/2")
    assert_problem(missing, 404)
    assert_limited(missing, 2)
    unauthorized = client.post("/items", json={})
    assert_problem(unauthorized, 401)
    assert_limited(unauthorized, 1)
    invalid = client.post("/items", json={}, headers=ALICE)
    assert_problem(invalid, 422)
    assert_limited(invalid, 0)
    assert_429(client.post("/items", json={"text": "x"}, headers=ALICE))


def test_a_custom_key_and_separate_clients() -> None:
    by_key = RateLimit("3/minute", key=lambda request: request.headers.get("X-API-Key", ""))
    client = Client(limited_site(rate_limit=by_key))
    for _ in range(3):
        assert client.get("/items", headers={"X-API-Key": "a"}).status_code == 200
    assert_429(client.get("/items", headers={"X-API-Key": "a"}))
    assert client.get("/items", headers={"X-API-Key": "b"}).status_code == 200
    # by address (the default key): another client has its own bucket
    site = limited_site(rate_limit=RateLimit("3/minute"))
    first, second = Client(site, remote_addr="192.0.2.1"), Client(site, remote_addr="192.0.2.2")
    for _ in range(3):
        assert first.get("/items").status_code == 200
    assert_429(first.get("/items"))
    assert_limited(second.get("/items"), 2)
    assert_429(first.get("/items", headers={"X-API-Key": "b"}))


def test_behind_a_trusted_proxy_the_forwarded_client_is_the_key() -> None:
    site = limited_site(rate_limit=RateLimit("3/minute"), trusted_proxies=["10.0.0.1"])
    proxy = Client(site, remote_addr="10.0.0.1")
    for _ in range(3):
        assert proxy.get("/items", headers={"X-Forwarded-For": "203.0.113.1"}).status_code == 200
    assert_429(proxy.get("/items", headers={"X-Forwarded-For": "203.0.113.1"}))
    assert_limited(proxy.get("/items", headers={"Forwarded": "for=203.0.113.2"}), 2)
    # an untrusted peer cannot spread its requests over forged addresses
    forger = Client(site, remote_addr="198.51.100.9")
    for n in range(3):
        headers = {"X-Forwarded-For": f"203.0.113.{10 + n}"}
        assert forger.get("/items", headers=headers).status_code == 200
    assert_429(forger.get("/items", headers={"X-Forwarded-For": "203.0.113.99"}))


# -- idempotency keys ---------------------------------------------------------------------------


def orders_site(resource_idempotent: bool | None = None, **site_options: Any) -> Site:
    """``/orders`` (POST creates), ``/orders/{id}`` (PATCH, PUT) and ``/other`` (POST).

    ``site.calls`` records handler calls; ``site.fail`` holds exceptions the next POSTs raise.
    """
    site = Site(**site_options)
    calls: list[str] = []
    fail: list[Exception] = []
    orders: dict[int, dict[str, Any]] = {}
    ids = itertools.count(1)
    site.calls, site.fail = calls, fail  # type: ignore[attr-defined]

    class Base(Resource):
        schema = TextSchema
        idempotent = resource_idempotent

    class Orders(Base):
        def post(self, request):
            calls.append("post")
            if fail:
                raise fail.pop(0)
            order = {"id": next(ids), "version": 1, **request.validated}
            orders[order["id"]] = order
            return Created(order, location=request.url_for(Order, order_id=order["id"]))

    class Order(Base):
        def patch(self, request, order_id):
            calls.append("patch")
            order = orders[order_id]
            order.update(request.validated, version=order["version"] + 1)
            return order

        def put(self, request, order_id):
            calls.append("put")
            orders[order_id] = {"id": order_id, "version": orders[order_id]["version"] + 1,
                                **request.validated}
            return orders[order_id]

    class Other(Orders):
        pass

    site.add("/orders", Orders)
    site.add("/orders/{order_id:int}", Order)
    site.add("/other", Other)
    return site


IDEMPOTENT_SITES = [
    pytest.param({"resource_idempotent": True}, id="resource"),
    pytest.param({"idempotent": True}, id="site"),
]


def key(value: str) -> dict[str, str]:
    return {"Idempotency-Key": value}


@pytest.mark.parametrize("options", IDEMPOTENT_SITES)
def test_a_repeated_post_replays_the_first_response_byte_for_byte(options) -> None:
    site = orders_site(**options)
    client = Client(site)
    first = client.post("/orders", json={"text": "tea"}, headers=key("k1"))
    assert first.status_code == 201
    assert first.headers["Location"] == "http://localhost/orders/1"
    assert values(first, "Idempotent-Replayed") == []
    for _ in range(2):
        again = client.post("/orders", json={"text": "tea"}, headers=key("k1"))
        assert again.status_code == 201
        assert again.body == first.body
        assert values(again, "Idempotent-Replayed") == ["true"]
        assert [h for h in without_date(again) if h[0] != "Idempotent-Replayed"] == \
            without_date(first)
    assert site.calls == ["post"]
    # a structured-field string is the same key
    assert client.post("/orders", json={"text": "tea"}, headers=key('"k1"')).body == first.body
    # another key, or none, runs again
    assert client.post("/orders", json={"text": "tea"}, headers=key("k2")).json["id"] == 2
    assert client.post("/orders", json={"text": "tea"}).json["id"] == 3
    assert client.post("/orders", json={"text": "tea"}).json["id"] == 4
    assert site.calls == ["post"] * 4


def test_idempotency_is_off_by_default_and_a_resource_may_opt_out() -> None:
    for site in (orders_site(), orders_site(resource_idempotent=False, idempotent=True)):
        client = Client(site)
        for n in (1, 2):
            response = client.post("/orders", json={"text": "tea"}, headers=key("k1"))
            assert response.json["id"] == n
            assert values(response, "Idempotent-Replayed") == []
        assert site.calls == ["post", "post"]


@pytest.mark.parametrize("options", IDEMPOTENT_SITES)
def test_the_same_key_with_another_request_is_422(options) -> None:
    site = orders_site(**options)
    client = Client(site)
    assert client.post("/orders", json={"text": "tea"}, headers=key("k1")).status_code == 201
    for other in [
        {"json": {"text": "coffee"}},
        {"data": b'{"text":"tea"}', "headers": {"Content-Type": "application/json"}},
        {"data": b"<order><text>tea</text></order>",
         "headers": {"Content-Type": "application/xml"}},
    ]:
        headers = {**other.pop("headers", {}), **key("k1")}
        response = client.post("/orders", headers=headers, **other)
        assert "Idempotency-Key" in assert_problem(response, 422)["detail"]
    # the query string is part of the request too
    assert_problem(client.post("/orders?x=1", json={"text": "tea"}, headers=key("k1")), 422)
    assert site.calls == ["post"]


@pytest.mark.parametrize(
    "failure", [RuntimeError("database down"), errors.ServiceUnavailable("try later")]
)
def test_an_exception_or_5xx_releases_the_key(failure) -> None:
    site = orders_site(idempotent=True)
    site.fail.append(failure)
    client = Client(site)
    failed = client.post("/orders", json={"text": "tea"}, headers=key("k1"))
    problem = assert_problem(failed, 500 if isinstance(failure, RuntimeError) else 503)
    assert "database down" not in problem["detail"]
    retry = client.post("/orders", json={"text": "tea"}, headers=key("k1"))
    assert retry.status_code == 201
    assert values(retry, "Idempotent-Replayed") == []
    replay = client.post("/orders", json={"text": "tea"}, headers=key("k1"))
    assert values(replay, "Idempotent-Replayed") == ["true"]
    assert replay.body == retry.body
    assert site.calls == ["post", "post"]


@pytest.mark.parametrize(
    ("failure", "body", "status"),
    [(None, {"txt": "typo"}, 422), (errors.Conflict("sold out"), {"text": "tea"}, 409)],
)
def test_a_4xx_is_stored_and_replayed(failure, body, status) -> None:
    site = orders_site(idempotent=True)
    if failure is not None:
        site.fail.append(failure)
    client = Client(site)
    first = client.post("/orders", json=body, headers=key("k1"))
    assert_problem(first, status)
    again = client.post("/orders", json=body, headers=key("k1"))
    assert again.status_code == status
    assert again.body == first.body
    assert values(again, "Idempotent-Replayed") == ["true"]
    assert site.calls == ["post"]


def test_keys_are_scoped_per_identity_and_path() -> None:
    site = orders_site(idempotent=True, authentication=[BEARER])
    client = Client(site)
    alice = client.post("/orders", json={"text": "tea"}, headers={**ALICE, **key("k1")})
    bob = client.post("/orders", json={"text": "tea"}, headers={**BOB, **key("k1")})
    other = client.post("/other", json={"text": "tea"}, headers={**ALICE, **key("k1")})
    assert [r.status_code for r in (alice, bob, other)] == [201, 201, 201]
    assert [r.json["id"] for r in (alice, bob, other)] == [1, 2, 3]
    assert [values(r, "Idempotent-Replayed") for r in (alice, bob, other)] == [[], [], []]
    replay = client.post("/orders", json={"text": "tea"}, headers={**BOB, **key("k1")})
    assert (replay.json["id"], values(replay, "Idempotent-Replayed")) == (2, ["true"])
    assert site.calls == ["post"] * 3


def test_a_repeat_while_the_first_is_running_is_409() -> None:
    started, release = threading.Event(), threading.Event()
    site = Site(idempotent=True)

    class Slow(Resource):
        def post(self, request):
            started.set()
            assert release.wait(10)
            return Created({"done": True}, location=request.url_for(Slow))

    site.add("/slow", Slow)
    client = Client(site)
    answers: list[TestResponse] = []
    first = threading.Thread(
        target=lambda: answers.append(client.post("/slow", json={}, headers=key("k1")))
    )
    first.start()
    try:
        assert started.wait(10)
        busy = client.post("/slow", json={}, headers=key("k1"))
        assert "in progress" in assert_problem(busy, 409)["detail"]
    finally:
        release.set()
        first.join(10)
    assert not first.is_alive()
    assert [a.status_code for a in answers] == [201]
    replay = client.post("/slow", json={}, headers=key("k1"))
    assert (replay.status_code, values(replay, "Idempotent-Replayed")) == (201, ["true"])


@pytest.mark.parametrize("value", ["", "x" * 256, "tab\there", "caf\xe9"])
def test_an_invalid_key_is_400(value) -> None:
    site = orders_site(idempotent=True)
    response = Client(site).post("/orders", json={"text": "tea"}, headers=key(value))
    assert "Idempotency-Key" in assert_problem(response, 400)["detail"]
    assert site.calls == []


def test_patch_is_keyed_too_put_ignores_the_header() -> None:
    site = orders_site(idempotent=True)
    client = Client(site)
    assert client.post("/orders", json={"text": "tea"}).status_code == 201
    first = client.patch("/orders/1", json={"text": "green tea"}, headers=key("p1"))
    again = client.patch("/orders/1", json={"text": "green tea"}, headers=key("p1"))
    assert first.json == {"id": 1, "text": "green tea", "version": 2}
    assert (again.body, values(again, "Idempotent-Replayed")) == (first.body, ["true"])
    assert_problem(client.patch("/orders/1", json={"text": "x"}, headers=key("p1")), 422)
    puts = [client.put("/orders/1", json={"text": "milk"}, headers=key("p2")) for _ in "ab"]
    assert [p.json["version"] for p in puts] == [3, 4]
    assert [values(p, "Idempotent-Replayed") for p in puts] == [[], []]
    assert site.calls == ["post", "patch", "put", "put"]


# -- pagination ---------------------------------------------------------------------------------

LINK = re.compile(r'<([^>]*)>;\s*rel="([^"]+)"')


def links(response: TestResponse) -> dict[str, str]:
    (header,) = values(response, "Link")
    found = LINK.findall(header)
    assert ", ".join(f'<{u}>; rel="{r}"' for u, r in found) == header
    return {rel: url for url, rel in found}


def query_of(url: str) -> list[tuple[str, str]]:
    return parse_qsl(urlsplit(url).query, keep_blank_values=True)


def pages_site(**site_options: Any) -> Site:
    """``/numbers?offset=&limit=&total=`` pages 0..94 by offset (``total=no``: unknown);
    ``/stream?cursor=`` pages by cursor (``param`` names the cursor parameter)."""
    site = Site(**site_options)
    numbers = list(range(95))

    class Numbers(Resource):
        def get(self, request):
            limit = int(request.GET.get("limit", 20))
            offset = int(request.GET.get("offset", 0))
            total = None if request.GET.get("total") == "no" else len(numbers)
            return Page(numbers[offset:offset + limit], limit=limit, offset=offset, total=total)

    class Stream(Resource):
        def get(self, request):
            param = request.GET.get("param", "cursor")
            position = int(request.GET.get(param, 0))
            prev = str(position - 10) if position else None
            nxt = str(position + 10) if position + 10 < len(numbers) else None
            return Page(numbers[position:position + 10], limit=10, next_cursor=nxt,
                        prev_cursor=prev, cursor_param=param)

    site.add("/numbers", Numbers)
    site.add("/stream", Stream)
    return site


@pytest.mark.parametrize(
    ("query", "expected", "count"),
    [
        ("offset=40", {"first": 0, "prev": 20, "next": 60, "last": 80}, 20),
        ("", {"first": 0, "next": 20, "last": 80}, 20),
        ("offset=80", {"first": 0, "prev": 60, "last": 80}, 15),
        ("offset=70", {"first": 0, "prev": 50, "next": 90, "last": 80}, 20),
        ("offset=10", {"first": 0, "prev": 0, "next": 30, "last": 80}, 20),
        ("offset=200", {"first": 0, "prev": 80, "last": 80}, 0),  # prev never past last
        ("offset=95", {"first": 0, "prev": 75, "last": 80}, 0),
        ("offset=40&total=no", {"first": 0, "prev": 20, "next": 60}, 20),
        ("offset=80&total=no", {"first": 0, "prev": 60}, 15),  # a short page: no next
        ("offset=60&limit=35&total=no", {"first": 0, "prev": 25, "next": 95}, 35),  # full
    ],
)
def test_offset_links(query, expected, count) -> None:
    response = Client(pages_site()).get(f"/numbers?country=FR&{query}&sort=name")
    assert response.status_code == 200
    assert len(response.json) == count
    limit = dict(query_of("?" + query)).get("limit", "20")
    found = links(response)
    assert list(found) == list(expected)  # first, prev, next, last, in that order
    for rel, offset in expected.items():
        url = found[rel]
        assert url.startswith("http://localhost/numbers?"), url
        params = query_of(url)
        assert ("country", "FR") in params and ("sort", "name") in params
        assert [v for k, v in params if k == "offset"] == [str(offset)]
        assert [v for k, v in params if k == "limit"] == [limit]
        kept = [k for k, _ in params if k not in ("offset", "limit")]
        assert sorted(kept) == sorted({"country", "sort"} | ({"total"} if "total" in query
                                                               else set()))


def test_an_empty_collection_links_first_and_last_to_offset_zero() -> None:
    site = Site()

    class Empty(Resource):
        def get(self, request):
            return Page([], limit=10, offset=0, total=0)

    site.add("/empty", Empty)
    response = Client(site).get("/empty")
    assert response.json == []
    assert {rel: query_of(url) for rel, url in links(response).items()} == {
        "first": [("limit", "10"), ("offset", "0")],
        "last": [("limit", "10"), ("offset", "0")],
    }


@pytest.mark.parametrize("param", ["cursor", "after"])
def test_cursor_links(param) -> None:
    client = Client(pages_site())
    extra = "" if param == "cursor" else f"&param={param}"
    start = client.get(f"/stream?q=rain{extra}")
    assert start.json == list(range(10))
    found = links(start)
    assert list(found) == ["first", "next"]
    assert query_of(found["next"])[-1] == (param, "10")
    middle = client.get(found["next"])
    assert middle.json == list(range(10, 20))
    found = links(middle)
    assert list(found) == ["first", "prev", "next"]
    for rel, cursor in [("first", None), ("prev", "0"), ("next", "20")]:
        params = query_of(found[rel])
        assert found[rel].startswith("http://localhost/stream?")
        assert ("q", "rain") in params and ("limit", "10") in params
        assert "offset" not in dict(params)
        assert [v for k, v in params if k == param] == ([cursor] if cursor else [])
    last = client.get(f"/stream?q=rain&{param}=90{extra}")
    assert list(links(last)) == ["first", "prev"]


def test_links_honour_script_name() -> None:
    client = Client(pages_site())
    response = client.get("/numbers?offset=20", environ={"SCRIPT_NAME": "/api/v1"})
    assert all(url.startswith("http://localhost/api/v1/numbers?")
               for url in links(response).values())
    https = client.get("https://example.org:8443/stream")
    assert links(https)["next"].startswith("https://example.org:8443/stream?")


# -- CORS ---------------------------------------------------------------------------------------


def cors_site(cors: Any, **options: Any) -> Site:
    """``/things`` (GET open, POST needs a bearer token) and ``/things/{n}`` (404 but for 1)."""
    site = Site(cors=cors, **options)

    class Things(Resource):
        authentication: Any = {"get": [], "*": [BEARER]}

        def get(self, request):
            return Page([{"n": 1}], limit=1, total=2)

        def post(self, request):
            return Created({"n": 2}, location=request.url_for(Thing, n=2))

    class Thing(Resource):
        def etag(self, request, n):
            return "v1"

        def get(self, request, n):
            if n != 1:
                raise errors.NotFound(f"no thing {n}")
            return {"n": n}

    site.add("/things", Things)
    site.add("/things/{n:int}", Thing)
    return site


def preflight(client: Client, path: str = "/things", origin: str = APP, method: str = "POST",
              request_headers: str | None = "Content-Type, Authorization") -> TestResponse:
    headers = {"Origin": origin, "Access-Control-Request-Method": method}
    if request_headers:
        headers["Access-Control-Request-Headers"] = request_headers
    return client.options(path, headers=headers)


def cors_headers(response: TestResponse) -> dict[str, str]:
    return {k: v for k, v in response.headerlist if k.lower().startswith("access-control-")}


def test_an_allowed_preflight_needs_no_credentials() -> None:
    response = preflight(Client(cors_site([APP])))
    assert response.status_code == 204
    assert response.body == b""
    assert response.headers["Allow"] == "GET, POST, HEAD, OPTIONS"
    assert cors_headers(response) == {
        "Access-Control-Allow-Origin": APP,
        "Access-Control-Allow-Methods": "GET, POST, HEAD, OPTIONS",
        "Access-Control-Allow-Headers": "content-type, authorization",
        "Access-Control-Max-Age": "600",
    }
    assert {"origin", "access-control-request-method"} <= set(items(response, "Vary"))
    assert values(response, "WWW-Authenticate") == []


@pytest.mark.parametrize(
    "kwargs",
    [
        {"origin": "https://evil.example"},
        {"origin": "http://app.example"},  # another scheme is another origin
        {"method": "DELETE"},  # not in the resource's Allow
        {"request_headers": "Content-Type, X-Custom"},
    ],
    ids=["origin", "scheme", "method", "header"],
)
def test_a_refused_preflight_gets_no_cors_headers(kwargs) -> None:
    response = preflight(Client(cors_site([APP])), **kwargs)
    assert response.status_code == 204
    assert cors_headers(response) == {}
    assert "origin" in items(response, "Vary")


def test_preflight_with_credentials_and_max_age() -> None:
    site = cors_site(CORS([APP], allow_credentials=True, max_age=3600))
    response = preflight(Client(site), path="/things/1", method="GET", request_headers=None)
    assert cors_headers(response) == {
        "Access-Control-Allow-Origin": APP,
        "Access-Control-Allow-Methods": "GET, HEAD, OPTIONS",
        "Access-Control-Max-Age": "3600",
        "Access-Control-Allow-Credentials": "true",
    }


@pytest.mark.parametrize("credentials", [False, True])
@pytest.mark.parametrize(
    ("method", "path", "headers", "status"),
    [
        ("get", "/things", {}, 200),
        ("get", "/things/1", {}, 200),
        ("post", "/things", ALICE, 201),
        ("get", "/things/2", {}, 404),  # the handler's
        ("get", "/nowhere", {}, 404),  # no route
        ("post", "/things", {}, 401),
        ("delete", "/things", {}, 405),
        ("get", "/things/1", {"If-None-Match": '"v1"'}, 304),
        ("options", "/things", {}, 204),  # OPTIONS with Origin but not a preflight
    ],
)
def test_actual_responses_errors_included_carry_cors_headers(
    credentials, method, path, headers, status
) -> None:
    cors = CORS([APP], allow_credentials=credentials) if credentials else [APP]
    client = Client(cors_site(cors))
    response = getattr(client, method)(path, headers={"Origin": APP, **headers})
    assert response.status_code == status
    found = cors_headers(response)
    assert found.pop("Access-Control-Allow-Origin") == APP
    assert found.pop("Access-Control-Allow-Credentials", None) == ("true" if credentials else None)
    exposed = [e.strip() for e in found.pop("Access-Control-Expose-Headers").split(",")]
    assert {"ETag", "Location", "Link", "RateLimit", "Retry-After"} <= set(exposed)
    assert found == {}
    assert "origin" in items(response, "Vary")
    if status >= 400:  # the browser reads the problem
        assert media_type_of(response) == "application/problem+json"
        assert response.json["status"] == status
        assert "accept" in items(response, "Vary")


@pytest.mark.parametrize("origin", [None, "https://evil.example"])
def test_no_or_another_origin_gets_no_allow_origin(origin) -> None:
    client = Client(cors_site([APP]))
    response = client.get("/things", headers={"Origin": origin} if origin else None)
    assert response.status_code == 200
    assert cors_headers(response) == {}
    assert "origin" in items(response, "Vary")


def test_cors_with_rate_limits_exposes_them_on_429() -> None:
    client = Client(cors_site([APP], rate_limit=RateLimit("1/minute")))
    assert client.get("/things", headers={"Origin": APP}).status_code == 200
    refused = client.get("/things", headers={"Origin": APP})
    assert refused.status_code == 429
    assert refused.headers["Access-Control-Allow-Origin"] == APP
    assert values(refused, "Retry-After") and values(refused, "RateLimit")


# -- trusted proxies ----------------------------------------------------------------------------

FORWARDED = {"Forwarded": "for=203.0.113.5;proto=https;host=api.example.com"}
X_FORWARDED = {
    "X-Forwarded-For": "203.0.113.5",
    "X-Forwarded-Proto": "https",
    "X-Forwarded-Host": "api.example.com",
}


def proxied_site(**options: Any) -> Site:
    """``/whoami`` (what the site believes), ``/notes`` (POST: Created; GET: a Page)."""
    site = Site(**options)

    class WhoAmI(Resource):
        def get(self, request):
            return {"url": request.url_for(WhoAmI), "client": request.client_addr,
                    "scheme": request.scheme, "base": request.base_url}

    class Notes(Resource):
        def get(self, request):
            return Page([], limit=10, offset=10, total=30)

        def post(self, request):
            return Created({"id": 7}, location=request.url_for(Note, note_id=7))

    class Note(Resource):
        def get(self, request, note_id):
            return {"id": note_id}

    site.add("/whoami", WhoAmI)
    site.add("/notes", Notes)
    site.add("/notes/{note_id:int}", Note)
    return site


PROXIES = ["10.0.0.1", "192.168.0.0/16"]


@pytest.mark.parametrize("headers", [FORWARDED, X_FORWARDED], ids=["forwarded", "x-forwarded"])
@pytest.mark.parametrize("peer", ["10.0.0.1", "192.168.42.7"])
def test_a_trusted_proxy_gives_https_links_and_the_client_address(headers, peer) -> None:
    client = Client(proxied_site(trusted_proxies=PROXIES), remote_addr=peer)
    me = client.get("/whoami", headers=headers).json
    assert me == {"url": "https://api.example.com/whoami", "client": "203.0.113.5",
                  "scheme": "https", "base": "https://api.example.com"}
    created = client.post("/notes", headers=headers)
    assert created.headers["Location"] == "https://api.example.com/notes/7"
    page = links(client.get("/notes?q=1", headers=headers))
    assert list(page) == ["first", "prev", "next", "last"]
    assert all(url.startswith("https://api.example.com/notes?q=1&") for url in page.values())
    mounted = client.get("/whoami", headers=headers, environ={"SCRIPT_NAME": "/api"}).json
    assert mounted["url"] == "https://api.example.com/api/whoami"


@pytest.mark.parametrize("headers", [FORWARDED, X_FORWARDED], ids=["forwarded", "x-forwarded"])
@pytest.mark.parametrize(
    ("options", "peer"),
    [
        ({"trusted_proxies": PROXIES}, "10.0.0.2"),
        ({"trusted_proxies": PROXIES}, "172.16.0.1"),
        ({}, "10.0.0.1"),  # no trusted proxies at all
    ],
)
def test_an_untrusted_peer_cannot_forge_links_or_its_address(headers, options, peer) -> None:
    client = Client(proxied_site(**options), remote_addr=peer)
    me = client.get("/whoami", headers=headers).json
    assert me == {"url": "http://localhost/whoami", "client": peer, "scheme": "http",
                  "base": "http://localhost"}
    assert client.post("/notes", headers=headers).headers["Location"] == \
        "http://localhost/notes/7"
    assert all(url.startswith("http://localhost/notes?")
               for url in links(client.get("/notes", headers=headers)).values())
    if "X-Forwarded-For" in headers:  # webob's own client_addr believes it from anyone
        assert webob.Request.blank("/", remote_addr=peer, headers=headers).client_addr == \
            "203.0.113.5"


def test_a_proxy_chain_stops_at_the_first_untrusted_hop() -> None:
    client = Client(proxied_site(trusted_proxies=PROXIES), remote_addr="10.0.0.1")
    forged = {"X-Forwarded-For": "1.2.3.4, 203.0.113.5, 192.168.1.1"}
    assert client.get("/whoami", headers=forged).json["client"] == "203.0.113.5"


# -- body limits --------------------------------------------------------------------------------


def json_of_size(size: int) -> bytes:
    """``{"text": "xxx..."}`` of exactly ``size`` bytes."""
    body = b'{"text": "' + b"x" * (size - 12) + b'"}'
    assert len(body) == size
    return body


def bodies_site(**options: Any) -> Site:
    """``/texts`` loads TextSchema; ``/raw`` reads ``request.body`` as webob offers it."""
    site = Site(**options)
    site.calls = []  # type: ignore[attr-defined]

    class Texts(Resource):
        schema = TextSchema

        def post(self, request):
            site.calls.append("texts")
            return {"text": request.validated["text"]}

    class Raw(Resource):
        def post(self, request):
            site.calls.append("raw")
            return {"length": len(request.body)}

    site.add("/texts", Texts)
    site.add("/raw", Raw)
    return site


def chunked(site: Site, path: str, body: bytes) -> TestResponse:
    """POST ``body`` as a server hands over a chunked one: no CONTENT_LENGTH, input terminated."""
    request = webob.Request.blank(path, method="POST", environ={"REMOTE_ADDR": "127.0.0.1"})
    request.environ.update({
        "wsgi.input": io.BytesIO(body),
        "wsgi.input_terminated": True,
        "CONTENT_TYPE": "application/json",
    })
    request.environ.pop("CONTENT_LENGTH", None)
    request.ResponseClass = TestResponse
    return request.get_response(site)


@pytest.mark.parametrize("path", ["/texts", "/raw"])
def test_a_declared_length_over_the_limit_is_413_before_the_handler(path) -> None:
    site = bodies_site(max_body_size=100)
    response = Client(site).post(path, data=json_of_size(101),
                                 headers={"Content-Type": "application/json"})
    assert "100 bytes" in assert_problem(response, 413)["detail"]
    assert site.calls == []


def test_a_body_exactly_at_the_limit_is_accepted() -> None:
    site = bodies_site(max_body_size=100)
    client = Client(site)
    body = json_of_size(100)
    response = client.post("/texts", data=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 200
    assert response.json == {"text": "x" * 88}
    assert chunked(site, "/texts", body).json == {"text": "x" * 88}
    assert chunked(site, "/raw", body).json == {"length": 100}


@pytest.mark.parametrize("path", ["/texts", "/raw"])
@pytest.mark.parametrize("size", [101, 10_000])
def test_a_body_without_content_length_is_cut_at_the_limit(path, size) -> None:
    site = bodies_site(max_body_size=100)
    response = chunked(site, path, json_of_size(size))
    assert "100 bytes" in assert_problem(response, 413)["detail"]


def test_the_default_limit_is_one_mebibyte() -> None:
    site = bodies_site()
    assert site.max_body_size == 1024 * 1024
    client = Client(site)
    headers = {"Content-Type": "application/json"}
    assert_problem(client.post("/texts", data=json_of_size(1024 * 1024 + 1), headers=headers), 413)
    assert site.calls == []
    response = client.post("/texts", data=json_of_size(1024 * 1024), headers=headers)
    assert response.status_code == 200
    assert len(response.json["text"]) == 1024 * 1024 - 12
    assert_problem(chunked(site, "/texts", json_of_size(1024 * 1024 + 1)), 413)


def test_idempotency_reads_the_body_within_the_limit() -> None:
    site = bodies_site(max_body_size=100, idempotent=True)
    response = chunked_with_key(site, json_of_size(500))
    assert_problem(response, 413)
    assert site.calls == []


def chunked_with_key(site: Site, body: bytes) -> TestResponse:
    request = webob.Request.blank("/texts", method="POST", headers=key("k1"))
    request.environ.update({"wsgi.input": io.BytesIO(body), "wsgi.input_terminated": True,
                            "CONTENT_TYPE": "application/json"})
    request.environ.pop("CONTENT_LENGTH", None)
    request.ResponseClass = TestResponse
    return request.get_response(site)


# -- Prefer: return=minimal ---------------------------------------------------------------------


def prefer_site() -> Site:
    """``/docs`` (POST creates) and ``/docs/{id}`` (GET, PUT, PATCH) with an ETag."""
    site = Site()
    docs: dict[int, dict[str, Any]] = {}
    ids = itertools.count(1)

    class Docs(Resource):
        schema = TextSchema

        def post(self, request):
            doc = {"id": next(ids), "version": 1, **request.validated}
            docs[doc["id"]] = doc
            return Created(doc, location=request.url_for(Doc, doc_id=doc["id"]))

    class Doc(Resource):
        schema = TextSchema

        def etag(self, request, doc_id):
            return f"v{docs[doc_id]['version']}"

        def get(self, request, doc_id):
            return docs[doc_id]

        def put(self, request, doc_id):
            docs[doc_id] = {"id": doc_id, "version": docs[doc_id]["version"] + 1,
                            **request.validated}
            return docs[doc_id]

        patch = put

    site.add("/docs", Docs)
    site.add("/docs/{doc_id:int}", Doc)
    return site


MINIMAL = ["return=minimal", 'respond-async, return="minimal"', "handling=lenient; x=1, "
           "RETURN=minimal"]


@pytest.mark.parametrize("prefer", MINIMAL)
def test_return_minimal_on_post_keeps_201_and_location(prefer) -> None:
    client = Client(prefer_site())
    response = client.post("/docs", json={"text": "a"}, headers={"Prefer": prefer})
    assert response.status_code == 201
    assert response.headers["Location"] == "http://localhost/docs/1"
    assert response.body == b""
    assert response.headers["Content-Length"] == "0"
    assert "Content-Type" not in response.headers
    assert values(response, "Preference-Applied") == ["return=minimal"]
    assert client.get("/docs/1").json == {"id": 1, "version": 1, "text": "a"}


@pytest.mark.parametrize("method", ["put", "patch"])
@pytest.mark.parametrize("prefer", MINIMAL[:2])
def test_return_minimal_on_put_and_patch_is_204_with_the_new_etag(method, prefer) -> None:
    client = Client(prefer_site())
    client.post("/docs", json={"text": "a"})
    response = getattr(client, method)("/docs/1", json={"text": "b"},
                                       headers={"Prefer": prefer, "If-Match": '"v1"'})
    assert response.status_code == 204
    assert response.body == b""
    assert response.headers["ETag"] == '"v2"'
    assert values(response, "Preference-Applied") == ["return=minimal"]
    assert "Content-Type" not in response.headers
    assert client.get("/docs/1").json["text"] == "b"


@pytest.mark.parametrize("prefer", [None, "return=representation"])
def test_representation_or_no_preference_sends_the_body(prefer) -> None:
    client = Client(prefer_site())
    headers = {"Prefer": prefer} if prefer else {}
    created = client.post("/docs", json={"text": "a"}, headers=headers)
    assert (created.status_code, created.json) == (201, {"id": 1, "version": 1, "text": "a"})
    replaced = client.put("/docs/1", json={"text": "b"}, headers=headers)
    assert (replaced.status_code, replaced.json["text"]) == (200, "b")
    assert replaced.headers["ETag"] == '"v2"'
    for response in (created, replaced):
        assert values(response, "Preference-Applied") == []


def test_return_minimal_is_not_applied_to_get_or_head() -> None:
    client = Client(prefer_site())
    client.post("/docs", json={"text": "a"})
    response = client.get("/docs/1", headers={"Prefer": "return=minimal"})
    assert (response.status_code, response.json["text"]) == (200, "a")
    assert values(response, "Preference-Applied") == []
    head = client.head("/docs/1", headers={"Prefer": "return=minimal"})
    assert head.status_code == 200
    assert values(head, "Preference-Applied") == []


def test_return_minimal_does_not_hide_errors() -> None:
    client = Client(prefer_site())
    response = client.post("/docs", json={}, headers={"Prefer": "return=minimal"})
    assert_problem(response, 422)
    assert values(response, "Preference-Applied") == []


# -- hooks --------------------------------------------------------------------------------------


class Recorder(Hook):
    """Logs ``name.before`` and ``name.after <status>``; adds ``X-Hooks`` on the way out."""

    def __init__(self, name: str, log: list[str], fail: Exception | None = None) -> None:
        self.name, self.log, self.fail = name, log, fail

    def before(self, request):
        self.log.append(f"{self.name}.before")
        if self.fail is not None:
            raise self.fail

    def after(self, request, reply):
        self.log.append(f"{self.name}.after {reply.status}")
        reply.headers.append(("X-Hooks", self.name))


def hooked_site(log: list[str], site_hooks=(), resource_hooks=(), **options: Any) -> Site:
    """``/items`` (GET; POST loads TextSchema), ``/items/{n}`` (404 but for 1, ETag "v1"),
    ``/boom`` (a bug: 500)."""
    site = Site(hooks=list(site_hooks), **options)

    class Base(Resource):
        hooks = list(resource_hooks)

    class Items(Base):
        schema = TextSchema

        def get(self, request):
            log.append("handler")
            return []

        def post(self, request):
            log.append("handler")
            return request.validated

    class Item(Base):
        def etag(self, request, n):
            return "v1"

        def get(self, request, n):
            log.append("handler")
            if n != 1:
                raise errors.NotFound(f"no item {n}")
            return {"n": n}

    class Boom(Base):
        def get(self, request):
            log.append("handler")
            raise ZeroDivisionError("oops")

    site.add("/items", Items)
    site.add("/items/{n:int}", Item)
    site.add("/boom", Boom)
    return site


def test_the_onion_order() -> None:
    log: list[str] = []
    site = hooked_site(log, [Recorder("S1", log), Recorder("S2", log)],
                       [Recorder("R1", log), Recorder("R2", log)])
    response = Client(site).get("/items")
    assert response.status_code == 200
    assert log == ["S1.before", "S2.before", "R1.before", "R2.before", "handler",
                   "R2.after 200", "R1.after 200", "S2.after 200", "S1.after 200"]
    assert values(response, "X-Hooks") == ["R2", "R1", "S2", "S1"]


def test_resource_hooks_without_site_hooks_run_both_ways() -> None:
    log: list[str] = []
    site = hooked_site(log, resource_hooks=[Recorder("R1", log), Recorder("R2", log)])
    response = Client(site).get("/items")
    assert response.status_code == 200
    assert log == ["R1.before", "R2.before", "handler", "R2.after 200", "R1.after 200"]
    assert values(response, "X-Hooks") == ["R2", "R1"]


@pytest.mark.parametrize("with_site_hooks", [True, False])
@pytest.mark.parametrize(
    ("method", "path", "body", "status", "reached"),
    [
        ("get", "/nowhere", None, 404, False),  # routing: site hooks only
        ("get", "/items/2", None, 404, True),
        ("post", "/items", {"txt": 1}, 422, True),
        ("get", "/boom", None, 500, True),
        ("delete", "/items", None, 405, False),
    ],
)
def test_after_hooks_see_error_replies_and_may_change_them(
    with_site_hooks, method, path, body, status, reached
) -> None:
    log: list[str] = []
    site = hooked_site(log, [Recorder("S", log)] if with_site_hooks else [],
                       [Recorder("R", log)])
    response = getattr(Client(site), method)(path, json=body)
    assert_problem(response, status)
    resource = ["R.before", "handler", f"R.after {status}"] if reached else []
    site_log = (["S.before", *resource, f"S.after {status}"] if with_site_hooks else resource)
    assert log == site_log
    assert values(response, "X-Hooks") == [e.split(".")[0] for e in site_log if "after" in e]


def test_after_hooks_may_replace_the_reply() -> None:
    class Teapot(Hook):
        def after(self, request, reply):
            reply.status = 418
            reply.headers = [("Content-Type", "text/plain"), ("Content-Length", "5")]
            reply.body = b"brew!"

    site = Site(hooks=[Teapot()])
    response = Client(site).get("/nowhere")
    assert (response.status_code, response.body, response.content_type) == (
        418, b"brew!", "text/plain")


@pytest.mark.parametrize("where", ["site", "resource"])
def test_a_before_raising_answers_and_earlier_afters_still_run(where) -> None:
    log: list[str] = []
    hooks = [Recorder("A", log), Recorder("B", log, fail=errors.Forbidden("not today")),
             Recorder("C", log)]
    site = hooked_site(log, hooks if where == "site" else [Recorder("S", log)],
                       hooks if where == "resource" else [])
    response = Client(site).get("/items", headers=XML_ACCEPT)
    problem = assert_problem(response, 403, media_type="application/problem+xml")
    assert problem["detail"] == "not today"
    prefix, suffix = (["S.before"], ["S.after 403"]) if where == "resource" else ([], [])
    assert log == [*prefix, "A.before", "B.before", "A.after 403", *suffix]
    assert "handler" not in log


def test_a_before_raising_an_unexpected_error_is_500_and_afters_run() -> None:
    log: list[str] = []
    site = hooked_site(log, [Recorder("A", log), Recorder("B", log, fail=KeyError("k"))])
    response = Client(site).get("/items")
    assert "k" not in assert_problem(response, 500)["detail"].split()
    assert log == ["A.before", "B.before", "A.after 500"]


def test_request_context_is_shared_by_before_handler_and_after() -> None:
    seen: list[Any] = []

    class Trace(Hook):
        def before(self, request):
            request.context.trail = ["before"]

        def after(self, request, reply):
            request.context.trail.append("after")
            seen.append(request.context.trail)
            reply.headers.append(("X-Trail", " ".join(request.context.trail)))

    site = Site(hooks=[Trace()])

    class Thing(Resource):
        def get(self, request):
            request.context.trail.append("handler")
            return {"trail": list(request.context.trail)}

    site.add("/thing", Thing)
    client = Client(site)
    response = client.get("/thing")
    assert response.json == {"trail": ["before", "handler"]}
    assert response.headers["X-Trail"] == "before handler after"
    client.get("/thing")
    assert seen == [["before", "handler", "after"]] * 2  # a fresh context per request
    assert seen[0] is not seen[1]


def test_resource_hooks_run_after_authentication_and_rate_limits() -> None:
    log: list[str] = []
    site = hooked_site(log, [Recorder("S", log)], [Recorder("R", log)],
                       authentication={"get": [], "*": [BEARER]},
                       rate_limit=RateLimit("2/minute"))
    client = Client(site)
    assert client.post("/items", json={"text": "a"}).status_code == 401
    assert log == ["S.before", "S.after 401"]
    log.clear()
    assert client.post("/items", json={"text": "a"}, headers=ALICE).status_code == 200
    assert log == ["S.before", "R.before", "handler", "R.after 200", "S.after 200"]
    log.clear()
    assert client.get("/items").status_code == 429
    assert log == ["S.before", "S.after 429"]


@pytest.mark.parametrize(
    ("headers", "status"), [({"If-None-Match": '"v1"'}, 304), ({"If-Match": '"v0"'}, 412)]
)
def test_resource_hooks_run_after_preconditions(headers, status) -> None:
    """README: resource hooks' before run "after authentication, rate limits and
    preconditions, right before the handler"; a request stopped by a precondition never gets
    there, so only the site hooks see it."""
    log: list[str] = []
    site = hooked_site(log, [Recorder("S", log)], [Recorder("R", log)])
    response = Client(site).get("/items/1", headers=headers)
    assert response.status_code == status
    assert log == ["S.before", f"S.after {status}"]


class Neither(Hook):
    pass


@pytest.mark.parametrize("hook", [Neither(), object(), "not a hook"])
def test_a_hook_with_neither_method_is_refused_at_startup(hook) -> None:
    with pytest.raises(TypeError, match="neither before"):
        Site(hooks=[hook])
    site = Site()

    class Thing(Resource):
        hooks = [hook]

        def get(self, request):
            return {}

    with pytest.raises(TypeError, match="neither before"):
        site.add("/thing", Thing)


def test_hooks_with_only_one_method_are_fine() -> None:
    log: list[str] = []

    class Before(Hook):
        def before(self, request):
            log.append("before")

    class After:  # any object with the method will do
        def after(self, request, reply):
            log.append(f"after {reply.status}")

    site = Site(hooks=[Before(), After()])
    assert Client(site).get("/nowhere").status_code == 404
    assert log == ["before", "after 404"]


# -- all together -------------------------------------------------------------------------------


def test_the_features_compose_on_one_site() -> None:
    """Auth, rate limit, idempotency, CORS, proxies, Prefer and hooks on the same request."""
    log: list[str] = []
    site = orders_site(
        idempotent=True,
        authentication=[BEARER],
        rate_limit=RateLimit("10/minute"),
        cors=[APP],
        trusted_proxies=["10.0.0.1"],
        hooks=[Recorder("S", log)],
    )
    client = Client(site, remote_addr="10.0.0.1",
                    headers={**ALICE, **X_FORWARDED, "Origin": APP})
    headers = {**key("k1"), "Prefer": "return=minimal"}
    first = client.post("/orders", json={"text": "tea"}, headers=headers)
    again = client.post("/orders", json={"text": "tea"}, headers=headers)
    for response in (first, again):
        assert response.status_code == 201
        assert response.body == b""
        assert response.headers["Location"] == "https://api.example.com/orders/1"
        assert response.headers["Access-Control-Allow-Origin"] == APP
        assert values(response, "Preference-Applied") == ["return=minimal"]
        assert values(response, "X-Hooks") == ["S"]
    assert values(again, "Idempotent-Replayed") == ["true"]
    assert [RATELIMIT.fullmatch(values(r, "RateLimit")[0])[1] for r in (first, again)] == \
        ["9", "8"]
    assert site.calls == ["post"]
    assert log == ["S.before", "S.after 201"] * 2
    assert json.loads(client.get("/orders/1").body)["status"] == 405


def test_an_unacceptable_request_is_still_authenticated_first():
    """A safe handler that may answer any Accept with its own webob.Response runs only for an
    authenticated client: 406 handling never skips authentication."""

    class Avatar(Resource):
        authentication = [BEARER]

        def get(self, request):
            return webob.Response(body=b"PNG", content_type="image/png")

    site = Site()
    site.add("/avatar", Avatar)
    client = Client(site)
    refused = client.get("/avatar", headers={"Accept": "image/png"})
    assert refused.status_code == 401
    assert b"PNG" not in refused.body
    allowed = client.get(
        "/avatar", headers={"Accept": "image/png", "Authorization": "Bearer alice-token"}
    )
    assert (allowed.status_code, allowed.body) == (200, b"PNG")
