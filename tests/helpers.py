"""Shared example sites and assertions for the framework's tests (contract sections 1-3).

`notes_site()` builds the Notes API of the contract, with its own store, so every test gets a fresh
one. The other helpers check problem documents, read XML and talk HTTP with ``http.client``.
"""

from __future__ import annotations

import contextlib
import http.client
import itertools
import json
import os
import socket
import subprocess
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import quote, urlsplit

import pytest
from marshmallow import Schema, fields, validate

from resourcekit import Created, Resource, Site, errors

PROBLEM_NS = "urn:ietf:rfc:7807"
XSI_NIL = "{http://www.w3.org/2001/XMLSchema-instance}nil"


# -- the Notes API of the contract --------------------------------------------------------------


class NoteSchema(Schema):
    id = fields.Int(dump_only=True)
    title = fields.Str(required=True, validate=validate.Length(min=1, max=200))
    done = fields.Bool(load_default=False)
    tags = fields.List(fields.Str(), load_default=list)


def notes_site(**site_options: Any) -> Site:
    """The contract's Notes API; ``site.notes`` is its store, ``site.calls`` lists handler calls."""
    notes: dict[int, dict] = {}
    ids = itertools.count(1)
    site = Site(title="Notes", version="1.0.0", **site_options)
    site.notes = notes  # type: ignore[attr-defined]
    site.calls = []  # type: ignore[attr-defined]

    @site.route("/notes")
    class Notes(Resource):
        schema = NoteSchema

        def get(self, request):
            site.calls.append("list")
            return list(notes.values())

        def post(self, request):
            site.calls.append("create")
            note = {"id": next(ids), **request.validated}
            notes[note["id"]] = note
            return Created(note, location=request.url_for(Note, note_id=note["id"]))

    @site.route("/notes/{note_id:int}")
    class Note(Resource):
        schema = NoteSchema

        def get(self, request, note_id):
            site.calls.append("read")
            if note_id not in notes:
                raise errors.NotFound(f"no note {note_id}")
            return notes[note_id]

        def put(self, request, note_id):
            site.calls.append("replace")
            if note_id not in notes:
                raise errors.NotFound(f"no note {note_id}")
            notes[note_id] = {"id": note_id, **request.validated}
            return notes[note_id]

        def patch(self, request, note_id):
            site.calls.append("update")
            if note_id not in notes:
                raise errors.NotFound(f"no note {note_id}")
            notes[note_id].update(request.validated)
            return notes[note_id]

        def delete(self, request, note_id):
            site.calls.append("delete")
            notes.pop(note_id, None)

    return site


NOTE_XML = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n'
    b"<note><title>Buy milk</title><done>true</done><tags><item>home</item></tags></note>"
)
"""``{"title": "Buy milk", "done": true, "tags": ["home"]}`` as a client POSTs it in XML."""


# -- problems and XML ---------------------------------------------------------------------------


class _Item(Resource):
    def get(self, request, item_id):
        return {"id": item_id}


def item_site(**site_options: Any) -> Site:
    """A site of one readable route, ``/items/{item_id:int}``, for the features around it."""
    site = Site(**site_options)
    site.add("/items/{item_id:int}", _Item, name="Item")
    return site


def media_type_of(response: Any) -> str | None:
    """The response's media type: ``Content-Type`` without parameters, lower case."""
    value = response.headers.get("Content-Type")
    return value.split(";")[0].strip().lower() if value is not None else None


def vary(response: Any) -> list[str]:
    """The members of ``Vary`` but ``Accept-Encoding``: a site with compression varies by it
    on every compressible answer, which the compression tests check on their own."""
    members = (m.strip() for m in response.headers.get("Vary", "").split(","))
    return [m for m in members if m and m != "Accept-Encoding"]


def assert_problem(response: Any, status: int, *, media_type: str = "application/problem+json"):
    """Check a `resourcekit.testing` response is an RFC 9457 problem; return it as a dict,
    without its ``request_id``, which must be the response's ``X-Request-ID``."""
    assert response.status_code == status, response.body[:500]
    assert media_type_of(response) == media_type
    assert "Accept" in response.headers.get("Vary", "")
    if media_type.endswith("+xml"):
        problem = xml_problem(response.body)
    else:
        problem = json.loads(response.body)
    assert problem["status"] == status
    assert problem["type"] == "about:blank"
    assert isinstance(problem["title"], str) and problem["title"]
    assert isinstance(problem["detail"], str) and problem["detail"]
    assert problem.pop("request_id") == response.headers["X-Request-ID"]
    return problem


def xml_problem(body: bytes) -> dict[str, Any]:
    """Read an RFC 9457 appendix B problem: members in ``urn:ietf:rfc:7807``, arrays as ``<i>``."""
    root = ET.fromstring(body)
    assert root.tag == f"{{{PROBLEM_NS}}}problem"
    problem = {_local(child.tag, PROBLEM_NS): _xml_value(child) for child in root}
    if "status" in problem:
        problem["status"] = int(problem["status"])
    return problem


def _local(tag: str, namespace: str) -> str:
    assert tag.startswith(f"{{{namespace}}}"), f"{tag} is not in {namespace}"
    return tag[len(namespace) + 2 :]


