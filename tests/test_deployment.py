"""Deployment: three sample_project processes behind nginx, on one PostgreSQL, sharing one Redis.

The test starts every server itself, on 127.0.0.1, free ports and temporary folders: a private
PostgreSQL cluster (``initdb`` + ``pg_ctl``, as the ``postgres`` user when run as root), a
``redis-server``, three ``python -m sample_project`` processes (``DATABASE_URL``, ``REDIS_URL``)
and nginx in front of them, configured as docs/guide/deploying-sample.md says. Then:

- the whole in-process API suite (`test_sample_api.TestSampleAPI`) runs again on PostgreSQL;
- the SQLite and PostgreSQL stores give the same answers to the same calls, and several
  processes may create the schema at once;
- eight clients run read-modify-write cycles with ``If-Match`` through nginx, across the three
  processes, and no write is lost;
- twenty concurrent ``POST``s with one ``Idempotency-Key``, spread over the processes, create one
  observation; a rate limit is one limit across processes;
- requests per second through nginx with one process and with three; a sustained load with no
  5xx and no connection error;
- last, one process is killed with SIGKILL in the middle of a write load: every write that a
  client saw acknowledged is in the database once, and nginx keeps answering.

Where a server cannot be had (Debian: ``apt-get install postgresql redis-server nginx wrk``) the
tests that need it are skipped, saying what is missing; under CI (``CI=true``) they fail instead.
``wrk`` is optional: without it a Python client makes the load. The figures (requests per second,
writes acknowledged and found after the kill) are printed at the end of the module's run.
``RESOURCEKIT_LOAD_SECONDS`` shortens the sustained load (default: 30 s, as the issue asks).
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import grp
import http.client
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import test_sample_api as api
import test_sample_caching as caching
from helpers import free_port, stop, wait_until_serving
from postgres import Postgres
from test_sample_caching import CLIENTS, CYCLES, _increment
from test_stores import redis_server, unavailable

from resourcekit.testing import Client
from sample_project import create_site
from sample_project.app import open_database

REPO = Path(__file__).resolve().parents[1]
TOKEN = caching.TOKEN  # the read-modify-write clients of test_sample_caching send this one
AUTH = {"Authorization": f"Bearer {TOKEN}"}
STATION = {"name": "Sonnblick", "latitude": 47.05, "longitude": 12.96, "country": "AT"}
PROCESSES = 3
THREADS = 4  # waitress threads per process
LOCK_TTL = 3  # seconds a killed request's Idempotency-Key stays locked (default 60)
LOAD_SECONDS = float(os.environ.get("RESOURCEKIT_LOAD_SECONDS", "30"))
RATE_SECONDS = 5  # each requests-per-second measurement
TIMEOUT = 30  # any one HTTP request

FIGURES: dict[str, Any] = {}


# -- nginx --------------------------------------------------------------------------------------


def nginx_config(listen: int, backends: list[int], prefix: Path, user: str = "") -> str:
    """The guide's configuration, with the paths of a private prefix; test-only lines say so."""
    servers = "".join(
        f"        server 127.0.0.1:{port} max_fails=1 fail_timeout=2s;\n" for port in backends
    )
    return f"""\
daemon off;
{user}
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 1024; }}

http {{
    map $status $abnormal {{ ~^[23] 0; default 1; }}  # test only: log what is not 2xx/3xx
    log_format upstream '$status $request_method $request_uri $upstream_addr $upstream_status';
    access_log {prefix}/abnormal.log upstream if=$abnormal;
    client_body_temp_path {prefix}/tmp/body;
    proxy_temp_path {prefix}/tmp/proxy;
    fastcgi_temp_path {prefix}/tmp/fastcgi;
    uwsgi_temp_path {prefix}/tmp/uwsgi;
    scgi_temp_path {prefix}/tmp/scgi;
    keepalive_requests 1000000;  # test only: load tools reuse their connections

    upstream weather {{
{servers}        keepalive 32;
    }}

    server {{
        listen 127.0.0.1:{listen};
        client_max_body_size 1m;

        location / {{
            proxy_pass http://weather;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $remote_addr;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_set_header X-Forwarded-Host $http_host;
            proxy_set_header Forwarded "";
            proxy_connect_timeout 2s;
            proxy_read_timeout 60s;
            proxy_next_upstream error timeout;
            proxy_next_upstream_tries 3;
            add_header X-Upstream $upstream_addr always;  # test only: who answered
        }}
    }}
}}
"""


