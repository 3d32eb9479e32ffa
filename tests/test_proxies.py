"""Trusted proxies: the client's scheme, host and address behind reverse proxies (contract 7).

The tests call `TrustedProxies.resolve` with plain WSGI environ dicts. The site listens on
``internal:8000`` over plain HTTP; clients use ``https://api.example.com``.
"""

from __future__ import annotations

from typing import Any

import pytest

from resourcekit.headers import is_token, quote, unquote
from resourcekit.proxies import CLIENT as CLIENT_KEY
from resourcekit.proxies import Origin, TrustedProxies, client_of, parse_forwarded

PROXY = "10.0.0.1"
CLIENT = "203.0.113.7"
DIRECT = Origin("http", "internal:8000", PROXY)


def environ(remote: str = PROXY, **headers: str) -> dict[str, Any]:
    env: dict[str, Any] = {
        "wsgi.url_scheme": "http",
        "HTTP_HOST": "internal:8000",
        "SERVER_NAME": "internal",
        "SERVER_PORT": "8000",
        "REMOTE_ADDR": remote,
    }
    env.update({"HTTP_" + name.upper(): value for name, value in headers.items()})
    return env


def resolve(env: dict[str, Any], proxies: list[str] | None = None, **kwargs: Any) -> Origin:
    return TrustedProxies(proxies or [PROXY], **kwargs).resolve(env)


FORWARDED = f"for={CLIENT};proto=https;host=api.example.com"
X_FORWARDED = {
    "X_FORWARDED_FOR": CLIENT,
    "X_FORWARDED_PROTO": "https",
    "X_FORWARDED_HOST": "api.example.com",
}
THROUGH_PROXY = Origin("https", "api.example.com", CLIENT)


# -- configuration --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "proxy", ["garbage", "10.0.0.256", "10.0.0.0/33", "10.0.0.1/8", "::g", "", "localhost", 42]
)
def test_garbage_configuration_is_refused(proxy: Any) -> None:
    with pytest.raises(ValueError):
        TrustedProxies([proxy])


def test_bad_header_setting_is_refused() -> None:
    with pytest.raises(ValueError):
        TrustedProxies([PROXY], header="x-real-ip")  # type: ignore[arg-type]


def test_coerce() -> None:
    proxies = TrustedProxies([PROXY])
    assert TrustedProxies.coerce(None) is None
    assert TrustedProxies.coerce(proxies) is proxies
    assert TrustedProxies.coerce(["10.0.0.0/8", "::1"]).trusts("10.1.2.3")
    assert TrustedProxies.coerce(PROXY).trusts(PROXY)


def test_trusts_addresses_and_networks_of_both_families() -> None:
    proxies = TrustedProxies(["10.0.0.1", "192.168.0.0/16", "2001:db8::/32", " ::1 "])
    assert proxies.trusts("10.0.0.1")
    assert not proxies.trusts("10.0.0.2")
    assert proxies.trusts("192.168.44.3")
    assert proxies.trusts("2001:db8:cafe::17")
    assert not proxies.trusts("2001:db9::1")
    assert proxies.trusts("::1")
    assert proxies.trusts("::ffff:192.168.1.1")  # IPv4-mapped, from a dual-stack socket
    assert not proxies.trusts("")
    assert not proxies.trusts("unknown")
    assert not proxies.trusts(None)


# -- who may be believed --------------------------------------------------------------------------


def test_client_behind_a_trusted_proxy_with_forwarded() -> None:
    assert resolve(environ(FORWARDED=FORWARDED)) == THROUGH_PROXY


def test_client_behind_a_trusted_proxy_with_x_forwarded() -> None:
    assert resolve(environ(**X_FORWARDED)) == THROUGH_PROXY


@pytest.mark.parametrize("headers", [{"FORWARDED": FORWARDED}, X_FORWARDED])
def test_an_untrusted_peer_cannot_forge_anything(headers: dict[str, str]) -> None:
    env = environ(CLIENT, **headers)
    assert resolve(env) == Origin("http", "internal:8000", CLIENT)
    assert TrustedProxies([]).resolve(environ(PROXY, **headers)) == DIRECT


def test_trusted_peer_without_forwarding_headers() -> None:
    assert resolve(environ()) == DIRECT


