"""The sample's production features over real HTTP: waitress on a loopback port, ``http.client``.

Bearer-token writes, 20 concurrent POSTs sharing one ``Idempotency-Key``, a per-client rate limit,
the ``python -m sample_project`` entry point (its printed token, ``SAMPLE_RATE_LIMIT``), and links
built behind a trusted proxy. Every socket, join and subprocess has a timeout.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import re
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import served
from helpers import TIMEOUT, Reply, free_port, http_request, stop, wait_until_serving

from resourcekit import Created, Page, Resource, Site
from sample_project import create_site

REPO = Path(__file__).resolve().parent.parent
TOKEN = "production-test-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
JSON = {"Content-Type": "application/json", "Accept": "application/json"}
STATION = {"name": "Brest", "latitude": 48.44, "longitude": -4.41, "country": "FR"}
OBSERVATION = {"observed_at": "2024-05-01T12:00:00Z", "temperature_c": 12.5}
RATELIMIT = re.compile(r'"default";r=(\d+);t=(\d+)')


def send(base_url: str, method: str, path: str, body: Any = None, **headers: str) -> Reply:
    data = json.dumps(body).encode() if body is not None else None
    return http_request(base_url, method, path, data, {**JSON, **headers})


def problem(reply: Reply, status: int) -> dict[str, Any]:
    assert reply.status_code == status, reply.body[:300]
    assert reply.headers["Content-Type"].startswith("application/problem+json")
    document = reply.json
    assert document["status"] == status and document["detail"]
    return document


def remaining(reply: Reply, quota: int) -> int:
    assert reply.headers.get_all("RateLimit-Policy") == [f'"default";q={quota};w=60']
    (state,) = reply.headers.get_all("RateLimit")
    match = RATELIMIT.fullmatch(state)
    assert match and 0 < int(match[2]) <= 60, state
    return int(match[1])


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "db.sqlite"


@pytest.fixture
def site(db_path: Path) -> Iterator[Any]:
    site = create_site(db_path, api_token=TOKEN)
    yield site
    site.close()


# -- bearer tokens ------------------------------------------------------------------------------


def test_writes_need_the_token_reads_are_open(site, live_server) -> None:
    with live_server(site) as base_url:
        anonymous = send(base_url, "POST", "/stations", STATION)
        assert "error" not in problem(anonymous, 401)
        (challenge,) = anonymous.headers.get_all("WWW-Authenticate")
        assert challenge.startswith("Bearer realm=") and "error" not in challenge

        wrong = send(base_url, "POST", "/stations", STATION, Authorization="Bearer not-it")
        assert problem(wrong, 401)["error"] == "invalid_token"
        assert wrong.headers.get_all("WWW-Authenticate") == [
            challenge + ', error="invalid_token"'
        ]
        assert b"not-it" not in wrong.body

        assert send(base_url, "GET", "/stations").json == []
        created = send(base_url, "POST", "/stations", STATION, **AUTH)
        assert created.status_code == 201
        location = created.headers["Location"]
        assert location == f"{base_url}/stations/{created.json['id']}"
        path = location.removeprefix(base_url)

        for method in ("PUT", "PATCH", "DELETE"):
            problem(send(base_url, method, path, STATION), 401)
        problem(send(base_url, "POST", f"{path}/observations", OBSERVATION), 401)
        assert send(base_url, "GET", path).json["name"] == "Brest"
        assert send(base_url, "HEAD", path).status_code == 200
        assert send(base_url, "PATCH", path, {"name": "Brest-Guipavas"}, **AUTH).status_code \
            == 200
        assert send(base_url, "GET", "/stations").json[0]["name"] == "Brest-Guipavas"


# -- one Idempotency-Key, twenty clients at once ------------------------------------------------


def test_concurrent_posts_with_one_key_create_one_observation(site, db_path, live_server):
    clients = 20
    with live_server(site, threads=10) as base_url:
        station = send(base_url, "POST", "/stations", STATION, **AUTH).json
        path = f"/stations/{station['id']}/observations"
        headers = {**AUTH, "Idempotency-Key": "obs-2024-05-01T12"}
        barrier = threading.Barrier(clients, timeout=TIMEOUT)
        answers: list[Reply | None] = [None] * clients
        failures: list[BaseException] = []

        def post(n: int) -> None:
            try:
                barrier.wait()
                answers[n] = send(base_url, "POST", path, OBSERVATION, **headers)
            except BaseException as exc:  # reported below, not lost in the thread
                failures.append(exc)

        threads = [threading.Thread(target=post, args=(n,), daemon=True) for n in range(clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(TIMEOUT * 3)
        assert not any(thread.is_alive() for thread in threads)
        assert failures == []

        created = [a for a in answers if a is not None and a.status_code == 201]
        conflicts = [a for a in answers if a is not None and a.status_code == 409]
        assert len(created) + len(conflicts) == clients, [a and a.status_code for a in answers]
        for conflict in conflicts:
            assert "in progress" in problem(conflict, 409)["detail"]
        originals = [a for a in created if a.headers.get("Idempotent-Replayed") is None]
        assert len(originals) == 1
        (original,) = originals
        for answer in created:
            assert answer.body == original.body
            assert answer.headers["Location"] == original.headers["Location"]
            assert answer.headers.get_all("Idempotent-Replayed") in (None, ["true"])
        assert len(created) - 1 == sum(
            a.headers.get("Idempotent-Replayed") == "true" for a in created
        )

        listed = send(base_url, "GET", path).json
        assert listed == [original.json]
        with contextlib.closing(sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)) as db:
            (count,) = db.execute("SELECT COUNT(*) FROM observations").fetchone()
        assert count == 1

        retry = send(base_url, "POST", path, OBSERVATION, **headers)
        assert retry.status_code == 201
        assert retry.headers["Idempotent-Replayed"] == "true"
        assert (retry.body, retry.headers["Location"]) == (
            original.body, original.headers["Location"]
        )
        other = send(base_url, "POST", path, {**OBSERVATION, "temperature_c": 13}, **headers)
        assert "Idempotency-Key" in problem(other, 422)["detail"]
        assert len(send(base_url, "GET", path).json) == 1


# -- rate limits --------------------------------------------------------------------------------


def test_the_sixth_request_from_one_client_is_429(db_path, live_server) -> None:
    site = create_site(db_path, api_token=TOKEN, rate_limit="5/minute")
    try:
        with live_server(site) as base_url:
            answers = [send(base_url, "GET", "/stations") for _ in range(5)]
            assert [a.status_code for a in answers] == [200] * 5
            assert [remaining(a, 5) for a in answers] == [4, 3, 2, 1, 0]
            refused = send(base_url, "GET", "/")
            assert "5 per minute" in problem(refused, 429)["detail"]
            assert 1 <= int(refused.headers["Retry-After"]) <= 12
            assert remaining(refused, 5) == 0
            problem(send(base_url, "POST", "/stations", STATION, **AUTH), 429)
    finally:
        site.close()


# -- python -m sample_project -------------------------------------------------------------------


def sample_env(tmp_path: Path, **settings: str) -> dict[str, str]:
    env = {
        key: value for key, value in os.environ.items()
        if key not in ("HOST", "PORT", "SAMPLE_API_TOKEN", "SAMPLE_RATE_LIMIT", "SAMPLE_DB")
    }
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    env["SAMPLE_DB"] = str(tmp_path / "served.sqlite")
    env["SAMPLE_SEED"] = "0"  # these tests count what they create
    env.update(settings)
    return env


@contextlib.contextmanager
def sample_process(tmp_path: Path, **settings: str) -> Iterator[tuple[str, queue.Queue[str]]]:
    """``python -m sample_project`` on a free port: yields its URL and its output lines."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "sample_project"],
        cwd=tmp_path, env=sample_env(tmp_path, PORT=str(port), **settings),
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    reader = threading.Thread(
        target=lambda: [lines.put(line) for line in process.stdout], daemon=True
    )
    reader.start()
    try:
        wait_until_serving(port, process)
        yield f"http://127.0.0.1:{port}", lines
    finally:
        stop(process)
        reader.join(timeout=10)


