"""The ``Host`` header: its syntax checked, and ``Site(allowed_hosts=...)``, before any link.

A hostile ``Host`` used to flow into ``Location``, ``Link`` and body links (``e"><script>``,
empty and doubled hosts were all accepted).
"""

from __future__ import annotations

import json
import socket
from urllib.parse import urlsplit

import pytest
from conftest import served, server_params
from helpers import TIMEOUT, assert_problem

from resourcekit import Created, Page, Resource, Site
from resourcekit.hosts import MAX_HOST_LENGTH, AllowedHosts, host_name
from resourcekit.testing import Client

BAD_HOSTS = [
    "",
    'e"><script>alert(1)</script>',
    "a.example, b.example",  # two Host fields, as a server joins them
    "a.example b.example",
    "user@a.example",
    "a.example/path",
    "a.example:",
    "a.example:99999",
    "a.example:80:80",
    "a..example",
    ".a.example",
    "[::1",
    "[not:an:address]",
    "[127.0.0.1]",
    "a.example\\x",
    "x" * (MAX_HOST_LENGTH + 1),
    "%61.example",
]


def _site(**options: object) -> Site:
    site = Site(title="Hosts", **options)  # type: ignore[arg-type]

    @site.route("/items")
    class Items(Resource):
        def get(self, request):
            return Page([{"n": 1}], limit=1, offset=0, total=3)

        def post(self, request):
            return Created({"n": 2}, location=request.url_for(Item, n=2))

    @site.route("/items/{n:int}")
    class Item(Resource):
        def get(self, request, n):
            return {"n": n, "self": request.url_for(Item, n=n)}

    return site


# -- syntax --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "name"),
    [
        ("api.example.com", "api.example.com"),
        ("API.Example.COM:8443", "api.example.com"),
        ("api.example.com.", "api.example.com"),
        ("127.0.0.1:8080", "127.0.0.1"),
        ("[::1]:8080", "[::1]"),
        ("[2001:DB8::1]", "[2001:db8::1]"),
        ("localhost", "localhost"),
        ("internal_name", "internal_name"),
    ],
)
def test_valid_hosts_give_their_name(value: str, name: str) -> None:
    assert host_name(value) == name


@pytest.mark.parametrize("value", BAD_HOSTS[:-2])
def test_invalid_hosts_have_no_name(value: str) -> None:
    assert host_name(value) is None


@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.parametrize("host", BAD_HOSTS)
def test_an_invalid_host_is_400_and_no_link_carries_it(host: str, method: str) -> None:
    response = Client(_site()).request(method, "/items", headers={"Host": host})
    problem = assert_problem(response, 400)
    assert "Host" in problem["detail"]
    assert "Location" not in response.headers and "Link" not in response.headers
    if host:
        assert host.encode() not in response.body


def test_an_invalid_host_is_400_in_html_too() -> None:
    host = 'e"><script>alert(1)</script>'
    response = Client(_site()).get("/items", headers={"Host": host, "Accept": "text/html"})
    assert response.status_code == 400
    assert b"<script>alert(1)" not in response.body


def test_valid_hosts_build_the_links() -> None:
    client = Client(_site())
    created = client.post("/items", headers={"Host": "API.example.com:8443"})
    assert created.status_code == 201
    assert created.headers["Location"] == "http://API.example.com:8443/items/2"
    page = client.get("/items", headers={"Host": "[::1]:8080"})
    assert "<http://[::1]:8080/items?" in page.headers["Link"]


def test_a_request_without_host_names_the_server() -> None:
    site = _site()
    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": "/items/1",
        "SERVER_NAME": "api.internal",
        "SERVER_PORT": "8080",
        "SERVER_PROTOCOL": "HTTP/1.0",
        "wsgi.url_scheme": "http",
        "wsgi.input": None,
    }
    statuses = []
    body = b"".join(site(environ, lambda status, headers: statuses.append(status)))
    assert statuses == ["200 OK"]
    assert json.loads(body)["self"] == "http://api.internal:8080/items/1"


# -- allowed hosts -------------------------------------------------------------------------------


