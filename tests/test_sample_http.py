"""sample_project over real HTTP: waitress on a loopback port, requests from ``http.client``.

`TestSampleAPIOverHTTP` runs every test of ``test_sample_api.py`` again, with a client that talks
HTTP to the site served by waitress (the ``live_server`` fixture of conftest.py). The tests below it
need a real server: concurrent writers on several threads, a chunked body, ``python -m
sample_project``; the last checks that ``served()`` stops its worker threads, which these tests
rely on.
"""

from __future__ import annotations

import contextlib
import email.parser
import http.client
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import Message
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import pytest
import test_sample_api as api
from helpers import send_raw

from sample_project import create_site

REPO = Path(__file__).resolve().parent.parent


@dataclass
class HTTPResponse:
    """What `resourcekit.testing.Client` answers, as far as the tests use it."""

    status_code: int
    headers: Message
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode()

    @property
    def json(self) -> Any:
        return json.loads(self.body)


class HTTPClient:
    """``client.request(method, path, data=, headers=)`` over one new connection per request."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url

    def request(
        self,
        method: str,
        path: str,
        *,
        data: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> HTTPResponse:
        url = urlsplit(urljoin(self.base_url, path))
        connection = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
        try:
            target = url.path + (f"?{url.query}" if url.query else "")
            headers = {**api.AUTHORIZED, **(headers or {})}
            # a 413 may come before the whole body is sent: the answer is there all the same
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                connection.request(method, target, body=data, headers=headers)
            response = connection.getresponse()
            return HTTPResponse(response.status, response.headers, response.read())
        finally:
            connection.close()

    def get(self, path: str, **kwargs: Any) -> HTTPResponse:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> HTTPResponse:
        return self.request("POST", path, **kwargs)


class TestSampleAPIOverHTTP(api.TestSampleAPI):
    """The in-process tests, every one, against waitress.

    The inherited ``site`` fixture closes the site's database connections afterwards, which matters
    here: ``served()`` leaves waitress's worker threads alive (see test_served_stops_its_threads),
    and each would otherwise keep its connection, and three file descriptors, open for good.
    """

    @pytest.fixture
    def client(self, site, live_server) -> Iterator[HTTPClient]:
        with live_server(site) as base_url:
            yield HTTPClient(base_url)

    @pytest.fixture
    def base_url(self, client: HTTPClient) -> str:
        return client.base_url


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Any]:
    site = create_site(tmp_path / "db.sqlite", api_token=api.TOKEN)
    yield site
    site.close()


def test_concurrent_writers_on_server_threads(site, tmp_path, live_server):
    """Eight clients at once on eight server threads: every write lands, none is lost."""
    writers, each = 8, 10
    with live_server(site, threads=writers) as base_url:
        client = HTTPClient(base_url)
        station = api.expect(api.call(client, "POST", "/stations", api.JSON, api.PARIS), 201)
        path = f"/stations/{station['id']}/observations"
        failures: list[Any] = []

        def write(worker: int) -> None:
            for n in range(each):
                body = {"observed_at": f"2024-05-01T{worker:02d}:{n:02d}:00Z",
                        "temperature_c": worker + n / 100}
                media = api.XML if n % 2 else api.JSON
                response = api.call(client, "POST", path, media, body, "observation")
                if response.status_code != 201:
                    failures.append(response.body)
                created = api.call(client, "POST", "/stations", api.JSON, api.BREST)
                if created.status_code != 201:
                    failures.append(created.body)

        threads = [threading.Thread(target=write, args=(w,)) for w in range(writers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert failures == []
        page = api.expect(api.call(client, "GET", f"{path}?limit=100", api.JSON), 200)
        assert len(page) == writers * each
        assert len({o["id"] for o in page}) == writers * each
        times = [o["observed_at"] for o in page]
        assert times == sorted(times, reverse=True)
        stations, observations = api.snapshot(tmp_path / "db.sqlite")
        assert len(stations) == 1 + writers * each
        assert len(observations) == writers * each


def test_chunked_body_over_the_limit_is_413(site, tmp_path, live_server):
    """A body without Content-Length is cut off at 1 MiB as it is read."""
    body = b'{"name": "' + b"x" * (1024 * 1024) + b'"}'
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(body[i : i + 65536]), body[i : i + 65536])
                      for i in range(0, len(body), 65536))
    head = ("POST /stations HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
            "Content-Type: application/json\r\nAccept: application/xml\r\n"
            f"Authorization: Bearer {api.TOKEN}\r\nConnection: close\r\n\r\n").encode()
    with live_server(site) as base_url:  # the answer may come before the body is all sent
        raw = send_raw(base_url, head + chunks + b"0\r\n\r\n")
    message = email.parser.BytesParser().parsebytes(raw.partition(b"\r\n")[2])
    answer = HTTPResponse(int(raw.split()[1]), message, message.get_payload(decode=True))
    api.assert_problem(answer, 413, api.XML)
    assert api.snapshot(tmp_path / "db.sqlite") == ([], [])


def free_port() -> int:
    with contextlib.closing(socket.socket()) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_up(url: str, process: subprocess.Popen, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while True:
        assert process.poll() is None, process.stdout.read() if process.stdout else ""
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except (urllib.error.URLError, ConnectionError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def test_python_m_sample_project(tmp_path):
    """``python -m sample_project`` serves on PORT, stores in SAMPLE_DB, and says where."""
    port = free_port()
    db_path = tmp_path / "served.sqlite"
    env = {
        **os.environ,
        "PORT": str(port),
        "SAMPLE_DB": str(db_path),
        "SAMPLE_API_TOKEN": api.TOKEN,
        "SAMPLE_SEED": "0",  # starts empty
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
    }
    env.pop("HOST", None)
    base_url = f"http://127.0.0.1:{port}"
    process = subprocess.Popen(
        [sys.executable, "-m", "sample_project"],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        wait_until_up(f"{base_url}/", process)
        client = HTTPClient(base_url)
        response = api.call(client, "GET", "/stations", api.XML)
        assert response.status_code == 200
        root = api.xml_root(response)
        assert (root.tag, list(root)) == ("stations", [])
        api.call(client, "POST", "/stations", api.XML, api.PARIS, "station")
        listed = ET.fromstring(api.call(client, "GET", "/stations", api.XML).body)
        assert [e.findtext("name") for e in listed.iter("station")] == [api.PARIS["name"]]
        assert db_path.exists()
        assert not (tmp_path / "sample.db").exists()
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=10)
    assert f"http://127.0.0.1:{port}/" in output.splitlines()[0]


def test_served_stops_its_threads(live_server):
    """conftest's ``served()`` should leave no waitress worker thread behind once it returns."""

    def app(environ, start_response):
        start_response("204 No Content", [])
        return []

    before = {t for t in threading.enumerate() if t.name.startswith("waitress-")}
    with live_server(app, threads=2) as base_url:
        assert HTTPClient(base_url).get("/").status_code == 204
    time.sleep(0.2)
    after = {t for t in threading.enumerate() if t.name.startswith("waitress-")}
    assert after - before == set()