def line_matching(lines: queue.Queue[str], pattern: str, seconds: float = TIMEOUT) -> re.Match:
    deadline = time.monotonic() + seconds
    seen = []
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=max(0.01, deadline - time.monotonic()))
        except queue.Empty:
            break
        seen.append(line)
        match = re.search(pattern, line)
        if match:
            return match
    raise AssertionError(f"no line matched {pattern!r} in {seen!r}")


def test_the_entry_point_prints_a_random_token_and_honours_the_rate_limit(tmp_path) -> None:
    with sample_process(tmp_path, SAMPLE_RATE_LIMIT="2/minute") as (base_url, lines):
        token = line_matching(lines, r"Authorization: Bearer (\S+)\s*$")[1]
        assert len(token) >= 20
        assert token != TOKEN
        created = send(base_url, "POST", "/stations", STATION, Authorization=f"Bearer {token}")
        assert created.status_code == 201, created.body
        assert remaining(created, 2) == 1
        assert send(base_url, "GET", "/stations").json == [created.json]
        refused = send(base_url, "GET", "/stations")
        problem(refused, 429)
        assert int(refused.headers["Retry-After"]) >= 1
        assert remaining(refused, 2) == 0


def test_the_entry_point_with_a_token_does_not_print_it(tmp_path) -> None:
    with sample_process(tmp_path, SAMPLE_API_TOKEN=TOKEN) as (base_url, lines):
        problem(send(base_url, "POST", "/stations", STATION, Authorization="Bearer x"), 401)
        assert send(base_url, "POST", "/stations", STATION, **AUTH).status_code == 201
        for _ in range(10):  # no rate limit unless asked for
            assert "RateLimit" not in send(base_url, "GET", "/").headers
    output = []
    while not lines.empty():
        output.append(lines.get_nowait())
    assert output and not any(TOKEN in line or "Bearer" in line for line in output)