def test_allowed_hosts_answer_their_names_only() -> None:
    client = Client(_site(allowed_hosts=["api.example.com", ".example.org", "127.0.0.1"]))
    for host in [
        "api.example.com",
        "API.EXAMPLE.COM:8443",
        "example.org",
        "a.b.example.org",
        "127.0.0.1:8080",
        "api.example.com.",
    ]:
        response = client.post("/items", headers={"Host": host})
        assert response.status_code == 201, host
        assert response.headers["Location"].startswith(f"http://{host}/")
    for host in [
        "evil.example",
        "api.example.com.evil.example",
        "notexample.org",
        "example.org.evil",
        "127.0.0.2",
        "localhost",
    ]:
        response = client.post("/items", headers={"Host": host})
        problem = assert_problem(response, 400)
        assert problem["detail"] == "this server does not answer to that Host"
        assert host.encode() not in response.body and "Location" not in response.headers


def test_a_star_allows_any_valid_host() -> None:
    client = Client(_site(allowed_hosts=["*"]))
    assert client.get("/items", headers={"Host": "anything.example"}).status_code == 200
    assert client.get("/items", headers={"Host": "bad host"}).status_code == 400


def test_forwarded_hosts_are_checked_too() -> None:
    site = _site(allowed_hosts=["api.example.com"], trusted_proxies=["10.0.0.1"])
    client = Client(site)
    proxy = {"REMOTE_ADDR": "10.0.0.1"}
    ok = client.post(
        "/items",
        environ=proxy,
        headers={
            "Host": "backend:8000",
            "X-Forwarded-Host": "api.example.com",
            "X-Forwarded-Proto": "https",
        },
    )
    assert ok.headers["Location"] == "https://api.example.com/items/2"
    foreign = client.post(
        "/items",
        environ=proxy,
        headers={"Host": "api.example.com", "X-Forwarded-Host": "evil.example"},
    )
    assert foreign.status_code == 400


@pytest.mark.parametrize(
    "names", [[], ["https://api.example.com"], ["api.example.com:443"], ["bad host"], [42], ["..x"]]
)
def test_allowed_hosts_are_checked_at_start(names: list) -> None:
    with pytest.raises(ValueError, match="host"):
        Site(allowed_hosts=names)


def test_allowed_hosts_coerce() -> None:
    hosts = AllowedHosts("api.example.com")
    assert Site(allowed_hosts=hosts).allowed_hosts is hosts
    assert hosts.names == frozenset({"api.example.com"})
    assert Site().allowed_hosts is None


# -- over real HTTP ------------------------------------------------------------------------------


def _raw(base_url: str, head: bytes) -> tuple[int, bytes]:
    """Send a request head exactly as given; the status and the whole answer."""
    url = urlsplit(base_url)
    with socket.create_connection((url.hostname, url.port), timeout=TIMEOUT) as sock:
        sock.sendall(head)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return int(answer.split(b" ", 2)[1]), answer


@pytest.mark.parametrize(
    "host_lines",
    [
        b'Host: e"><script>\r\n',
        b"Host:\r\n",
        b"Host: a.example\r\nHost: b.example\r\n",
        b"Host: a.example:1:2\r\n",
    ],
    ids=["markup", "empty", "doubled", "two-ports"],
)
def test_hostile_hosts_over_http_are_400(host_lines: bytes) -> None:
    with served(_site()) as base_url:
        head = (
            b"POST /items HTTP/1.1\r\n"
            + host_lines
            + b"Content-Length: 0\r\nConnection: close\r\n\r\n"
        )
        status, answer = _raw(base_url, head)
        assert status == 400
        assert b"Location:" not in answer and b"<script>" not in answer
        good = b"Host: api.example\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        status, answer = _raw(base_url, b"POST /items HTTP/1.1\r\n" + good)
        assert status == 201 and b"Location: http://api.example/items/2" in answer


@pytest.mark.parametrize("server", server_params())
def test_http11_without_host_is_400_and_http10_is_served(server: str) -> None:
    """RFC 9112 section 3.2: an HTTP/1.1 request lacking ``Host`` is answered ``400``, by the
    site whatever server is in front; HTTP/1.0 needs no ``Host``, but granian hands a missing
    one on as empty, which no ``http`` URI has (documented in the deploying guide)."""
    with served(_site(), server=server) as base_url:
        status, answer = _raw(base_url, b"GET /items/1 HTTP/1.1\r\nConnection: close\r\n\r\n")
        assert status == 400
        assert b"Host" in answer
        status, answer = _raw(base_url, b"GET /items/1 HTTP/1.0\r\n\r\n")
        assert status == (400 if server == "granian" else 200)