def _nginx_user() -> str:
    """As root, nginx's workers run as nobody; say so with the group this system has."""
    if os.geteuid() != 0:
        return ""
    for group in ("nogroup", "nobody"):
        with contextlib.suppress(KeyError):
            grp.getgrnam(group)
            return f"user nobody {group};"
    return "user root root;"


@dataclasses.dataclass
class Balancer:
    url: str
    prefix: Path

    def abnormal(self) -> str:
        """The answers that were not 2xx or 3xx, as nginx logged them."""
        log = self.prefix / "abnormal.log"
        return log.read_text()[-3000:] if log.exists() else ""


@contextlib.contextmanager
def nginx(backends: list[int]) -> Iterator[Balancer]:
    """nginx on 127.0.0.1 and a free port in front of ``backends``."""
    binary = shutil.which("nginx") or next(
        (path for path in ("/usr/sbin/nginx",) if os.access(path, os.X_OK)), None
    )
    if binary is None:
        unavailable("nginx is not installed (Debian: apt-get install nginx)")
    prefix = Path(tempfile.mkdtemp(prefix="resourcekit-nginx-"))
    prefix.chmod(0o755)  # the workers (nobody) create temporary files below it
    (prefix / "tmp").mkdir()
    port = free_port()
    conf = prefix / "nginx.conf"
    conf.write_text(nginx_config(port, backends, prefix, _nginx_user()))
    process = subprocess.Popen(
        [binary, "-c", str(conf), "-p", str(prefix)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        try:
            wait_until_serving(port, process, timeout=20)
        except AssertionError as exc:
            log = prefix / "error.log"
            tail = log.read_text()[-800:] if log.exists() else ""
            unavailable(f"nginx did not start ({exc}): {tail}")
        yield Balancer(f"http://127.0.0.1:{port}", prefix)
    finally:
        stop(process)
        shutil.rmtree(prefix, ignore_errors=True)


# -- sample processes ---------------------------------------------------------------------------


@dataclasses.dataclass
class Backend:
    port: int
    process: subprocess.Popen
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def start_backends(count: int, directory: Path, **settings: str) -> list[Backend]:
    """``count`` sample processes started at once (so they create the schema together)."""
    backends = []
    for _ in range(count):
        port = free_port()
        log = directory / f"sample-{port}.log"
        env = {
            **os.environ,
            "HOST": "127.0.0.1",
            "PORT": str(port),
            "THREADS": str(THREADS),
            "SAMPLE_API_TOKEN": TOKEN,
            "SAMPLE_SEED": "0",  # the tests count what they create
            "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
            **settings,
        }
        with open(log, "w") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "sample_project"],
                cwd=directory, env=env, stdout=out, stderr=subprocess.STDOUT,
            )  # fmt: skip
        backends.append(Backend(port, process, log))
    try:
        for backend in backends:
            try:
                wait_until_serving(backend.port, backend.process, timeout=30)
            except AssertionError as exc:
                raise AssertionError(f"{exc}: {backend.log.read_text()[-2000:]}") from None
    except BaseException:
        stop_backends(backends)
        raise
    return backends


def stop_backends(backends: list[Backend]) -> None:
    for backend in backends:
        if backend.process.poll() is None:
            backend.process.terminate()
    for backend in backends:
        try:
            backend.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            backend.process.kill()
            backend.process.wait(timeout=10)