@pytest.mark.parametrize("rate", ["lots", "0/minute", "5/fortnight", "5 per minute", "/minute"])
def test_a_malformed_rate_limit_exits_with_a_clear_message(tmp_path, rate) -> None:
    port = free_port()
    finished = subprocess.run(
        [sys.executable, "-m", "sample_project"],
        cwd=tmp_path, env=sample_env(tmp_path, PORT=str(port), SAMPLE_RATE_LIMIT=rate),
        capture_output=True, text=True, timeout=30, check=False,
    )
    assert finished.returncode != 0
    assert "SAMPLE_RATE_LIMIT" in finished.stderr
    assert repr(rate) in finished.stderr and "N/unit" in finished.stderr
    assert "Traceback" not in finished.stderr
    assert "serving" not in finished.stdout


def test_the_entry_point_answers_its_allowed_hosts_only(tmp_path) -> None:
    hosts = "weather.example.com, .example.org"
    with sample_process(tmp_path, SAMPLE_API_TOKEN=TOKEN, SAMPLE_ALLOWED_HOSTS=hosts) as (
        base_url, _,
    ):
        for host in ["weather.example.com", "api.example.org:8443"]:
            created = send(base_url, "POST", "/stations", STATION, Host=host, **AUTH)
            assert created.status_code == 201, created.body
            assert created.headers["Location"].startswith(f"http://{host}/stations/")
        refused = send(base_url, "POST", "/stations", STATION, Host="evil.example", **AUTH)
        assert problem(refused, 400)["detail"] == "this server does not answer to that Host"
        assert len(send(base_url, "GET", "/stations", Host="weather.example.com").json) == 2


