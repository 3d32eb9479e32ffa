"""Request smuggling and malformed header fields, under each server `resourcekit serve` starts.

The server parses the request head and the body's framing; the site only sees the result. So
each attack is sent as raw bytes to waitress (with resourcekit's parser), granian and gunicorn,
as `resourcekit.serving.serve` starts them, and what each answers is pinned down. Whatever the
server, no attack may smuggle a second request (the ``/smuggled`` answer never comes back), none
is a 5xx but the ``501`` for a transfer coding waitress does not know, and a refusal closes the
connection. What differs, and what a server cannot do, is listed in docs/guide/deploying.md.
"""

from __future__ import annotations

import gzip
import re
import socket
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from conftest import _forked, server_params
from marshmallow import Schema, fields

from resourcekit import Created, Resource, Site

SMUGGLED = b'{"smuggled":true}'
NEXT = b"GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n"


class Body(Schema):
    n = fields.Int(required=True)


def _site() -> Site:
    site = Site(title="Headers")

    @site.route("/echo")
    class Echo(Resource):
        schema = Body

        def get(self, request):
            return {"x": request.headers.get("X-Any")}

        def post(self, request):
            return Created(request.validated, location="/echo")

    @site.route("/smuggled")
    class Smuggled(Resource):
        def get(self, request):
            return {"smuggled": True}

    return site


