"""The Notes API over real HTTP: each server on a loopback port, read with http.client."""

from __future__ import annotations

import contextlib
import http.client
import json
import socket
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from conftest import served, server_params
from helpers import (
    NOTE_XML,
    TIMEOUT,
    Reply,
    http_request,
    notes_site,
    send_raw,
    xml_problem,
    xml_tree,
)

from resourcekit import Site

MiB = 1024 * 1024
JSON = {"Content-Type": "application/json"}
XML = {"Content-Type": "application/xml"}


@pytest.fixture(scope="module", params=server_params())
def server(request: pytest.FixtureRequest) -> Iterator[tuple[str, Site]]:
    site = notes_site()
    with served(site, server=request.param) as base_url:
        yield base_url, site


@pytest.fixture
def base(server) -> str:
    return server[0]


def call(base: str, method: str, path: str, body: bytes | None = None, **headers: str) -> Reply:
    """``call(base, "GET", "/notes", Accept="text/xml")``: underscores in names become dashes."""
    headers = {name.replace("_", "-"): value for name, value in headers.items()}
    return http_request(base, method, path, body, headers)


def create(base: str, note: dict) -> str:
    """POST a note as JSON; the path of the new note."""
    response = http_request(base, "POST", "/notes", json.dumps(note).encode(), JSON)
    assert response.status_code == 201, response.body
    return urlsplit(response.headers["Location"]).path


def problem_of(response: Reply, status: int, media_type: str = "application/problem+json"):
    assert response.status_code == status, response.body
    assert response.headers["Content-Type"].split(";")[0] == media_type
    assert "Accept" in response.headers["Vary"]
    assert int(response.headers["Content-Length"]) == len(response.body)
    problem = response.json if media_type.endswith("json") else xml_problem(response.body)
    assert problem["status"] == status
    assert problem["type"] == "about:blank"
    assert problem["title"] and problem["detail"]
    return problem


def test_post_json_then_get_json_and_xml(base: str) -> None:
    response = call(base, "POST", "/notes", b'{"title": "Buy milk", "tags": ["home"]}', **JSON)
    assert response.status_code == 201
    assert response.reason == "Created"
    location = response.headers["Location"]
    assert location.startswith(f"{base}/notes/")
    note = response.json
    assert note == {
        "id": int(location.rsplit("/", 1)[1]),
        "title": "Buy milk",
        "done": False,
        "tags": ["home"],
    }
    path = urlsplit(location).path
    as_json = call(base, "GET", path, Accept="application/json")
    assert as_json.status_code == 200
    assert as_json.headers["Content-Type"].split(";")[0] == "application/json"
    assert as_json.headers["Vary"] == "Accept"
    assert as_json.json == note
    as_xml = call(base, "GET", path, Accept="application/xml")
    assert as_xml.headers["Content-Type"].split(";")[0] == "application/xml"
    root = xml_tree(as_xml.body)
    assert root.tag == "note"
    assert root.findtext("title") == "Buy milk"
    assert [item.text for item in root.find("tags")] == ["home"]


def test_post_xml_reads_back_like_json(base: str) -> None:
    response = call(base, "POST", "/notes", NOTE_XML, **XML, Accept="application/xml")
    assert response.status_code == 201, response.body
    assert response.headers["Content-Type"].split(";")[0] == "application/xml"
    path = urlsplit(response.headers["Location"]).path
    note = call(base, "GET", path).json
    assert note == {"id": note["id"], "title": "Buy milk", "done": True, "tags": ["home"]}
    text_xml = call(base, "GET", path, Accept="text/xml")
    assert text_xml.headers["Content-Type"].split(";")[0] == "text/xml"


@pytest.mark.parametrize("accept", ["application/json", "application/xml"])
def test_head_matches_get(base: str, accept: str) -> None:
    path = create(base, {"title": "Head", "tags": ["a", "b"]})
    for target in (path, "/notes"):
        get = call(base, "GET", target, Accept=accept)
        head = call(base, "HEAD", target, Accept=accept)
        assert head.status_code == get.status_code == 200
        assert head.body == b""
        assert int(head.headers["Content-Length"]) == len(get.body) > 0
        assert head.headers["Content-Type"] == get.headers["Content-Type"]
        assert head.headers["Vary"] == get.headers["Vary"]