def test_malformed_allowed_hosts_exit_with_a_clear_message(tmp_path) -> None:
    finished = subprocess.run(
        [sys.executable, "-m", "sample_project"],
        cwd=tmp_path,
        env=sample_env(tmp_path, PORT=str(free_port()), SAMPLE_ALLOWED_HOSTS="https://x.example"),
        capture_output=True, text=True, timeout=30, check=False,
    )
    assert finished.returncode != 0
    assert "SAMPLE_ALLOWED_HOSTS" in finished.stderr and "'https://x.example'" in finished.stderr
    assert "Traceback" not in finished.stderr


# -- behind a trusted proxy ---------------------------------------------------------------------


def proxied_site(trusted: list[str]) -> Site:
    site = Site(trusted_proxies=trusted)

    class Things(Resource):
        def get(self, request):
            return Page([{"id": 2}], limit=1, offset=1, total=3)

        def post(self, request):
            return Created({"id": 1}, location=request.url_for(Thing, thing_id=1))

    class Thing(Resource):
        def get(self, request, thing_id):
            return {"self": request.url_for(Thing, thing_id=thing_id),
                    "client": request.client_addr}

    site.add("/things", Things)
    site.add("/things/{thing_id:int}", Thing)
    return site


FORWARDED_HEADERS = [
    pytest.param({"X-Forwarded-Proto": "https", "X-Forwarded-Host": "api.example.com",
                  "X-Forwarded-For": "203.0.113.9"}, id="x-forwarded"),
    pytest.param({"Forwarded": 'for=203.0.113.9;proto=https;host="api.example.com"'},
                 id="forwarded"),
]


def check_links(base_url: str, headers: dict[str, str], trusted: bool) -> None:
    expected = "https://api.example.com" if trusted else base_url
    created = send(base_url, "POST", "/things", {}, **headers)
    assert created.status_code == 201
    assert created.headers["Location"] == f"{expected}/things/1"
    page = send(base_url, "GET", "/things?sort=id", **headers)
    (link,) = page.headers.get_all("Link")
    urls = re.findall(r"<([^>]+)>", link)
    assert len(urls) == 4  # first, prev, next, last
    assert all(url.startswith(f"{expected}/things?sort=id&limit=1&offset=") for url in urls)
    thing = send(base_url, "GET", "/things/1", **headers).json
    assert thing == {"self": f"{expected}/things/1",
                     "client": "203.0.113.9" if trusted else "127.0.0.1"}


@pytest.mark.parametrize("headers", FORWARDED_HEADERS)
@pytest.mark.parametrize("trusted", [True, False], ids=["trusted", "untrusted"])
def test_links_behind_a_proxy_over_http(headers, trusted) -> None:
    """A site trusting 127.0.0.1 gives https links; one trusting only 10.0.0.1 cannot be
    fooled by the same headers from 127.0.0.1 (waitress hands them on: the site decides)."""
    with served(proxied_site(["127.0.0.1"] if trusted else ["10.0.0.1"])) as base_url:
        check_links(base_url, headers, trusted)


PROXY_APP = """
import test_sample_production as t
site = t.proxied_site(["127.0.0.1"])
"""


def test_resourcekit_serve_believes_a_trusted_proxy(tmp_path) -> None:
    """The framework's own server (``resourcekit serve``, i.e. `resourcekit.serving.serve`)."""
    (tmp_path / "proxyapp.py").write_text(PROXY_APP)
    port = free_port()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), str(REPO / "tests")])}
    process = subprocess.Popen(
        [sys.executable, "-m", "resourcekit", "serve", "proxyapp:site", "--port", str(port)],
        cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        wait_until_serving(port, process)
        check_links(f"http://127.0.0.1:{port}", FORWARDED_HEADERS[0].values[0], trusted=True)
    finally:
        stop(process)
