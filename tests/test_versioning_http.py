"""API versions over real HTTP (waitress): clients of every version interleaved on one server,
JSON and XML, caching headers, problems (contract section 9)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from typing import Any

import pytest
from helpers import http_request, xml_tree
from versioned_site import FIRST, TITLE, WIND, build

VERSIONS = (FIRST, WIND, TITLE)
SHAPES = {
    FIRST: {"name": "n", "color": "red", "tags": ["a"]},
    WIND: {"name": "n", "color": "red", "tags": ["a"]},
    TITLE: {"title": "n", "style": {"color": "red"}, "tags": ["a"]},
}


@pytest.fixture
def base(live_server: Callable[..., AbstractContextManager[str]]) -> Iterator[str]:
    with live_server(build()) as url:
        yield url


def call(base: str, method: str, path: str, version: str | None, body: Any = None,
         **headers: str) -> Any:
    sent = {"API-Version": version} if version else {}
    data = None
    if body is not None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        sent["Content-Type"] = "application/xml" if isinstance(body, bytes) else "application/json"
    return http_request(base, method, path, data, {**sent, **headers})


def test_clients_of_every_version_interleaved(base: str) -> None:
    for version in VERSIONS:
        made = call(base, "POST", "/notes", version, SHAPES[version])
        assert made.status_code == 201, made.body
        assert made.headers["API-Version"] == version
    for version in (*VERSIONS, *reversed(VERSIONS)):
        listed = call(base, "GET", "/notes", version)
        assert listed.json == [{"id": i, **SHAPES[version]} for i in (1, 2, 3)]
        assert listed.headers["Vary"] == "Accept, API-Version"
        xml = xml_tree(call(base, "GET", "/notes/2", version, Accept="application/xml").body)
        expected = ["id", "title", "style", "tags"] if version == TITLE else [
            "id", "name", "color", "tags"]
        assert [child.tag for child in xml] == expected


def test_xml_bodies_of_each_version(base: str) -> None:
    old = b"<note><name>x</name><color>blue</color></note>"
    new = b"<note><title>x</title><style><color>blue</color></style></note>"
    assert call(base, "POST", "/notes", FIRST, old).status_code == 201
    assert call(base, "POST", "/notes", TITLE, new).status_code == 201
    assert call(base, "POST", "/notes", FIRST, new).status_code == 422
    wrong = call(base, "POST", "/notes", TITLE, old, Accept="application/xml")
    assert wrong.status_code == 422 and wrong.headers["API-Version"] == TITLE
    first, second = (call(base, "GET", f"/notes/{i}", TITLE).json for i in (1, 2))
    assert first == second | {"id": 1}


def test_etags_per_version_over_http(base: str) -> None:
    call(base, "POST", "/observations", WIND,
         {"temperature_c": 2.0, "wind": {"speed_ms": 1.0, "direction_deg": 5.0}})
    tags = {v: call(base, "GET", "/observations/1", v).headers["ETag"] for v in (FIRST, WIND)}
    assert tags[FIRST] != tags[WIND]
    for version, tag in tags.items():
        assert call(base, "GET", "/observations/1", version,
                    **{"If-None-Match": tag}).status_code == 304
        other = WIND if version == FIRST else FIRST
        assert call(base, "GET", "/observations/1", other,
                    **{"If-None-Match": tag}).status_code == 200


def test_problems_and_routes_by_version_over_http(base: str) -> None:
    unknown = call(base, "GET", "/notes", "2030-01-01")
    assert unknown.status_code == 400 and unknown.json["versions"] == list(VERSIONS)
    assert unknown.headers["API-Version"] == FIRST
    assert call(base, "GET", "/tags", FIRST).status_code == 404
    assert call(base, "GET", "/tags", WIND).status_code == 200
    old = call(base, "GET", "/status", None)
    assert old.headers["API-Version"] == FIRST and old.headers["Deprecation"].startswith("@")
    assert "Sunset" in old.headers
    head = call(base, "HEAD", "/notes", TITLE)
    assert head.status_code == 200 and head.body == b"" and head.headers["API-Version"] == TITLE


@pytest.mark.parametrize(
    ("named", "answered"), [(WIND, WIND), (None, FIRST), ("1999-01-01", FIRST)]
)
def test_the_servers_own_413_says_its_version_and_keeps_the_request_id(
    base: str, named: str | None, answered: str
) -> None:
    """A chunked body over the limit is refused by waitress before the site runs; the problem
    still carries what every reply of the site does."""
    from helpers import send_raw

    version = f"API-Version: {named}\r\n".encode() if named else b""
    head = (b"POST /notes HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
            b"Content-Type: application/json\r\nX-Request-ID: big-1\r\n" + version + b"\r\n")
    answer = send_raw(base, head + b"200000\r\n" + b"a" * (2 * 1024**2 + 16))
    status, _, rest = answer.partition(b"\r\n")
    fields, _, body = rest.partition(b"\r\n\r\n")
    pairs = (line.decode().split(": ", 1) for line in fields.split(b"\r\n"))
    headers = {name.lower(): value for name, value in pairs}  # waitress capitalises names
    assert status.startswith(b"HTTP/1.1 413 "), answer[:300]
    assert headers["api-version"] == answered and headers["x-request-id"] == "big-1"
    assert json.loads(body)["request_id"] == "big-1"
