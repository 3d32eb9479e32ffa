"""CORS: origin matching, preflight answers, response headers and Vary (contract 7).

The tests call `CORS` with plain WSGI environ dicts; the site only adds the headers it returns.
"""

from __future__ import annotations

from typing import Any

import pytest

from resourcekit.cors import CORS, is_preflight

APP = "https://app.example.com"
METHODS = ("GET", "HEAD", "POST", "DELETE")
PREFLIGHT_VARY = ("Vary", "Origin, Access-Control-Request-Method, Access-Control-Request-Headers")
EXPOSE = (
    "ETag, Location, Link, Retry-After, RateLimit, RateLimit-Policy, Preference-Applied, "
    "Idempotent-Replayed, WWW-Authenticate"
)


def environ(
    method: str = "GET",
    origin: str | None = APP,
    request_method: str | None = None,
    request_headers: str | None = None,
) -> dict[str, Any]:
    env: dict[str, Any] = {"REQUEST_METHOD": method}
    if origin is not None:
        env["HTTP_ORIGIN"] = origin
    if request_method is not None:
        env["HTTP_ACCESS_CONTROL_REQUEST_METHOD"] = request_method
    if request_headers is not None:
        env["HTTP_ACCESS_CONTROL_REQUEST_HEADERS"] = request_headers
    return env


def preflight(origin: str | None = APP, method: str = "POST", headers: str | None = None) -> dict:
    return environ("OPTIONS", origin, method, headers)