@pytest.fixture(scope="module", params=server_params())
def server(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture(scope="module")
def base(server: str) -> Iterator[str]:
    with _forked(_site(), 4, server) as base_url:
        yield base_url


def _raw(base_url: str, data: bytes) -> bytes:
    """Send ``data`` as it is; everything answered until the server closes (or 3 s pass)."""
    url = urlsplit(base_url)
    answer = b""
    with socket.create_connection((url.hostname, url.port), timeout=3) as sock:
        sock.sendall(data)
        try:
            while chunk := sock.recv(65536):
                answer += chunk
        except TimeoutError:
            answer += b"<open>"
        except ConnectionResetError:
            pass
    return answer


def _statuses(answer: bytes) -> list[int]:
    return [int(status) for status in re.findall(rb"HTTP/1\.[01] (\d{3}) ", answer)]


def _post(*fields: bytes, body: bytes = b"") -> bytes:
    head = [b"POST /echo HTTP/1.1", b"Host: x", b"Content-Type: application/json", *fields]
    return b"\r\n".join(head) + b"\r\n\r\n" + body


SMUGGLING = {
    # Content-Length and Transfer-Encoding together: refused, or the chunked body read and the
    # connection closed (RFC 9112 6.1).
    "CL.TE": (_post(b"Content-Length: 5", b"Transfer-Encoding: chunked", body=b"0\r\n\r\n"),
              {"waitress": 400, "granian": 400, "gunicorn": 400}),
    "TE.CL": (_post(b"Transfer-Encoding: chunked", b"Content-Length: 4",
                    body=b"9\r\n{\"n\": 1}\r\n0\r\n\r\n"),
              {"waitress": 400, "granian": 201, "gunicorn": 400}),
    "two Content-Length": (_post(b"Content-Length: 2", b"Content-Length: 40", body=b"{}"),
                           {"waitress": 400, "granian": 400, "gunicorn": 400}),
    "Content-Length list": (_post(b"Content-Length: 2, 40", body=b"{}"),
                            {"waitress": 400, "granian": 400, "gunicorn": 400}),
    "Content-Length +2": (_post(b"Content-Length: +2", body=b"{}"),
                          {"waitress": 400, "granian": 400, "gunicorn": 400}),
    "unknown coding": (_post(b"Transfer-Encoding: xchunked", b"Content-Length: 2", body=b"{}"),
                       {"waitress": 501, "granian": 400, "gunicorn": 501}),
    "chunked, identity": (_post(b"Transfer-Encoding: chunked, identity", body=b"0\r\n\r\n"),
                          {"waitress": 501, "granian": 400, "gunicorn": 400}),
    "space before colon": (_post(b"Transfer-Encoding : chunked", b"Content-Length: 2",
                                 body=b"{}"),
                           {"waitress": 400, "granian": 400, "gunicorn": 400}),
    "folded coding": (_post(b"Transfer-Encoding:", b" chunked", b"Content-Length: 2", body=b"{}"),
                      {"waitress": 400, "granian": 400, "gunicorn": 400}),
    "negative chunk size": (_post(b"Transfer-Encoding: chunked", body=b"-1\r\n\r\n"),
                            {"waitress": 400, "granian": 400, "gunicorn": 400}),
}


@pytest.mark.parametrize(("data", "expected"), SMUGGLING.values(), ids=SMUGGLING.keys())
def test_no_request_is_smuggled_after_a_hostile_body_framing(server, base, data, expected):
    answer = _raw(base, data + NEXT)
    assert SMUGGLED not in answer, answer[-300:]
    assert b"<open>" not in answer  # answered, then closed: nothing after it is read as a request
    assert _statuses(answer) == [expected[server]], answer[:300]


def test_a_transfer_coding_other_than_chunked_is_never_read_as_the_body(server, base):
    """waitress knows chunked only (501); granian and gunicorn hand the site the gzip-coded
    bytes undecoded, which are no JSON: 400, never a body read as something it is not."""
    coded = gzip.compress(b'{"n": 1}')
    body = b"%x\r\n%s\r\n0\r\n\r\n" % (len(coded), coded)
    answer = _raw(base, _post(b"Transfer-Encoding: gzip, chunked", b"Connection: close",
                              body=body))  # fmt: skip
    assert _statuses(answer) == [501 if server == "waitress" else 400], answer[:300]


def test_an_endless_chunk_extension_is_no_500(server, base):
    """100 KB of chunk extension: valid syntax, which waitress reads (the body is then ``{}``:
    422); granian and gunicorn refuse the line (gunicorn's error, raised as the site reads the
    body, is a 400 problem: `resourcekit.servers.gunicorn`)."""
    body = b"2;" + b"a" * 100_000 + b"\r\n{}\r\n0\r\n\r\n"
    answer = _raw(base, _post(b"Transfer-Encoding: chunked", b"Connection: close", body=body))
    assert _statuses(answer) == [422 if server == "waitress" else 400], answer[:300]


def _get(*fields: bytes, target: bytes = b"/echo") -> bytes:
    head = [b"GET " + target + b" HTTP/1.1", b"Host: x", *fields, b"Connection: close"]
    return b"\r\n".join(head) + b"\r\n\r\n"


MALFORMED = {
    "obs-fold": _get(b"X-Any: a", b" b"),
    "NUL in a value": _get(b"X-Any: a\x00b"),
    "CR in a value": _get(b"X-Any: a\rb"),
    "space before colon": _get(b"X-Any : a"),
    "two Host": b"GET /echo HTTP/1.1\r\nHost: a.example\r\nHost: b.example\r\n\r\n",
    "markup in Host": b'GET /echo HTTP/1.1\r\nHost: e"><script>\r\nConnection: close\r\n\r\n',
    "two ports in Host": b"GET /echo HTTP/1.1\r\nHost: a.example:1:2\r\nConnection: close\r\n\r\n",
}


@pytest.mark.parametrize("data", MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_header_fields_are_400(base, data):
    answer = _raw(base, data)
    assert _statuses(answer) == [400], answer[:300]
    assert b"<script>" not in answer


OVERSIZED = {
    "300 KB field": _get(b"X-Any: " + b"x" * 300_000),
    "2000 fields": _get(*(b"X-%d: 1" % i for i in range(2000))),
    "300 KB path": _get(target=b"/echo/" + b"a/" * 150_000),
}


@pytest.mark.parametrize("data", OVERSIZED.values(), ids=OVERSIZED.keys())
def test_oversized_heads_are_refused(base, data):
    answer = _raw(base, data)
    assert _statuses(answer)[0] in (400, 414, 431), answer[:300]


def test_a_well_formed_pipelined_request_is_still_answered(base):
    """The control: the same bytes after an honest body are the next request, answered."""
    answer = _raw(base, _post(b"Content-Length: 8", body=b'{"n": 1}') + NEXT[:-2]
                  + b"Connection: close\r\n\r\n")  # fmt: skip
    assert _statuses(answer) == [201, 200] and SMUGGLED in answer
