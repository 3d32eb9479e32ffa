"""multipart/form-data and resourcekit.fields.File: streamed parts, limits, hostile input."""

from __future__ import annotations

import http.client
import os
import subprocess
import sys
import textwrap
import time
import urllib.parse

import pytest
from conftest import served
from helpers import free_port, rss_kib
from marshmallow import Schema, fields

from resourcekit import Resource, Site
from resourcekit.fields import File, UploadedFile, clean_filename
from resourcekit.testing import Client

pytest.importorskip("multipart")

BOUNDARY = "rk-boundary-7MA4YWxkTrZu0gW"


def multipart_body(*parts: tuple[str, str | None, str | None, bytes]) -> bytes:
    """(name, filename, content type, value) parts as a multipart/form-data body."""
    out = b""
    for name, filename, content_type, value in parts:
        disposition = f'form-data; name="{name}"'
        if filename is not None:
            disposition += f'; filename="{filename}"'
        out += f"--{BOUNDARY}\r\nContent-Disposition: {disposition}\r\n".encode()
        if content_type:
            out += f"Content-Type: {content_type}\r\n".encode()
        out += b"\r\n" + value + b"\r\n"
    return out + f"--{BOUNDARY}--\r\n".encode()


CONTENT_TYPE = f"multipart/form-data; boundary={BOUNDARY}"


class Photo(Schema):
    title = fields.String(required=True)
    tags = fields.List(fields.String())
    image = File(required=True, max_size=1000, content_types=["image/png", "image/jpeg"])


def make_site(max_body_size: int = 1024 * 1024) -> Site:
    site = Site("Uploads", max_body_size=max_body_size)

    @site.route("/photos")
    class Photos(Resource):
        input_schema = Photo

        def post(self, request):
            data = request.validated
            image: UploadedFile = data["image"]
            return {
                "title": data["title"], "tags": data.get("tags", []),
                "filename": image.filename, "content_type": image.content_type,
                "size": image.size, "head": image.read(4).decode("latin-1"),
            }

    return site


@pytest.fixture
def client() -> Client:
    return Client(make_site())


def send(client: Client, body: bytes, content_type: str = CONTENT_TYPE):
    return client.post("/photos", data=body, headers={"Content-Type": content_type})


PNG = ("image", "cat.png", "image/png", b"\x89PNG" + b"x" * 100)


def test_a_file_and_fields_load_through_the_schema(client):
    r = send(client, multipart_body(("title", None, None, b"Cat"), ("tags", None, None, b"a"),
                                    ("tags", None, None, b"b"), PNG))
    assert r.status_int == 200, r.text
    assert r.json == {"title": "Cat", "tags": ["a", "b"], "filename": "cat.png",
                      "content_type": "image/png", "size": 104, "head": "\x89PNG"}


def test_a_part_over_max_size_is_413(client):
    big = ("image", "big.png", "image/png", b"x" * 1001)
    r = send(client, multipart_body(("title", None, None, b"x"), big))
    assert r.status_int == 413
    assert "1000 bytes" in r.json["detail"]


def test_a_type_not_allowed_is_422(client):
    gif = ("image", "a.gif", "image/gif", b"GIF89a")
    r = send(client, multipart_body(("title", None, None, b"x"), gif))
    assert r.status_int == 422
    assert "image/gif" in r.json["errors"]["image"][0]


def test_a_file_field_sent_as_text_is_422(client):
    r = send(client, multipart_body(("title", None, None, b"x"), ("image", None, None, b"no")))
    assert r.status_int == 422  # a part for a File field is a file, of no allowed type
    json_body = client.post("/photos", json={"title": "x", "image": "data"})
    assert json_body.status_int == 422
    assert "multipart" in json_body.json["errors"]["image"][0]


@pytest.mark.parametrize("content_type", [
    "multipart/form-data",  # no boundary
    "multipart/form-data; boundary=",
    'multipart/form-data; boundary="a\nb"',
])
def test_no_boundary_is_400(client, content_type):
    assert send(client, multipart_body(PNG), content_type).status_int == 400


def test_a_truncated_body_is_400(client):
    body = multipart_body(("title", None, None, b"x"), PNG)
    r = send(client, body[: len(body) - 30])
    assert r.status_int == 400
    assert "malformed multipart" in r.json["detail"]


def test_garbage_is_400(client):
    assert send(client, b"\x00\x01garbage" * 10).status_int == 400


def test_too_many_parts_is_413(client):
    parts = [("tags", None, None, b"t")] * 300
    assert send(client, multipart_body(*parts)).status_int == 413


def test_an_over_long_text_part_is_413():
    client = Client(make_site(max_body_size=4 * 1024 * 1024))
    r = send(client, multipart_body(("title", None, None, b"x" * (1024 * 1024 + 1)), PNG))
    assert r.status_int == 413


def test_max_body_size_bounds_the_whole_body():
    client = Client(make_site(max_body_size=500))
    assert send(client, multipart_body(("title", None, None, b"x" * 600), PNG)).status_int == 413