# -- configuration --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "origin",
    [
        "https://app.example.com/",
        "https://app.example.com/path",
        "https://app.example.com?q",
        "https://user@app.example.com",
        "app.example.com",
        "https://",
        "https://app.example.com:99999",
        "https://[nonsense]",
        "https://exa mple.com",
        "*.example.com",
        "",
    ],
)
def test_garbage_origins_are_refused(origin: str) -> None:
    with pytest.raises(ValueError):
        CORS([origin])


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"max_age": -1}, "max_age"),
        ({"max_age": "600"}, "max_age"),
        ({"allow_headers": ["X Bad"]}, "header"),
        ({"expose_headers": "ETag"}, "header"),
    ],
)
def test_bad_settings_are_refused(kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        CORS([APP], **kwargs)


def test_no_origins_is_refused() -> None:
    with pytest.raises(ValueError):
        CORS([])


def test_origins_are_normalized() -> None:
    cors = CORS(["HTTPS://App.Example.COM:443", "http://localhost:8080", "http://[::1]:80", "null"])
    assert cors.origins == {
        "https://app.example.com",
        "http://localhost:8080",
        "http://[::1]",
        "null",
    }


def test_coerce() -> None:
    cors = CORS([APP])
    assert CORS.coerce(None) is None
    assert CORS.coerce(cors) is cors
    assert CORS.coerce([APP, "http://b.test"]).origins == {APP, "http://b.test"}
    assert CORS.coerce(APP).origins == {APP}


# -- preflight detection --------------------------------------------------------------------------


def test_is_preflight() -> None:
    assert is_preflight(preflight())
    assert CORS.is_preflight(preflight())
    assert not is_preflight(environ("OPTIONS"))  # no Access-Control-Request-Method
    assert not is_preflight(environ("OPTIONS", origin=None, request_method="POST"))
    assert not is_preflight(environ("OPTIONS", origin="", request_method="POST"))
    assert not is_preflight(environ("GET", request_method="POST"))


# -- actual responses -----------------------------------------------------------------------------


def test_allowed_origin_gets_it_echoed_with_exposed_headers_and_vary() -> None:
    assert CORS([APP]).response_headers(environ()) == [
        ("Access-Control-Allow-Origin", APP),
        ("Access-Control-Expose-Headers", EXPOSE),
        ("Vary", "Origin"),
    ]


def test_any_origin_of_the_list_matches() -> None:
    cors = CORS(["https://a.test", "https://b.test:8443", "http://c.test"])
    for origin in ("https://a.test", "https://b.test:8443", "http://c.test"):
        allowed = ("Access-Control-Allow-Origin", origin)
        assert allowed in cors.response_headers(environ(origin=origin))
    for origin in ("https://b.test", "https://c.test", "http://a.test", "https://a.test.evil"):
        assert cors.response_headers(environ(origin=origin)) == [("Vary", "Origin")]


def test_matching_ignores_case_of_scheme_and_host_and_echoes_as_sent() -> None:
    cors = CORS(["https://App.Example.com"])
    headers = cors.response_headers(environ(origin="HTTPS://APP.example.COM"))
    assert headers[0] == ("Access-Control-Allow-Origin", "HTTPS://APP.example.COM")


def test_default_port_in_the_configuration_matches_the_browser_form() -> None:
    cors = CORS(["https://app.example.com:443"])
    assert cors.allows(APP)
    assert not cors.allows("https://app.example.com:8443")


@pytest.mark.parametrize("origin", [None, "", "https://evil.test", "null"])
def test_no_or_disallowed_origin_gets_only_vary(origin: str | None) -> None:
    assert CORS([APP]).response_headers(environ(origin=origin)) == [("Vary", "Origin")]


def test_credentials() -> None:
    cors = CORS([APP], allow_credentials=True)
    assert cors.response_headers(environ()) == [
        ("Access-Control-Allow-Origin", APP),
        ("Access-Control-Allow-Credentials", "true"),
        ("Access-Control-Expose-Headers", EXPOSE),
        ("Vary", "Origin"),
    ]
    assert cors.response_headers(environ(origin="https://evil.test")) == [("Vary", "Origin")]


def test_no_expose_headers() -> None:
    assert CORS([APP], expose_headers=()).response_headers(environ()) == [
        ("Access-Control-Allow-Origin", APP),
        ("Vary", "Origin"),
    ]


@pytest.mark.parametrize("origin", [APP, "http://anything.test:1234", "null", None])
def test_star_without_credentials_is_public_and_needs_no_vary(origin: str | None) -> None:
    assert CORS(["*"]).response_headers(environ(origin=origin)) == [
        ("Access-Control-Allow-Origin", "*"),
        ("Access-Control-Expose-Headers", EXPOSE),
    ]


def test_star_with_credentials_is_refused_at_start() -> None:
    with pytest.raises(ValueError, match="list the origins"):
        CORS(["*"], allow_credentials=True)
    with pytest.raises(ValueError, match="list the origins"):
        CORS([APP, "*"], allow_credentials=True)
    with pytest.raises(ValueError, match="list the origins"):
        CORS("*", allow_credentials=True)


def test_null_only_when_listed() -> None:
    assert not CORS([APP]).allows("null")
    assert CORS(["*"]).allows("null")
    cors = CORS(["null"], allow_credentials=True)
    headers = cors.response_headers(environ(origin="null"))
    assert headers[0] == ("Access-Control-Allow-Origin", "null")


def test_returned_lists_are_fresh() -> None:
    cors = CORS(["*"])
    cors.response_headers(environ()).append(("X", "y"))
    assert ("X", "y") not in cors.response_headers(environ())
    strict = CORS([APP])
    strict.response_headers(environ(origin=None)).append(("X", "y"))
    assert strict.response_headers(environ(origin=None)) == [("Vary", "Origin")]


# -- preflight ------------------------------------------------------------------------------------


def test_allowed_preflight() -> None:
    headers = CORS([APP]).preflight_headers(
        preflight(headers="content-type,if-match"), ["GET", "POST"]
    )
    assert headers == [
        ("Access-Control-Allow-Origin", APP),
        ("Access-Control-Allow-Methods", "GET, POST"),
        ("Access-Control-Allow-Headers", "content-type, if-match"),
        ("Access-Control-Max-Age", "600"),
        PREFLIGHT_VARY,
    ]


def test_preflight_without_requested_headers_has_no_allow_headers() -> None:
    headers = dict(CORS([APP]).preflight_headers(preflight(method="DELETE"), METHODS))
    assert "Access-Control-Allow-Headers" not in headers
    assert headers["Access-Control-Allow-Methods"] == "GET, HEAD, POST, DELETE"


def test_preflight_requested_headers_are_case_insensitive_and_trimmed() -> None:
    env = preflight(headers=" Authorization ,IDEMPOTENCY-KEY,, prefer")
    headers = dict(CORS([APP]).preflight_headers(env, METHODS))
    assert headers["Access-Control-Allow-Headers"] == "authorization, idempotency-key, prefer"


def test_preflight_safelisted_headers_are_always_allowed() -> None:
    env = preflight(headers="accept, accept-language, content-language")
    headers = dict(CORS([APP], allow_headers=()).preflight_headers(env, METHODS))
    assert headers["Access-Control-Allow-Headers"] == "accept, accept-language, content-language"


def test_preflight_with_custom_allow_headers() -> None:
    cors = CORS([APP], allow_headers=["X-Trace"])
    assert dict(cors.preflight_headers(preflight(headers="x-trace"), METHODS))
    assert cors.preflight_headers(preflight(headers="authorization"), METHODS) == [PREFLIGHT_VARY]


def test_preflight_max_age_and_credentials() -> None:
    cors = CORS([APP], allow_credentials=True, max_age=0)
    headers = cors.preflight_headers(preflight(), METHODS)
    assert ("Access-Control-Max-Age", "0") in headers
    assert ("Access-Control-Allow-Credentials", "true") in headers
    assert ("Access-Control-Allow-Credentials", "true") not in CORS([APP]).preflight_headers(
        preflight(), METHODS
    )


@pytest.mark.parametrize(
    "env",
    [
        preflight(origin="https://evil.test"),
        preflight(origin="null"),
        preflight(method="PUT"),  # not one of the resource's methods
        preflight(method="post"),  # methods are case-sensitive
        preflight(headers="content-type, x-evil"),  # one header not allowed
    ],
    ids=["origin", "null", "method", "method-case", "header"],
)
def test_refused_preflight_gets_only_vary(env: dict[str, Any]) -> None:
    assert CORS([APP]).preflight_headers(env, METHODS) == [PREFLIGHT_VARY]


def test_preflight_with_star() -> None:
    headers = CORS(["*"]).preflight_headers(preflight(origin="https://x.test"), METHODS)
    assert headers[0] == ("Access-Control-Allow-Origin", "*")
    assert headers[-1] == PREFLIGHT_VARY


def test_vary_is_one_field_with_every_name() -> None:
    """A client reading headers as a mapping sees one ``Vary``: the negotiation's, the
    coding's and the origin's together."""
    from resourcekit import CORS, Resource, Site
    from resourcekit.testing import Client

    site = Site(title="Varied", cors=CORS(origins=["https://app.example"]), compression=True)

    @site.route("/big")
    class Big(Resource):
        def get(self, request: object) -> dict[str, str]:
            return {"text": "x" * 4000}

    for origin in ("https://app.example", "https://other.example"):
        answer = Client(site).get("/big", headers={"Origin": origin, "Accept-Encoding": "gzip"})
        fields = [v for k, v in answer.headerlist if k == "Vary"]
        assert fields == ["Accept, Accept-Encoding, Origin"], fields