def _xml_value(elem: ET.Element) -> Any:
    children = list(elem)
    if not children:
        return elem.text or ""
    if all(_local(child.tag, PROBLEM_NS) == "i" for child in children):
        return [_xml_value(child) for child in children]
    return {
        child.get("key") or _local(child.tag, PROBLEM_NS): _xml_value(child) for child in children
    }


def xml_tree(body: bytes) -> ET.Element:
    return ET.fromstring(body)


# -- real sockets -------------------------------------------------------------------------------

TIMEOUT = 10.0
"""Seconds any single network operation may take before the test fails instead of hanging."""


class FakeClock:
    """A clock that moves only when told: ``clock.advance(seconds)``."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Reply:
    """What ``http.client`` read: status, reason, headers (case-insensitive) and body."""

    def __init__(self, response: http.client.HTTPResponse, body: bytes) -> None:
        self.status_code = response.status
        self.reason = response.reason
        self.headers = response.headers
        self.body = body

    @property
    def json(self) -> Any:
        return json.loads(self.body)


def http_request(
    base_url: str,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: Mapping[str, str] | None = None,
    *,
    timeout: float = TIMEOUT,
) -> Reply:
    """One request on a fresh connection, with exactly the method, headers and body given."""
    url = urlsplit(base_url)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=timeout)
    try:
        given = {name.lower() for name in headers or {}}
        connection.putrequest(method, path, skip_host="host" in given, skip_accept_encoding=True)
        for name, value in (headers or {}).items():
            connection.putheader(name, value)
        if body is not None and "content-length" not in given:
            connection.putheader("Content-Length", str(len(body)))
        connection.endheaders(body)
        response = connection.getresponse()
        return Reply(response, response.read())
    finally:
        connection.close()


def wait_until_serving(port: int, process: subprocess.Popen, timeout: float = 20.0) -> None:
    """Wait for a server process to accept connections on 127.0.0.1:port (fail if it exits)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"server exited with {process.returncode}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return
        time.sleep(0.05)
    raise AssertionError(f"nothing answered on 127.0.0.1:{port} within {timeout}s")


def stop(process: subprocess.Popen, timeout: float = 10) -> None:
    """Terminate a server started by a test, and kill it if it does not go."""
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=timeout)


@contextlib.contextmanager
def running(command: list[str], **popen: Any) -> Iterator[subprocess.Popen]:
    """Start a subprocess and always stop it (terminate, then kill) when the block ends.

    Afterwards ``process.output`` holds its ``(stdout, stderr)``.
    """
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **popen
    )
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.output = process.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.output = process.communicate(timeout=10)


def unavailable(reason: str) -> None:
    """Skip, saying why; under CI fail, since CI installs the servers (.ci/run)."""
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"{reason} (CI must install it: see .ci/run)", pytrace=False)
    pytest.skip(reason)


def rss_kib(pid: int) -> int:
    """The resident memory of process ``pid`` (Linux ``/proc``), in KiB."""
    with open(f"/proc/{pid}/status") as status:
        line = next(line for line in status if line.startswith("VmRSS:"))
    return int(line.split()[1])


def send_raw(base: str, data: bytes) -> bytes:
    """Send what the server takes (it may answer and close first), read until it closes."""
    url = urlsplit(base)
    received = b""
    with socket.create_connection((url.hostname, url.port), timeout=TIMEOUT) as sock:
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall(data)
        with contextlib.suppress(ConnectionResetError):
            while chunk := sock.recv(65536):
                received += chunk
    return received


_HOP_BY_HOP = frozenset({"connection", "keep-alive", "transfer-encoding", "te", "trailer",
                         "upgrade", "proxy-connection"})


class OverHTTP:
    """A WSGI app that sends each request it gets to ``base_url`` over real HTTP and answers
    with what came back: ``Client(OverHTTP(url, site))`` runs in-process tests through a
    server. The site's own attributes stay at hand (``client.app.notes``)."""

    def __init__(self, base_url: str, site: Any) -> None:
        self.base_url = base_url
        self.site = site

    def __getattr__(self, name: str) -> Any:
        return getattr(self.site, name)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        headers = {key[5:].replace("_", "-").title(): value for key, value in environ.items()
                   if key.startswith("HTTP_")}
        for key, name in (("CONTENT_TYPE", "Content-Type"), ("CONTENT_LENGTH", "Content-Length")):
            if environ.get(key):
                headers[name] = environ[key]
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else None
        query = environ.get("QUERY_STRING")
        path = environ.get("SCRIPT_NAME", "") + environ["PATH_INFO"]
        target = quote(path, safe="/:@!$&'()*+,;=-._~%", encoding="latin-1")  # WSGI's bytes
        reply = http_request(self.base_url, environ["REQUEST_METHOD"],
                             target + (f"?{query}" if query else ""), body, headers)
        kept = [(k, v) for k, v in reply.headers.items() if k.lower() not in _HOP_BY_HOP]
        start_response(f"{reply.status_code} {reply.reason}", kept)
        return [reply.body]