def test_text_that_is_not_utf8_is_400(client):
    assert send(client, multipart_body(("title", None, None, b"\xff\xfe"), PNG)).status_int == 400


@pytest.mark.parametrize(("raw", "clean"), [
    ("../../etc/passwd", "passwd"),
    ("C:\\Windows\\system32\\evil.exe", "evil.exe"),
    ("..", None),
    ("", None),
    ("a\x00b\r\nc\u202e.png", "abc.png"),
    ("x" * 1000, "x" * 255),
    ("/", None),
])
def test_hostile_filenames(raw, clean):
    assert clean_filename(raw) == clean


def test_hostile_filename_over_the_wire(client):
    part = ("image", "../../../etc/passwd%00.png", "image/png", b"\x89PNG")
    r = send(client, multipart_body(("title", None, None, b"x"), part))
    assert r.status_int == 200
    assert "/" not in r.json["filename"] and "\x00" not in r.json["filename"]


def test_without_schema_parts_are_plain_data():
    site = Site()

    @site.route("/echo")
    class Echo(Resource):
        def post(self, request):
            data = request.validated
            return {k: (v.size if isinstance(v, UploadedFile) else v) for k, v in data.items()}

    r = send_to(Client(site), "/echo", multipart_body(("a", None, None, b"1"),
                                                      ("a", None, None, b"2"), PNG))
    assert r.json == {"a": ["1", "2"], "image": 104}


def send_to(client: Client, path: str, body: bytes):
    return client.post(path, data=body, headers={"Content-Type": CONTENT_TYPE})


def test_over_http_under_waitress():
    with served(make_site()) as base:
        netloc = urllib.parse.urlsplit(base).netloc
        connection = http.client.HTTPConnection(netloc, timeout=10)
        connection.request("POST", "/photos", body=multipart_body(("title", None, None, b"C"), PNG),
                           headers={"Content-Type": CONTENT_TYPE})
        response = connection.getresponse()
        assert response.status == 200
        assert b'"size":104' in response.read()


SERVER = textwrap.dedent("""
    import sys
    import waitress
    from marshmallow import Schema
    from resourcekit import Resource, Site
    from resourcekit.fields import File

    class Upload(Schema):
        data = File(required=True)

    site = Site(max_body_size=64 * 1024 * 1024)

    @site.route("/uploads")
    class Uploads(Resource):
        input_schema = Upload

        def post(self, request):
            upload = request.validated["data"]
            total = 0
            while chunk := upload.read(65536):
                total += len(chunk)
            return {"size": upload.size, "read": total}

    waitress.serve(site, host="127.0.0.1", port=int(sys.argv[1]), threads=2, _quiet=True)
""")


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="needs /proc")
def test_a_50_mb_upload_streams_to_disk_in_bounded_memory(tmp_path):
    port = free_port()
    script = tmp_path / "server.py"
    script.write_text(SERVER)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    process = subprocess.Popen([sys.executable, str(script), str(port)], env=env)
    try:
        head = (f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"data\"; "
                f"filename=\"big.bin\"\r\nContent-Type: application/octet-stream\r\n\r\n").encode()
        tail = f"\r\n--{BOUNDARY}--\r\n".encode()
        size = 50 * 1024 * 1024
        deadline = time.monotonic() + 20
        while True:
            try:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                connection.request("GET", "/uploads")
                connection.getresponse().read()
                break
            except OSError:
                assert time.monotonic() < deadline and process.poll() is None
                time.sleep(0.1)
        before = rss_kib(process.pid) * 1024
        connection.putrequest("POST", "/uploads")
        connection.putheader("Content-Type", CONTENT_TYPE)
        connection.putheader("Content-Length", str(len(head) + size + len(tail)))
        connection.endheaders()
        connection.send(head)
        chunk = b"\xab" * (1024 * 1024)
        for _ in range(size // len(chunk)):
            connection.send(chunk)
        connection.send(tail)
        response = connection.getresponse()
        body = response.read()
        after = rss_kib(process.pid) * 1024
        assert response.status == 200, body
        assert body == b'{"size":52428800,"read":52428800}'
        grown = after - before
        print(f"RSS before {before / 2**20:.1f} MiB, after {after / 2**20:.1f} MiB")
        assert grown < 20 * 1024 * 1024, f"the server grew by {grown / 2**20:.1f} MiB"
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_openapi_describes_a_file_body():
    from openapi_spec_validator import validate

    site = make_site()
    document = site.openapi()
    validate(document)
    body = document["paths"]["/photos"]["post"]["requestBody"]["content"]
    assert set(body) == {"multipart/form-data"}  # JSON and XML cannot carry a file
    assert body["multipart/form-data"]["encoding"] == {
        "image": {"contentType": "image/png, image/jpeg"}
    }
    schema = document["components"]["schemas"]["Photo"]
    assert schema["properties"]["image"] == {"type": "string", "format": "binary"}