def test_environ_host_without_host_header_follows_pep_3333() -> None:
    env = environ(CLIENT)
    del env["HTTP_HOST"]
    assert resolve(env).host == "internal:8000"
    env.update({"wsgi.url_scheme": "https", "SERVER_PORT": "443"})
    assert resolve(env) == Origin("https", "internal", CLIENT)
    env.update({"wsgi.url_scheme": "http", "SERVER_PORT": "80"})
    assert resolve(env).host == "internal"


def test_a_client_cannot_forge_what_is_left_of_the_proxys_element() -> None:
    # The client sent "Forwarded: for=1.2.3.4;host=evil.test"; the proxy appended its element.
    forwarded = f"for=1.2.3.4;proto=http;host=evil.test, for={CLIENT};proto=https"
    assert resolve(environ(FORWARDED=forwarded)) == Origin("https", "internal:8000", CLIENT)
    xff = {"X_FORWARDED_FOR": f"1.2.3.4, {PROXY}, {CLIENT}"}
    assert resolve(environ(**xff)).client == CLIENT


# -- Forwarded versus X-Forwarded-* ----------------------------------------------------------------


def test_forwarded_wins_over_x_forwarded() -> None:
    env = environ(
        FORWARDED=f"for={CLIENT};proto=https", **{**X_FORWARDED, "X_FORWARDED_FOR": "9.9.9.9"}
    )
    assert resolve(env) == Origin("https", "internal:8000", CLIENT)


def test_header_setting_picks_one_kind() -> None:
    env = environ(FORWARDED="for=9.9.9.9;host=evil.test", **X_FORWARDED)
    assert resolve(env, header="x-forwarded") == THROUGH_PROXY
    assert resolve(environ(**X_FORWARDED), header="forwarded") == DIRECT
    assert resolve(environ(FORWARDED=FORWARDED), header="forwarded") == THROUGH_PROXY


def test_empty_forwarded_falls_back_to_x_forwarded() -> None:
    assert resolve(environ(FORWARDED="", **X_FORWARDED)) == THROUGH_PROXY


# -- chains ---------------------------------------------------------------------------------------

PROXIES = ["10.0.0.0/8", "2001:db8:ffff::/48"]


def test_forwarded_chain_skips_trusted_hops() -> None:
    forwarded = (
        f"for={CLIENT};proto=https;host=api.example.com, "
        'for=10.0.0.9;proto=http;host=lb.internal, for="[2001:db8:ffff::2]:4711"'
    )
    # Scheme and host are the edge proxy's, which saw the client's request.
    assert resolve(environ(FORWARDED=forwarded), PROXIES) == THROUGH_PROXY


def test_forwarded_chain_stops_at_the_first_untrusted_address() -> None:
    forwarded = f"for=198.51.100.1;host=evil.test, for={CLIENT}, for=10.0.0.9"
    assert resolve(environ(FORWARDED=forwarded), PROXIES) == Origin("http", "internal:8000", CLIENT)


def test_x_forwarded_chain() -> None:
    env = environ(
        X_FORWARDED_FOR=f"198.51.100.1, {CLIENT}, 10.0.0.9 , 10.0.0.8",
        X_FORWARDED_PROTO="http, https",
        X_FORWARDED_HOST="api.example.com",
    )
    assert resolve(env, PROXIES) == THROUGH_PROXY  # the nearest proto and host


def test_every_hop_trusted_makes_the_left_most_the_client() -> None:
    env = environ(FORWARDED="for=10.0.0.5, for=10.0.0.9")
    assert resolve(env, PROXIES).client == "10.0.0.5"
    assert resolve(environ(X_FORWARDED_FOR="10.0.0.5"), PROXIES).client == "10.0.0.5"


def test_proto_and_host_without_for() -> None:
    env = environ(FORWARDED="proto=https;host=api.example.com")
    assert resolve(env) == Origin("https", "api.example.com", PROXY)
    env = environ(X_FORWARDED_PROTO="https")
    assert resolve(env) == Origin("https", "internal:8000", PROXY)


# -- addresses ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "client"),
    [
        ('"[2001:db8:cafe::17]:4711"', "2001:db8:cafe::17"),
        ('"[2001:db8:cafe::17]"', "2001:db8:cafe::17"),
        ("[2001:db8:cafe::17]", "2001:db8:cafe::17"),
        ('"2001:db8:cafe::17"', "2001:db8:cafe::17"),
        ('"203.0.113.7:47011"', CLIENT),
        ("203.0.113.7:_port", CLIENT),
        ("unknown", "unknown"),
        ('"unknown:1234"', "unknown"),
        ("_hidden", "_hidden"),
        ('"_hidden:_port"', "_hidden"),
    ],
)
def test_forwarded_node_forms(value: str, client: str) -> None:
    assert resolve(environ(FORWARDED=f"for={value}")).client == client


