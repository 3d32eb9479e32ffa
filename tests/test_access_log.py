"""The access log: one record per answered request on ``resourcekit.access`` (CONTRACT.md
section 10), and ``resourcekit serve --access-log`` writing them as JSON lines."""

from __future__ import annotations

import io
import json
import logging
import sys
import textwrap
from pathlib import Path

import pytest
from helpers import free_port, http_request, running, wait_until_serving

from resourcekit import Resource, Site, accesslog, errors
from resourcekit.accesslog import FIELDS, JSONFormatter
from resourcekit.testing import Client


class Item(Resource):
    def get(self, request, item_id):
        if item_id == 0:
            raise errors.NotFound("no item 0")
        return {"id": item_id, "pad": "x" * 100}

    def put(self, request, item_id):
        raise RuntimeError("broken")


def site() -> Site:
    s = Site()
    s.add("/items/{item_id:int}", Item)
    return s


@pytest.fixture
def records(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.INFO, logger="resourcekit.access")
    return caplog


def access(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "resourcekit.access"]


def test_one_record_per_request_with_every_field(records) -> None:
    response = Client(site()).get("/items/7?token=s3cret", headers={"X-Request-ID": "r-1"})
    [record] = access(records)
    assert record.levelno == logging.INFO
    assert {name: getattr(record, name) for name in FIELDS if name != "duration_ms"} == {
        "method": "GET", "path": "/items/7", "route": "/items/{item_id:int}", "status": 200,
        "bytes": len(response.body), "client": "127.0.0.1", "request_id": "r-1",
    }
    assert 0 < record.duration_ms < 5000
    assert record.getMessage().startswith(f"GET /items/7 200 {len(response.body)}B ")


def test_errors_and_unmatched_paths_are_logged_with_a_bounded_route(records) -> None:
    client = Client(site())
    client.get("/items/0")
    client.put("/items/1", json={})
    client.get("/nowhere/at/all")
    client.head("/items/3")
    got = [(r.method, r.route, r.status, r.bytes) for r in access(records)]
    assert got[:3] == [("GET", "/items/{item_id:int}", 404, got[0][3]),
                       ("PUT", "/items/{item_id:int}", 500, got[1][3]),
                       ("GET", None, 404, got[2][3])]
    assert got[3] == ("HEAD", "/items/{item_id:int}", 200, 0)  # no body sent


def test_no_credentials_cookies_or_query_string(records) -> None:
    Client(site()).get("/items/7?api_key=topsecret&x=1", headers={
        "Authorization": "Bearer topsecret", "Cookie": "session=topsecret",
        "X-Api-Key": "topsecret",
    })
    [record] = access(records)
    assert "topsecret" not in json.dumps(record.__dict__, default=str)
    assert "topsecret" not in record.getMessage() and "?" not in record.path


def test_a_hostile_path_cannot_forge_log_lines(records) -> None:
    Client(site()).get("/a%0d%0aGET /admin 200%22%7D%0a", headers={"X-Request-ID": "h"})
    [record] = access(records)
    assert "\n" not in record.getMessage() and "\r" not in record.path
    assert record.path == "/a%0D%0AGET%20/admin%20200%22%7D%0A"


def test_the_logger_off_costs_no_record() -> None:
    logger = logging.getLogger("resourcekit.access")
    assert not logger.isEnabledFor(logging.INFO)  # nothing enabled it
    assert accesslog.AccessLog().start(None) is None  # type: ignore[arg-type]


def test_json_lines() -> None:
    stream = io.StringIO()
    handler = accesslog.to_stdout(stream)
    logger = logging.getLogger("resourcekit.access")
    try:
        Client(site()).get("/items/5", headers={"X-Request-ID": "j-1"})
        Client(site()).get("/items/%C3%A9t%C3%A9")
    finally:
        logger.removeHandler(handler)
        logger.setLevel(logging.NOTSET)
        logger.propagate = True
    first, second = (json.loads(line) for line in stream.getvalue().splitlines())
    assert list(first) == ["time", *FIELDS]
    assert first["time"].endswith("Z") and first["request_id"] == "j-1"
    assert (first["status"], first["route"]) == (200, "/items/{item_id:int}")
    assert (second["status"], second["path"], second["route"]) == (404, "/items/%C3%A9t%C3%A9",
                                                                  None)


def test_formatter_of_a_record_without_fields() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "plain", None, None)
    line = json.loads(JSONFormatter().format(record))
    assert line["method"] is None and set(line) == {"time", *FIELDS}


TINY = textwrap.dedent(
    """
    from resourcekit import Resource, Site

    site = Site()

    @site.route("/hello/{name}")
    class Hello(Resource):
        def get(self, request, name):
            return {"hello": name}
    """
)


def test_serve_access_log_writes_json_lines_on_stdout(tmp_path: Path) -> None:
    (tmp_path / "accessapp.py").write_text(TINY)
    port = free_port()
    command = [sys.executable, "-m", "resourcekit", "serve", "accessapp:site",
               "--port", str(port), "--access-log"]
    with running(command, cwd=tmp_path) as process:
        wait_until_serving(port, process)
        base = f"http://127.0.0.1:{port}"
        assert http_request(base, "GET", "/hello/ann?secret=1",
                            headers={"X-Request-ID": "cli-1", "Authorization": "Basic eDp5"}
                            ).status_code == 200
        assert http_request(base, "GET", "/missing").status_code == 404
    lines = [json.loads(line) for line in process.output[0].splitlines() if line.startswith("{")]
    assert [(r["method"], r["path"], r["route"], r["status"]) for r in lines] == [
        ("GET", "/hello/ann", "/hello/{name}", 200), ("GET", "/missing", None, 404)]
    assert lines[0]["request_id"] == "cli-1" and lines[0]["client"] == "127.0.0.1"
    assert "secret" not in process.output[0] and "eDp5" not in process.output[0]
