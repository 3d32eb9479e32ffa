"""Authenticators, their 401 challenges, constant-time helpers and permissions (contract 7).

Each test builds a request with ``Request.blank`` and calls the module directly: no site.
"""

from __future__ import annotations

import base64
import functools
import hmac
from typing import Any

import pytest

from resourcekit import Resource, auth, errors
from resourcekit.auth import APIKey, Basic, Bearer
from resourcekit.request import Request

TOKENS = {"s3cret-token": "alice", "other.token~2": "bob"}
USERS = {"alice": "wonder:land", "bob": "pässwort"}


def request(method: str = "GET", **headers: str) -> Request:
    return Request.blank("/things", method=method, headers=headers)


def basic(text: str | bytes) -> str:
    raw = text.encode() if isinstance(text, str) else text
    return "Basic " + base64.b64encode(raw).decode()


def challenges(exc: errors.HTTPError) -> list[str]:
    return [v for k, v in exc.headers if k == "WWW-Authenticate"]


def rejected(authenticator: auth.Authenticator, req: Request) -> errors.Unauthorized:
    with pytest.raises(errors.Unauthorized) as info:
        authenticator.authenticate(req)
    return info.value


bearer = Bearer(auth.tokens(TOKENS))
basic_auth = Basic(auth.passwords(USERS))
api_key = APIKey(auth.tokens({"k-123": "service"}))
RESOURCE = Resource()


# -- Bearer ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("scheme", ["Bearer", "bearer", "BEARER"])
def test_bearer_accepts_a_known_token_whatever_the_scheme_case(scheme: str) -> None:
    assert bearer.authenticate(request(Authorization=f"{scheme} s3cret-token")) == "alice"
    assert bearer.authenticate(request(Authorization=f"{scheme} other.token~2")) == "bob"


def test_bearer_token68_may_end_in_padding_and_follow_several_spaces() -> None:
    verify = Bearer(lambda token: token)
    assert verify.authenticate(request(Authorization="Bearer   abc+/==")) == "abc+/=="


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Basic YTpi"}, {"Authorization": "Bearerx abc"}, {"X-Token": "a"}],
)
def test_bearer_without_bearer_credentials_is_none(headers: dict[str, str]) -> None:
    assert bearer.authenticate(request(**headers)) is None


@pytest.mark.parametrize(
    "value", ["Bearer", "Bearer ", "Bearer a b", "Bearer a=b", "Bearer ab!", 'Bearer "ab"']
)
def test_bearer_malformed_token_is_invalid_request(value: str) -> None:
    exc = rejected(bearer, request(Authorization=value))
    assert exc.status == 401
    assert exc.extra == {"error": "invalid_request"}
    assert challenges(exc) == ['Bearer realm="api", error="invalid_request"']


def test_bearer_unknown_token_is_invalid_token_without_echoing_it() -> None:
    exc = rejected(bearer, request(Authorization="Bearer wrong-token"))
    assert exc.extra == {"error": "invalid_token"}
    assert challenges(exc) == ['Bearer realm="api", error="invalid_token"']
    assert "wrong-token" not in str(exc.to_problem()) + str(exc.headers)


def test_bearer_challenge_and_realm_quoting() -> None:
    assert bearer.challenge() == 'Bearer realm="api"'
    assert Bearer(bool, realm='my "api"').challenge() == 'Bearer realm="my \\"api\\""'
    with pytest.raises(ValueError):
        Bearer(bool, realm="bad\nrealm")


# -- Basic ----------------------------------------------------------------------------------------


def test_basic_accepts_the_right_password() -> None:
    assert basic_auth.authenticate(request(Authorization=basic("alice:wonder:land"))) == "alice"


def test_basic_decodes_utf8() -> None:
    assert basic_auth.authenticate(request(Authorization=basic("bob:pässwort"))) == "bob"


def test_basic_scheme_is_case_insensitive() -> None:
    value = basic("alice:wonder:land").replace("Basic", "bASIC")
    assert basic_auth.authenticate(request(Authorization=value)) == "alice"


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer abc"}])
def test_basic_without_basic_credentials_is_none(headers: dict[str, str]) -> None:
    assert basic_auth.authenticate(request(**headers)) is None


@pytest.mark.parametrize(
    "value",
    [
        "Basic",  # no credentials
        "Basic YWxpY2U6d29uZGVy*",  # not token68
        "Basic YWxpY2U6d29uZGVy-",  # token68, not base64
        "Basic YWxpY2U6d29uZGVyO",  # bad padding
        basic(b"alice:\xff\xfe"),  # not UTF-8
        basic("alice"),  # no colon
        basic("alice:wonder\x00land"),  # control character
    ],
    ids=["empty", "token68", "alphabet", "padding", "utf8", "colon", "control"],
)
def test_basic_malformed_credentials_are_invalid_request(value: str) -> None:
    exc = rejected(basic_auth, request(Authorization=value))
    assert exc.status == 401
    assert exc.extra == {"error": "invalid_request"}
    assert exc.detail == "malformed Basic credentials"
    assert challenges(exc) == ['Basic realm="api", charset="UTF-8"']