def test_obfuscated_or_unknown_hops_end_the_walk() -> None:
    env = environ(FORWARDED=f"for={CLIENT}, for=_hidden")
    assert resolve(env).client == "_hidden"


def test_ipv6_proxy_and_client() -> None:
    env = environ("2001:db8:ffff::1", FORWARDED='for="[2001:db8::7]:1";proto=https')
    assert resolve(env, PROXIES) == Origin("https", "internal:8000", "2001:db8::7")
    env = environ("2001:db8:ffff::1", X_FORWARDED_FOR="2001:db8::7, [2001:db8:ffff::9]:80")
    assert resolve(env, PROXIES).client == "2001:db8::7"


def test_ipv4_mapped_peer_is_trusted() -> None:
    assert resolve(environ("::ffff:10.0.0.1", FORWARDED=FORWARDED)) == THROUGH_PROXY


def test_forwarded_host_may_be_an_address_with_a_port() -> None:
    env = environ(FORWARDED='host="[2001:db8::1]:8443";proto=HTTPS')
    assert resolve(env) == Origin("https", "[2001:db8::1]:8443", PROXY)
    assert resolve(environ(FORWARDED="host=api.example.com:8443")).host == "api.example.com:8443"


# -- malformed values -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "forwarded",
    [
        "for=1.2.3.4 proto=https",  # pairs without ";"
        "garbage",
        "for=",
        'for="1.2.3.4',  # unterminated quote
        "for = 1.2.3.4",
        "for=1.2.3.4;for=5.6.7.8",  # a parameter twice in one element
    ],
)
def test_malformed_forwarded_is_ignored(forwarded: str) -> None:
    assert resolve(environ(FORWARDED=forwarded, **X_FORWARDED)) == DIRECT


@pytest.mark.parametrize("proto", ["ftp", "javascript", "https:", "", "HTTPS x"])
def test_invalid_proto_is_ignored(proto: str) -> None:
    assert resolve(environ(FORWARDED=f'for={CLIENT};proto="{proto}"')).scheme == "http"
    assert resolve(environ(X_FORWARDED_FOR=CLIENT, X_FORWARDED_PROTO=proto)).scheme == "http"


@pytest.mark.parametrize(
    "host",
    [
        "evil.test/path",
        "user@evil.test",
        "evil test",
        "evil.test:99999",
        "evil.test:",
        "[not-ipv6]",
        "evil.test\r\nX: y",
        "a" * 300,
    ],
)
def test_invalid_host_is_ignored(host: str) -> None:
    quoted = host.replace("\\", "\\\\").replace('"', '\\"')
    assert resolve(environ(FORWARDED=f'for={CLIENT};host="{quoted}"')).host == "internal:8000"
    assert resolve(environ(X_FORWARDED_FOR=CLIENT, X_FORWARDED_HOST=host)).host == "internal:8000"


@pytest.mark.parametrize(
    "value", ["not-an-address", "1.2.3.4.5", '"[::1"', "[1.2.3.4]", "1.2.3.4:x"]
)
def test_invalid_for_keeps_the_last_known_address(value: str) -> None:
    env = environ(FORWARDED=f"for={value};proto=https")
    assert resolve(env) == Origin("https", "internal:8000", PROXY)
    assert resolve(environ(X_FORWARDED_FOR=f"{CLIENT}, {value}")).client == PROXY


def test_untrusted_remote_addr_that_is_garbage_is_kept() -> None:
    assert resolve(environ("", FORWARDED=FORWARDED)) == Origin("http", "internal:8000", "")


# -- the parser -----------------------------------------------------------------------------------


def test_parse_forwarded() -> None:
    assert parse_forwarded('For="[2001:db8:cafe::17]:4711";by=_b, , for=192.0.2.43;;') == [
        {"for": "[2001:db8:cafe::17]:4711", "by": "_b"},
        {"for": "192.0.2.43"},
    ]
    assert parse_forwarded(r'for="a\"b;c,d"') == [{"for": 'a"b;c,d'}]
    assert parse_forwarded("") == []
    assert parse_forwarded("for=a,") == [{"for": "a"}]
    assert parse_forwarded("for=a proto=b") is None