def test_head_does_not_break_keep_alive(base: str) -> None:
    """Responses without a body (HEAD, 204) must leave the connection usable for the next one."""
    path = create(base, {"title": "Alive"})
    url = urlsplit(base)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=TIMEOUT)
    try:
        for method, target, status in [
            ("HEAD", path, 200),
            ("GET", path, 200),
            ("OPTIONS", path, None),
            ("HEAD", "/notes/999999", 404),
            ("GET", "/notes/999999", 404),
            ("DELETE", path, 204),
            ("GET", path, 404),
        ]:
            connection.request(method, target)
            response = connection.getresponse()
            body = response.read()
            if status is not None:
                assert response.status == status, (method, target, body)
            if method == "GET":
                assert len(body) == int(response.headers["Content-Length"])
    finally:
        connection.close()


@pytest.mark.parametrize(
    ("path", "allow"),
    [
        ("/notes", {"GET", "HEAD", "POST", "OPTIONS"}),
        ("/notes/1", {"GET", "HEAD", "PUT", "PATCH", "DELETE", "OPTIONS"}),
    ],
)
def test_options(base: str, path: str, allow: set[str]) -> None:
    response = call(base, "OPTIONS", path)
    assert response.status_code in (200, 204)
    assert {m.strip() for m in response.headers["Allow"].split(",")} == allow


@pytest.mark.parametrize(
    ("method", "path"), [("DELETE", "/notes"), ("POST", "/notes/1"), ("PUT", "/notes")]
)
def test_405(base: str, method: str, path: str) -> None:
    response = call(base, method, path, b'{"title": "x"}', **JSON)
    problem_of(response, 405)
    assert "GET" in response.headers["Allow"]


@pytest.mark.parametrize("method", ["BREW", "PROPFIND"])
def test_501(base: str, method: str) -> None:
    problem_of(call(base, method, "/notes"), 501)


def test_406(base: str) -> None:
    problem_of(call(base, "GET", "/notes", Accept="image/png"), 406)


def test_404_in_xml(base: str) -> None:
    problem = problem_of(
        call(base, "GET", "/notes/424242", Accept="application/xml"), 404, "application/problem+xml"
    )
    assert problem["detail"] == "no note 424242"


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/octet-stream", "application/json; charset=iso-8859-1"],
)
def test_415(base: str, content_type: str) -> None:
    problem_of(call(base, "POST", "/notes", b'{"title": "x"}', Content_Type=content_type), 415)


@pytest.mark.parametrize(
    ("media", "body"),
    [
        ("json", b'{"title": "", "done": "maybe", "tags": ["ok", 5], "colour": "red"}'),
        (
            "xml",
            b"<note><title/><done>maybe</done><tags><item>ok</item><item><x/></item></tags>"
            b"<colour>red</colour></note>",
        ),
    ],
)
def test_422(base: str, media: str, body: bytes) -> None:
    headers = JSON if media == "json" else XML
    problem = problem_of(call(base, "POST", "/notes", body, **headers), 422)
    assert problem["errors"] == {
        "title": ["Length must be between 1 and 200."],
        "done": ["Not a valid boolean."],
        "tags.1": ["Not a valid string."],
        "colour": ["Unknown field."],
    }


def test_422_as_problem_xml(base: str) -> None:
    response = call(base, "POST", "/notes", b"{}", **JSON, Accept="application/xml")
    problem = problem_of(response, 422, "application/problem+xml")
    assert problem["errors"] == {"title": ["Missing data for required field."]}


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/json", b'{"title": '),
        ("application/json", b'{"title": NaN}'),
        ("application/json", b'{"title": "\xff"}'),
        ("application/json", b"[" * 100_000),
        ("application/json", b""),
        ("application/xml", b"<note><title>x</title>"),
        ("application/xml", b'<!DOCTYPE n [<!ENTITY x SYSTEM "file:///etc/passwd">]><n>&x;</n>'),
    ],
    ids=lambda v: repr(v)[:30],
)
def test_malformed_bodies_are_400(base: str, content_type: str, body: bytes) -> None:
    problem_of(call(base, "POST", "/notes", body, Content_Type=content_type), 400)