@pytest.mark.parametrize("text", ["alice:wrong", "alice:wonder", "mallory:wonder:land", ":"])
def test_basic_wrong_password_or_unknown_user_look_the_same(text: str) -> None:
    exc = rejected(basic_auth, request(Authorization=basic(text)))
    assert exc.detail == "invalid username or password"
    assert exc.extra == {"error": "invalid_token"}
    assert "wonder" not in str(exc.to_problem())


def test_basic_challenge_has_no_error_parameter() -> None:
    assert basic_auth.challenge() == 'Basic realm="api", charset="UTF-8"'
    assert basic_auth.challenge("invalid_token") == 'Basic realm="api", charset="UTF-8"'
    assert Basic(bool, realm="x").challenge() == 'Basic realm="x", charset="UTF-8"'


def test_basic_verify_returning_none_is_rejected() -> None:
    calls: list[tuple[str, str]] = []

    def verify(username: str, password: str) -> None:
        calls.append((username, password))

    exc = rejected(Basic(verify), request(Authorization=basic("u:p:q")))
    assert exc.status == 401
    assert calls == [("u", "p:q")]


# -- API keys -------------------------------------------------------------------------------------


def test_api_key_accepts_a_known_key() -> None:
    assert api_key.authenticate(request(**{"X-API-Key": "k-123"})) == "service"


def test_api_key_header_name_is_configurable_and_case_insensitive() -> None:
    custom = APIKey(auth.tokens({"k": "svc"}), header="X-Service-Key")
    assert custom.authenticate(request(**{"x-service-key": "k"})) == "svc"
    assert custom.authenticate(request(**{"X-API-Key": "k"})) is None
    assert custom.challenge() == 'APIKey header="X-Service-Key"'


def test_api_key_without_the_header_is_none() -> None:
    assert api_key.authenticate(request(Authorization="Bearer k-123")) is None


@pytest.mark.parametrize("value", ["", "  ", "k 123", "k-\x01"])
def test_api_key_malformed_is_invalid_request(value: str) -> None:
    exc = rejected(api_key, request(**{"X-API-Key": value}))
    assert exc.extra == {"error": "invalid_request"}
    assert challenges(exc) == ['APIKey header="X-API-Key", error="invalid_request"']


def test_api_key_unknown_is_invalid_token() -> None:
    exc = rejected(api_key, request(**{"X-API-Key": "k-124"}))
    assert exc.extra == {"error": "invalid_token"}
    assert challenges(exc) == ['APIKey header="X-API-Key", error="invalid_token"']
    assert "k-124" not in str(exc.to_problem())


def test_api_key_rejects_a_bad_header_name() -> None:
    with pytest.raises(ValueError):
        APIKey(bool, header="X API Key")


# -- several authenticators ----------------------------------------------------------------------

ALL = [bearer, basic_auth, api_key]
ALL_CHALLENGES = [
    'Bearer realm="api"',
    'Basic realm="api", charset="UTF-8"',
    'APIKey header="X-API-Key"',
]


def test_the_authenticator_that_finds_credentials_answers() -> None:
    assert auth.authenticate(request(Authorization="Bearer s3cret-token"), ALL) == "alice"
    assert auth.authenticate(request(Authorization=basic("bob:pässwort")), ALL) == "bob"
    assert auth.authenticate(request(**{"X-API-Key": "k-123"}), ALL) == "service"


def test_the_first_identity_wins() -> None:
    req = request(Authorization="Bearer s3cret-token", **{"X-API-Key": "k-123"})
    assert auth.authenticate(req, ALL) == "alice"
    assert auth.authenticate(req, [api_key, bearer]) == "service"


def test_no_credentials_is_401_with_every_challenge_and_no_error() -> None:
    with pytest.raises(errors.Unauthorized) as info:
        auth.authenticate(request(), ALL)
    assert info.value.detail == "authentication required"
    assert info.value.extra == {}
    assert challenges(info.value) == ALL_CHALLENGES


def test_no_credentials_is_none_when_not_required() -> None:
    assert auth.authenticate(request(), ALL, required=False) is None


def test_a_rejection_is_final_and_lists_every_challenge() -> None:
    req = request(Authorization=basic("alice:nope"), **{"X-API-Key": "k-123"})
    with pytest.raises(errors.Unauthorized) as info:
        auth.authenticate(req, ALL, required=False)
    assert info.value.detail == "invalid username or password"
    assert challenges(info.value) == [
        'Bearer realm="api"',
        'Basic realm="api", charset="UTF-8"',
        'APIKey header="X-API-Key"',
    ]


def test_a_rejection_keeps_its_error_parameter() -> None:
    with pytest.raises(errors.Unauthorized) as info:
        auth.authenticate(request(Authorization="Bearer nope"), ALL)
    assert challenges(info.value) == [
        'Bearer realm="api", error="invalid_token"',
        'Basic realm="api", charset="UTF-8"',
        'APIKey header="X-API-Key"',
    ]