def test_client_of_prefers_the_resolved_client_to_the_peer() -> None:
    assert client_of({"REMOTE_ADDR": "10.0.0.1", CLIENT_KEY: "198.51.100.7"}) == "198.51.100.7"
    assert client_of({"REMOTE_ADDR": "10.0.0.1"}) == "10.0.0.1"
    assert client_of({"REMOTE_ADDR": "10.0.0.1", CLIENT_KEY: ""}) == "10.0.0.1"
    assert client_of({}) == ""


@pytest.mark.parametrize("value", ["", "plain", 'say "hi"', "back\\slash", "tab\there", "ü"])
def test_quoted_strings_round_trip(value: str) -> None:
    quoted = quote(value)
    assert quoted[0] == quoted[-1] == '"'
    assert unquote(quoted[1:-1]) == value
    assert parse_forwarded(f"for=_x;host={quoted}") == [{"for": "_x", "host": value}]


@pytest.mark.parametrize("value", ["new\nline", "nul\x00", "del\x7f"])
def test_quoted_strings_refuse_control_characters(value: str) -> None:
    with pytest.raises(ValueError, match="control characters"):
        quote(value)


def test_tokens() -> None:
    assert is_token("X-API-Key") and is_token("!#$%&'*+-.^_`|~09aZ")
    assert not any(is_token(v) for v in ("", "a b", "a:b", "a,b", "é", 'a"'))


@pytest.mark.parametrize(("extra", "host"), [
    ({"X_FORWARDED_PORT": "8443"}, "api.example.com:8443"),
    ({"X_FORWARDED_PORT": "443"}, "api.example.com"),  # the scheme's own: not written
    ({"X_FORWARDED_PORT": "99999"}, "api.example.com"),  # not a port: ignored
    ({"X_FORWARDED_PORT": "x"}, "api.example.com"),
    ({"X_FORWARDED_PORT": "80, 8443"}, "api.example.com:8443"),  # the nearest proxy's
    ({"X_FORWARDED_PORT": "8443", "X_FORWARDED_HOST": "api.example.com:9000"},
     "api.example.com:8443"),
])
def test_x_forwarded_port_is_the_port_of_the_clients_url(extra: dict[str, str], host: str) -> None:
    assert resolve(environ(**{**X_FORWARDED, **extra})).host == host


def test_x_forwarded_port_replaces_the_port_of_the_proxys_host() -> None:
    found = resolve(environ(X_FORWARDED_FOR=CLIENT, X_FORWARDED_PORT="8443"))
    assert found.host == "internal:8443"


@pytest.mark.parametrize(("prefix", "kept"), [
    ("/api", "/api"), ("/api/v1/", "/api/v1"), ("/", ""),
    ("api", ""), ("/a/../b", ""), ("/a/./b", ""), ("/a?b", ""), ("/a b", ""), ("/a%2e", ""),
    ("/a\\b", ""), ("//evil.example", ""), ("/a//b", ""),
])
def test_x_forwarded_prefix_is_where_the_site_is_mounted(prefix: str, kept: str) -> None:
    assert resolve(environ(**X_FORWARDED, X_FORWARDED_PREFIX=prefix)).prefix == kept
    assert resolve(environ(CLIENT, **X_FORWARDED, X_FORWARDED_PREFIX=prefix)).prefix == ""


def test_a_trusted_proxys_port_and_prefix_reach_the_sites_links() -> None:
    from resourcekit import Resource, Site
    from resourcekit.testing import Client

    site = Site(title="Behind", trusted_proxies=[PROXY])

    @site.route("/here")
    class Here(Resource):
        def get(self, request: Any) -> dict[str, str]:
            return {"url": request.url_for(Here)}

    headers = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "api.example.com",
               "X-Forwarded-Port": "8443", "X-Forwarded-Prefix": "/edge",
               "X-Forwarded-For": CLIENT}
    answer = Client(site).get("/here", headers=headers, environ={"REMOTE_ADDR": PROXY})
    assert answer.json == {"url": "https://api.example.com:8443/edge/here"}
    spoofed = Client(site).get("/here", headers=headers, environ={"REMOTE_ADDR": CLIENT})
    assert spoofed.json["url"] == "http://localhost/here"