def test_413_for_a_body_over_the_limit(base: str) -> None:
    """The answer may come, and the connection close, before the body is all sent (granian)."""
    before = call(base, "GET", "/notes").json  # the site may run in another process
    body = b'{"title": "' + b"x" * MiB + b'"}'
    head = b"POST /notes HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    answer = send_raw(base, head + b"Content-Length: %d\r\nConnection: close\r\n\r\n%s"
                      % (len(body), body))
    assert answer.startswith(b"HTTP/1.1 413 "), answer[:300]
    assert b"application/problem+json" in answer
    assert call(base, "GET", "/notes").json == before


@pytest.mark.parametrize(("size", "status"), [(2 * MiB, 413), (100, 201)])
def test_chunked_body(base: str, size: int, status: int) -> None:
    """Without a Content-Length (chunked), the limit holds all the same."""
    body = b'{"title": "' + b"x" * (size - len(b'{"title": ""}')) + b'"}'
    chunks = b"".join(
        b"%x\r\n%s\r\n" % (len(body[i : i + 65536]), body[i : i + 65536])
        for i in range(0, len(body), 65536)
    )
    head = b"POST /notes HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    head += b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    answer = send_raw(base, head + chunks + b"0\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 %d " % status), answer[:300]
    if status == 201:
        assert json.loads(answer.partition(b"\r\n\r\n")[2])["title"] == "x" * 87
    else:
        assert b"application/problem+json" in answer


def test_413_for_a_declared_huge_content_length(base: str) -> None:
    """A client announcing far more than any limit gets 413 at once, without sending it."""
    url = urlsplit(base)
    with socket.create_connection((url.hostname, url.port), timeout=TIMEOUT) as sock:
        sock.sendall(
            b"POST /notes HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
            b"Content-Length: 1000000000000\r\n\r\n"
        )
        head = sock.recv(65536)
    assert head.startswith(b"HTTP/1.1 413 ")


def test_a_413_before_the_body_is_a_problem_in_the_format_asked_for(base: str) -> None:
    """What the server answers before the site runs is a problem the site would send: in XML
    for a client that asks for XML, with a request id, naming the site's limit."""
    url = urlsplit(base)
    with socket.create_connection((url.hostname, url.port), timeout=TIMEOUT) as sock:
        sock.sendall(
            b"POST /notes HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
            b"Accept: application/xml\r\nContent-Length: 1000000000000\r\n\r\n"
        )
        answer = b""
        with contextlib.suppress(ConnectionResetError):
            while chunk := sock.recv(65536):
                answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413 ")
    head = head.lower()  # field names are case-insensitive, and servers spell them apart
    assert b"content-type: application/problem+xml" in head
    problem = xml_problem(body)
    assert problem["status"] == 413 and problem["request_id"]
    assert f"x-request-id: {problem['request_id']}".encode() in head
    assert "1048576 bytes" in problem["detail"]


def test_put_patch_delete(base: str) -> None:
    path = create(base, {"title": "Draft", "tags": ["x"]})
    note_id = int(path.rsplit("/", 1)[1])
    patched = call(base, "PATCH", path, b'{"done": true}', **JSON)
    assert patched.json == {"id": note_id, "title": "Draft", "done": True, "tags": ["x"]}
    replaced = call(base, "PUT", path, b"<note><title>Final</title></note>", **XML)
    assert replaced.json == {"id": note_id, "title": "Final", "done": False, "tags": []}
    deleted = call(base, "DELETE", path)
    assert deleted.status_code == 204
    assert deleted.body == b""
    assert "Content-Type" not in deleted.headers
    problem_of(call(base, "GET", path), 404)