@dataclasses.dataclass
class Deployment:
    balancer: Balancer
    backends: list[Backend]
    database_url: str
    redis_url: str
    directory: Path
    settings: dict[str, str]

    @property
    def base(self) -> str:
        return self.balancer.url


# -- fixtures -----------------------------------------------------------------------------------


class _Figures:
    """A plugin showing `FIGURES` in pytest's summary, so they are seen without ``-s``."""

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if FIGURES:
            terminalreporter.section("deployment figures")
            for name, value in FIGURES.items():
                terminalreporter.write_line(f"{name}: {value}")


@pytest.fixture(scope="module")
def figures(request: pytest.FixtureRequest) -> Iterator[dict[str, Any]]:
    """Figures the tests measure, for the summary at the end of the run."""
    plugins = request.config.pluginmanager
    if not plugins.has_plugin("resourcekit-deployment-figures"):
        plugins.register(_Figures(), "resourcekit-deployment-figures")
    started = time.monotonic()
    yield FIGURES
    elapsed = time.monotonic() - started
    FIGURES["deployment tests, from servers started to stopped"] = f"{elapsed:.0f} s"


@pytest.fixture(scope="module")
def deployment(
    postgres: Postgres, tmp_path_factory: pytest.TempPathFactory, figures: dict[str, Any]
) -> Iterator[Deployment]:
    if shutil.which("nginx") is None and not os.access("/usr/sbin/nginx", os.X_OK):
        unavailable("nginx is not installed (Debian: apt-get install nginx)")
    directory = tmp_path_factory.mktemp("deployment")
    database_url = postgres.create_database("weather")
    with redis_server(directory) as redis_url:
        settings = {
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "SAMPLE_TRUSTED_PROXIES": "127.0.0.1",
            "SAMPLE_IDEMPOTENCY_LOCK_TTL": str(LOCK_TTL),
        }
        started = time.monotonic()
        backends = start_backends(PROCESSES, directory, **settings)
        figures["start of 3 processes on an empty database"] = f"{time.monotonic() - started:.1f} s"
        try:
            with nginx([b.port for b in backends]) as balancer:
                yield Deployment(balancer, backends, database_url, redis_url, directory, settings)
        finally:
            stop_backends(backends)
        for backend in backends:  # no process may have logged a failure
            text = backend.log.read_text()
            assert "Traceback" not in text and " ERROR " not in text, text[-3000:]


# -- HTTP ---------------------------------------------------------------------------------------


def request(
    base: str, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
) -> tuple[int, http.client.HTTPMessage, Any]:
    """One request on a fresh connection: status, headers and the JSON body (or None)."""
    url = urlsplit(base)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=TIMEOUT)
    try:
        data = json.dumps(body).encode() if body is not None else None
        sent = {**AUTH, "Accept": "application/json", **(headers or {})}
        if data is not None:
            sent["Content-Type"] = "application/json"
        connection.request(method, path, body=data, headers=sent)
        response = connection.getresponse()
        payload = response.read()
        try:
            parsed = json.loads(payload) if payload else None
        except ValueError:
            parsed = payload
        return response.status, response.headers, parsed
    finally:
        connection.close()


def create_station(base: str, **fields: Any) -> tuple[str, int]:
    status, headers, station = request(base, "POST", "/stations", {**STATION, **fields})
    assert status == 201, station
    return urlsplit(headers["Location"]).path, station["id"]


# -- the stores ---------------------------------------------------------------------------------