def test_one_challenge_per_scheme() -> None:
    second = Bearer(auth.tokens({"t2": "carol"}), realm="other")
    with pytest.raises(errors.Unauthorized) as info:
        auth.authenticate(request(), [bearer, second, api_key])
    assert challenges(info.value) == ['Bearer realm="api"', 'APIKey header="X-API-Key"']


def test_other_headers_of_a_rejection_are_kept() -> None:
    class Custom(auth.Authenticator):
        scheme = "Custom"

        def authenticate(self, request: Request) -> Any:
            raise errors.Unauthorized("no", headers=[("Retry-After", "5")])

        def challenge(self, error: str | None = None) -> str:
            return "Custom"

    with pytest.raises(errors.Unauthorized) as info:
        auth.authenticate(request(), [bearer, Custom()])
    assert info.value.headers == [
        ("Retry-After", "5"),
        ("WWW-Authenticate", 'Bearer realm="api"'),
        ("WWW-Authenticate", "Custom"),
    ]


def test_authenticate_needs_an_authenticator() -> None:
    with pytest.raises(ValueError):
        auth.authenticate(request(), [])


# -- constant-time helpers ------------------------------------------------------------------------


def test_tokens_maps_each_secret_to_its_identity() -> None:
    verify = auth.tokens({"a": 1, "b": 2, "ü": 3})
    assert [verify("a"), verify("b"), verify("ü"), verify("c"), verify("")] == [1, 2, 3, None, None]


def test_tokens_compares_every_secret_with_compare_digest(monkeypatch: pytest.MonkeyPatch) -> None:
    original = hmac.compare_digest
    compared: list[tuple[bytes, bytes]] = []

    def spy(a: bytes, b: bytes) -> bool:
        compared.append((a, b))
        return original(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    verify = auth.tokens({"first": "A", "second": "B", "third": "C"})
    assert verify("first") == "A"  # no early exit after the match
    assert compared == [(b"first", b"first"), (b"first", b"second"), (b"first", b"third")]
    compared.clear()
    assert verify("nope") is None
    assert [b for _, b in compared] == [b"first", b"second", b"third"]


def test_passwords_checks_username_and_password() -> None:
    verify = auth.passwords({"alice": "pw", "bob": "ü"})
    assert verify("alice", "pw") == "alice"
    assert verify("bob", "ü") == "bob"
    assert verify("alice", "ü") is None
    assert verify("carol", "pw") is None
    assert verify("Alice", "pw") is None


def test_passwords_compares_against_a_dummy_for_unknown_users(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    original = hmac.compare_digest
    compared: list[tuple[bytes, bytes]] = []

    def spy(a: bytes, b: bytes) -> bool:
        compared.append((a, b))
        return original(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    verify = auth.passwords({"alice": "pw"})
    assert verify("alice", "pw") == "alice"
    assert verify("mallory", "pw") is None
    assert len(compared) == 2
    assert compared[0] == (b"pw", b"pw")
    assert compared[1][0] == b"pw" and compared[1][1] != b"pw" and compared[1][1]


@pytest.mark.parametrize("factory", [auth.tokens, auth.passwords])
def test_empty_secrets_are_refused(factory: Any) -> None:
    with pytest.raises(ValueError):
        factory({"": "x"} if factory is auth.tokens else {"alice": ""})


# -- permissions ----------------------------------------------------------------------------------


def allow(request: Request, resource: Resource) -> bool:
    return True


def deny_all(request: Request, resource: Resource) -> bool:
    return False


def test_permissions_that_all_pass() -> None:
    auth.check_permissions(request(), RESOURCE, [allow, allow])
    auth.check_permissions(request(), RESOURCE, [])


def test_the_first_failed_permission_is_named() -> None:
    calls: list[str] = []

    def spy(request: Request, resource: Resource) -> bool:
        calls.append("spy")
        return True

    with pytest.raises(errors.Forbidden) as info:
        auth.check_permissions(request(), RESOURCE, [spy, deny_all, allow])
    assert info.value.status == 403
    assert info.value.detail == "permission denied: deny_all"
    assert calls == ["spy"]


def test_a_permission_without_a_name_is_named_by_its_repr() -> None:
    permission = functools.partial(lambda request, resource, flag: flag, flag=False)
    with pytest.raises(errors.Forbidden) as info:
        auth.check_permissions(request(), RESOURCE, [permission])
    assert info.value.detail == f"permission denied: {permission!r}"


def test_authenticated() -> None:
    req = request()
    assert not auth.authenticated(req, RESOURCE)
    req.identity = None
    assert not auth.authenticated(req, RESOURCE)
    req.identity = "alice"
    assert auth.authenticated(req, RESOURCE)
    auth.check_permissions(req, RESOURCE, [auth.authenticated])


@pytest.mark.parametrize(
    ("method", "identity", "allowed"),
    [
        ("GET", None, True),
        ("HEAD", None, True),
        ("OPTIONS", None, True),
        ("POST", None, False),
        ("DELETE", None, False),
        ("POST", "alice", True),
    ],
)
def test_authenticated_or_read_only(method: str, identity: str | None, allowed: bool) -> None:
    req = request(method)
    req.identity = identity
    assert auth.authenticated_or_read_only(req, RESOURCE) is allowed