class TestSampleAPIOnPostgres(api.TestSampleAPI):
    """Every in-process test of the sample API again, on PostgreSQL through `create_site(url)`.

    One database, emptied before each test; ``snapshot`` reads it instead of the SQLite file.
    """

    @pytest.fixture
    def db_path(self, postgres: Postgres, monkeypatch: pytest.MonkeyPatch) -> str:
        import psycopg

        url = _api_database(postgres)
        with psycopg.connect(url, autocommit=True) as db:
            tables = "stations, observations, resourcekit_idempotency"
            db.execute(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
        monkeypatch.setattr(api, "snapshot", _postgres_snapshot)
        return url


_API_DATABASE: dict[int, str] = {}


def _api_database(postgres: Postgres) -> str:
    """The database of the API tests, created with its tables once per cluster."""
    if postgres.port not in _API_DATABASE:
        url = postgres.create_database("api")
        create_site(url).close()
        _API_DATABASE[postgres.port] = url
    return _API_DATABASE[postgres.port]


def _postgres_snapshot(url: str) -> tuple[list[tuple], list[tuple]]:
    """Every row of both tables, as `test_sample_api.snapshot` reads them from SQLite."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as db:
        stations = db.execute("SELECT * FROM stations ORDER BY id").fetchall()
        observations = db.execute("SELECT * FROM observations ORDER BY id").fetchall()
    return stations, observations


def _exercise(target: Any) -> list[Any]:
    """The same requests to a sample on ``target``; what it answered (status and body), with
    the timestamps checked and removed."""
    site = create_site(target, api_token=api.TOKEN)
    client = Client(site, headers={"Authorization": f"Bearer {api.TOKEN}"})
    answers: list[Any] = []

    def keep(method: str, path: str, body: Any = None, **headers: str) -> Any:
        response = client.request(method, path, json=body, headers=headers)
        found = response.json if response.body else None
        answers.append((response.status_code, _without_times(found)))
        return found

    try:
        t = dt.datetime(2024, 5, 1, 12, tzinfo=dt.UTC)
        paris = keep("POST", "/stations", {"name": "Paris", "latitude": 48.8, "longitude": 2.3,
                                           "country": "FR"})
        assert paris["created_at"] == paris["updated_at"]
        assert paris["created_at"].endswith("+00:00")
        at = f"/stations/{paris['id']}"
        keep("POST", "/stations", {"name": "Berlin", "latitude": 52.5, "longitude": 13.4,
                                   "elevation_m": 34.0, "country": "DE"})
        keep("POST", "/stations", {"name": "Brest", "latitude": 48.4, "longitude": -4.4,
                                   "country": "FR"})
        for listed in ("limit=2", "limit=2&offset=2", "country=FR", "country=FR&offset=5",
                       "sort=-name&fields=id,name", "latitude[gte]=48.5"):
            keep("GET", f"/stations?{listed}")
        updated = keep("PATCH", at, {"elevation_m": 35.0}, **{"If-Match": '"1"'})
        assert updated["updated_at"] > paris["updated_at"]
        keep("PATCH", at, {"elevation_m": 36.0}, **{"If-Match": '"1"'})  # stale
        keep("PATCH", at, {}, **{"If-Match": '"2"'})  # nothing to change
        keep("PUT", at, {"name": "Paris", "latitude": 48.9, "longitude": 2.4, "country": "FR"})
        keep("PATCH", "/stations/999", {"name": "nowhere"})
        keep("GET", at)
        keep("GET", "/stations/999")
        for n, minutes in enumerate([30, 0, 45, 0, 15]):  # two at the same time
            observed = (t + dt.timedelta(minutes=minutes)).isoformat()
            keep("POST", f"{at}/observations", {
                "observed_at": observed, "temperature_c": 10.0 + n,
                "humidity_pct": 50.0 if n % 2 else None,
            })  # fmt: skip
        observation = keep("POST", "/stations/2/observations", {
            "observed_at": "2024-05-01T14:00:00+02:00", "temperature_c": -1.5,
        })  # fmt: skip
        assert observation["observed_at"] == "2024-05-01T12:00:00+00:00"  # stored in UTC
        keep("POST", "/stations/999/observations", {"observed_at": t.isoformat(),
                                                    "temperature_c": 1.0})
        for listed in ("limit=3", "limit=3&offset=3", "sort=temperature_c&fields=id",
                       "since=2024-05-01T12:15:00Z&until=2024-05-01T12:30:00Z",
                       "expand=station&limit=1"):
            keep("GET", f"{at}/observations?{listed}")
        keep("GET", f"{at}/observations/1")
        keep("GET", "/stations/2/observations/1")  # another station's
        keep("GET", f"{at}/weather")
        keep("GET", "/stations/3/weather")
        keep("DELETE", at, **{"If-Match": '"1"'})  # stale
        keep("DELETE", at, **{"If-Match": '"3"'})
        keep("DELETE", at)
        keep("GET", f"{at}/observations")
        keep("GET", "/stations/2/observations")
    finally:
        site.close()
    return answers


def _without_times(value: Any) -> Any:
    """Rows without created_at/updated_at (which differ by the microsecond between runs), and
    problems without their request_id (random per request)."""
    if isinstance(value, dict):
        return {k: _without_times(v) for k, v in value.items()
                if k not in ("created_at", "updated_at", "request_id")}  # fmt: skip
    if isinstance(value, list | tuple):
        return type(value)(_without_times(v) for v in value)
    return value


def test_postgres_and_sqlite_samples_answer_alike(postgres: Postgres, tmp_path: Path) -> None:
    assert _exercise(postgres.create_database("alike")) == _exercise(tmp_path / "alike.sqlite")


def test_processes_may_create_the_schema_at_once(postgres: Postgres) -> None:
    """Eight databases opened together on an empty one: the advisory lock serialises them."""
    url = postgres.create_database("race")
    start = threading.Barrier(8)
    stores: list[Any] = []
    made: list[list[str]] = []
    failures: list[BaseException] = []

    def open_store() -> None:
        start.wait()
        try:
            database = open_database(url)
            stores.append(database)
            made.append(database.create_all())
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=open_store) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    for store in stores:
        store.dispose()
    assert failures == []
    assert sorted("stations" in tables for tables in made) == [False] * 7 + [True]  # it seeds


def test_processes_starting_together_on_a_new_database_seed_it_once(
    postgres: Postgres, tmp_path: Path
) -> None:
    import psycopg

    from sample_project.seed import HOURS, STATIONS

    url = postgres.create_database("together")
    backends = start_backends(PROCESSES, tmp_path, DATABASE_URL=url, SAMPLE_SEED="1")
    stop_backends(backends)
    seeders = [b for b in backends if "seeded postgresql://" in b.log.read_text()]
    assert len(seeders) == 1, [b.log.read_text() for b in backends]
    with psycopg.connect(url, autocommit=True) as db:
        counts = [db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
                  for table in ("stations", "observations")]  # fmt: skip
    assert counts == [len(STATIONS), len(STATIONS) * HOURS]


# -- several processes behind nginx -------------------------------------------------------------


def increment_from_many_clients(base: str) -> None:
    """test_sample_caching's eight clients each incrementing one new station under
    ``If-Match``: every win is counted once and the station holds their sum."""
    path, _ = create_station(base, elevation_m=0.0)
    tally: list[int] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            _increment(base, path, tally)
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=180)
    assert not any(thread.is_alive() for thread in threads)
    assert errors == []
    assert len(tally) == CLIENTS * CYCLES
    status, _, station = request(base, "GET", path)
    assert status == 200
    assert station["elevation_m"] == CLIENTS * CYCLES


def test_read_modify_write_across_processes_loses_nothing(deployment: Deployment) -> None:
    """Through nginx, round-robin over three processes."""
    increment_from_many_clients(deployment.base)


def test_one_idempotency_key_across_processes_creates_one_observation(
    deployment: Deployment,
) -> None:
    path, station_id = create_station(deployment.base)
    body = {"observed_at": "2024-05-01T12:00:00+00:00", "temperature_c": 4.5}
    key = {"Idempotency-Key": "one-key-many-processes"}
    start = threading.Barrier(20)
    answers: list[tuple] = []

    def post() -> None:
        start.wait()
        answers.append(request(deployment.base, "POST", f"{path}/observations", body, key))

    threads = [threading.Thread(target=post) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    statuses = Counter(status for status, _, _ in answers)
    assert set(statuses) <= {201, 409}, answers
    created = [(headers, data) for status, headers, data in answers if status == 201]
    assert created, statuses
    assert len({json.dumps(data, sort_keys=True) for _, data in created}) == 1  # replays: the same
    location = created[0][0]["Location"]
    assert location.startswith(deployment.base)  # the client's view, through a trusted proxy
    answered_by = {headers["X-Upstream"] for _, headers, _ in answers}
    assert len(answered_by) == PROCESSES, answered_by  # spread over every process
    status, headers, again = request(deployment.base, "POST", f"{path}/observations", body, key)
    assert (status, headers["Idempotent-Replayed"], again) == (201, "true", created[0][1])
    assert _observations(deployment.database_url, station_id) == 1


def _observations(database_url: str, station_id: int) -> int:
    import psycopg

    with psycopg.connect(database_url, autocommit=True) as db:
        return db.execute(
            "SELECT count(*) FROM observations WHERE station_id = %s", [station_id]
        ).fetchone()[0]


def test_a_rate_limit_is_one_limit_across_processes(deployment: Deployment) -> None:
    """Two more processes with SAMPLE_RATE_LIMIT, asked in turn: ten requests in all, not twenty."""
    settings = {**deployment.settings, "SAMPLE_RATE_LIMIT": "10/minute"}
    settings.pop("SAMPLE_TRUSTED_PROXIES")  # asked directly: the client is 127.0.0.1 itself
    limited = start_backends(2, deployment.directory, **settings)
    try:
        statuses = [request(limited[n % 2].url, "GET", "/")[0] for n in range(20)]
    finally:
        stop_backends(limited)
    assert statuses == [200] * 10 + [429] * 10


# -- load -----------------------------------------------------------------------------------------

_WRK_SCRIPT = """
local n = 0
local station = "%(station)s"
request = function()
    n = n + 1
    if n %% 10 == 0 then
        local body = '{"observed_at": "2024-05-01T12:00:00Z", "temperature_c": 8.5}'
        return wrk.format("POST", station .. "/observations", {
            ["Content-Type"] = "application/json",
            ["Authorization"] = "Bearer %(token)s",
        }, body)
    elseif n %% 3 == 0 then
        return wrk.format("GET", "/stations?limit=5")
    elseif n %% 5 == 0 then
        return wrk.format("GET", station .. "/weather")
    end
    return wrk.format("GET", station)
end
"""


@dataclasses.dataclass
class Load:
    requests: int
    seconds: float
    errors: int  # connection errors and timeouts
    bad: int  # answers that are not 2xx (every request of the load expects one)
    tool: str
    output: str = ""

    @property
    def rate(self) -> float:
        return self.requests / self.seconds


def load_station(base: str) -> str:
    """A station with an observation, so that every request of the load has a 2xx answer."""
    station, _ = create_station(base)
    body = {"observed_at": "2024-05-01T11:00:00Z", "temperature_c": 8.0}
    assert request(base, "POST", f"{station}/observations", body)[0] == 201
    return station


def run_load(base: str, station: str, seconds: float, connections: int = 16) -> Load:
    """A mixed load (GETs, one POST in ten) through ``base``: wrk if installed, else Python."""
    wrk = shutil.which("wrk")
    if wrk is not None:
        with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
            script.write(_WRK_SCRIPT % {"station": station, "token": TOKEN})
        try:
            done = subprocess.run(
                [wrk, "-t", "2", "-c", str(connections), "-d", f"{seconds:g}s",
                 "--timeout", "10s", "-s", script.name, base],
                capture_output=True, text=True, timeout=seconds + 60, check=True,
            )  # fmt: skip
        finally:
            os.unlink(script.name)
        return _parse_wrk(done.stdout)
    return _python_load(base, station, seconds, connections)


def _parse_wrk(output: str) -> Load:
    total = re.search(r"(\d+) requests in ([\d.]+)(m?s|m)\b", output)
    assert total, output
    unit = {"ms": 0.001, "s": 1, "m": 60}[total.group(3)]
    socket_errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return Load(
        requests=int(total.group(1)),
        seconds=float(total.group(2)) * unit,
        errors=sum(map(int, socket_errors.groups())) if socket_errors else 0,
        bad=int(bad.group(1)) if bad else 0,
        tool="wrk",
        output=output,
    )


def _python_load(base: str, station: str, seconds: float, connections: int) -> Load:
    """The same mix from threads, each on one keep-alive connection."""
    url = urlsplit(base)
    deadline = time.monotonic() + seconds
    counts: Counter[str] = Counter()
    lock = threading.Lock()
    post = json.dumps({"observed_at": "2024-05-01T12:00:00Z", "temperature_c": 8.5}).encode()

    def client() -> None:
        connection = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
        n, mine = 0, Counter()
        while time.monotonic() < deadline:
            n += 1
            try:
                if n % 10 == 0:
                    connection.request("POST", f"{station}/observations", body=post,
                                       headers={**AUTH, "Content-Type": "application/json"})
                elif n % 3 == 0:
                    connection.request("GET", "/stations?limit=5")
                else:
                    connection.request("GET", f"{station}/weather" if n % 5 == 0 else station)
                response = connection.getresponse()
                response.read()
                mine["ok" if 200 <= response.status < 300 else "bad"] += 1
            except (OSError, http.client.HTTPException):
                mine["error"] += 1
                connection.close()
        connection.close()
        with lock:
            counts.update(mine)

    started = time.monotonic()
    threads = [threading.Thread(target=client) for _ in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=seconds + 60)
    elapsed = time.monotonic() - started
    return Load(sum(counts.values()), elapsed, counts["error"], counts["bad"], "python")


def test_requests_per_second_with_one_and_with_three_processes(
    deployment: Deployment, figures: dict[str, Any]
) -> None:
    """Measured and shown, never asserted: the machine is shared."""
    station = load_station(deployment.base)
    with nginx([deployment.backends[0].port]) as one:
        single = run_load(one.url, station, RATE_SECONDS)
        assert (single.errors, single.bad) == (0, 0), single.output + one.abnormal()
    triple = run_load(deployment.base, station, RATE_SECONDS)
    assert (triple.errors, triple.bad) == (0, 0), triple.output + deployment.balancer.abnormal()
    figures["requests per second through nginx, 1 process"] = f"{single.rate:.0f} ({single.tool})"
    figures["requests per second through nginx, 3 processes"] = f"{triple.rate:.0f} ({triple.tool})"


def test_sustained_load_gives_no_5xx_and_no_connection_error(
    deployment: Deployment, figures: dict[str, Any]
) -> None:
    station = load_station(deployment.base)
    load = run_load(deployment.base, station, LOAD_SECONDS)
    figures[f"sustained load, {LOAD_SECONDS:g} s"] = (
        f"{load.requests} requests, {load.rate:.0f}/s, {load.bad} not 2xx, "
        f"{load.errors} connection errors ({load.tool})"
    )
    assert (load.errors, load.bad) == (0, 0), load.output + deployment.balancer.abnormal()
    assert all(backend.process.poll() is None for backend in deployment.backends)


# -- faults: last, since it kills a process ------------------------------------------------------

WRITERS = 6


def test_sigkill_in_the_middle_of_writes_loses_nothing(
    deployment: Deployment, figures: dict[str, Any]
) -> None:
    """Clients POST with unique keys and retry the same key on 502 or a dropped connection."""
    path, station_id = create_station(deployment.base)
    victim = deployment.backends[1]
    acknowledged: dict[str, dt.datetime] = {}
    interrupted: set[str] = set()
    blocked: set[str] = set()
    retried: Counter[str] = Counter()
    problems: list[Any] = []
    reads: Counter[Any] = Counter()
    cut_off: list[str] = []
    stop = threading.Event()
    t0 = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)

    def write(key: str, observed_at: dt.datetime) -> None:
        body = {"observed_at": observed_at.isoformat(), "temperature_c": 1.0}
        give_up = time.monotonic() + LOCK_TTL + 30
        while time.monotonic() < give_up:
            try:
                status, headers, data = request(
                    deployment.base, "POST", f"{path}/observations", body, {"Idempotency-Key": key}
                )
            except (OSError, http.client.HTTPException):
                status, headers, data = None, {}, None
            if status == 201:
                acknowledged[key] = dt.datetime.fromisoformat(data["observed_at"])
                if key in interrupted:
                    retried[headers.get("Idempotent-Replayed", "ran again")] += 1
                return
            if status in (None, 502, 503, 504):  # the process died under it: same key again
                interrupted.add(key)
                time.sleep(0.05)
            elif status == 409:  # its claim is held by the dead process until LOCK_TTL
                blocked.add(key)
                time.sleep(0.25)
            else:
                problems.append((key, status, data))
                return
        problems.append((key, "gave up"))

    def writer(n: int) -> None:
        i = 0
        while not stop.is_set():
            write(f"writer-{n}-{i}", t0 + dt.timedelta(seconds=n * 1_000_000 + i))
            i += 1

    def read() -> Any:
        """A GET, sent again if its answer was cut off, as a client does with a safe request:
        nginx resends a request whose process failed before answering, but cannot take back an
        answer it had begun to relay when the process died."""
        for _ in range(3):
            try:
                return request(deployment.base, "GET", path)[0]
            except http.client.IncompleteRead:
                cut_off.append(path)
        return "IncompleteRead"

    def reader() -> None:
        while not stop.is_set():
            try:
                reads[read()] += 1
            except (OSError, http.client.HTTPException) as exc:
                reads[type(exc).__name__] += 1

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(WRITERS)]
    threads.append(threading.Thread(target=reader))
    for thread in threads:
        thread.start()
    try:
        deadline = time.monotonic() + 30
        while len(acknowledged) < 60 and time.monotonic() < deadline:
            time.sleep(0.01)
        victim.process.send_signal(signal.SIGKILL)
        victim.process.wait(timeout=10)
        before_kill = len(acknowledged)
        time.sleep(2.0)  # the load goes on without it
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=LOCK_TTL + 60)
    assert not any(thread.is_alive() for thread in threads)

    import psycopg

    with psycopg.connect(deployment.database_url, autocommit=True) as db:
        rows = db.execute(
            "SELECT observed_at, count(*) FROM observations WHERE station_id = %s"
            " GROUP BY observed_at",
            [station_id],
        ).fetchall()
    stored = dict(rows)
    missing = [key for key, at in acknowledged.items() if at not in stored]
    duplicated = {at: n for at, n in stored.items() if n > 1}
    figures["writes acknowledged / found after the SIGKILL"] = (
        f"{len(acknowledged)} / {sum(at in stored for at in acknowledged.values())}"
        f" ({before_kill} before the kill; {len(interrupted)} retried after a dropped"
        f" connection or 502; {len(duplicated)} duplicated)"
    )
    figures["reads through nginx during the kill"] = (
        f"{dict(reads)}; {len(cut_off)} answer(s) cut off by the kill, read again"
    )
    figures["interrupted writes"] = (
        f"{len(interrupted)}: {len(blocked)} waited for a dead claim (409);"
        f" answered by {dict(retried)}"
    )
    assert problems == []
    assert missing == []  # nothing acknowledged was lost
    assert set(stored) == set(acknowledged.values())  # each write was retried until acknowledged
    assert set(reads) == {200}, reads  # nginx kept answering: reads went to another process
    assert len(acknowledged) > before_kill  # and writes went on after the kill
    assert request(deployment.base, "GET", "/stations")[0] == 200
    assert duplicated == {}  # each key's row is written once, even when its answer was lost
