"""Deployment under granian and gunicorn: ``resourcekit serve --workers 2`` behind nginx.

test_deployment.py runs three waitress processes; here one ``resourcekit serve
deployed_sample:site --server granian --workers 2`` (then gunicorn) serves the sample on
PostgreSQL and Redis behind nginx, configured as docs/guide/deploying-sample.md says. Writes
spread over the two workers: concurrent ``POST``s with an ``Idempotency-Key`` each (sent twice),
read-modify-write cycles with ``If-Match``; every acknowledged write is stored once. Last,
SIGTERM in the middle of a burst of writes: the server drains (what it acknowledged is stored)
and exits 0. Skipped, saying what is missing, where PostgreSQL, Redis, nginx or the server is
not installed (as test_deployment.py does).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import http.client
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import server_params
from helpers import free_port, wait_until_serving
from postgres import Postgres
from test_deployment import (
    REPO,
    TOKEN,
    Balancer,
    create_station,
    increment_from_many_clients,
    nginx,
    request,
)
from test_stores import redis_server

WORKERS = 2
WRITERS = 8
KEYED_WRITES = 15  # per writer
DRAIN_SECONDS = 40  # the server's own bound is 30 s (resourcekit.serving.DRAIN_SECONDS)


@dataclasses.dataclass
class Served:
    balancer: Balancer
    process: subprocess.Popen
    port: int
    log: Path
    database_url: str

    @property
    def base(self) -> str:
        return self.balancer.url

    @property
    def direct(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@pytest.fixture(scope="module", params=[p for p in server_params() if p.values[0] != "waitress"])
def server(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture(scope="module")
def deployment(
    server: str, postgres: Postgres, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Served]:
    directory = tmp_path_factory.mktemp(f"deployment-{server}")
    database_url = postgres.create_database(f"weather_{server}")
    with redis_server(directory) as redis_url:
        port = free_port()
        log = directory / "server.log"
        env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "SAMPLE_API_TOKEN": TOKEN,
            "SAMPLE_TRUSTED_PROXIES": "127.0.0.1",
            "PYTHONPATH": os.pathsep.join(
                filter(None, [str(REPO), str(REPO / "tests"), os.environ.get("PYTHONPATH")])
            ),
        }
        command = [sys.executable, "-m", "resourcekit", "serve", "deployed_sample:site",
                   "--server", server, "--workers", str(WORKERS), "--threads", "4",
                   "--port", str(port)]  # fmt: skip
        with open(log, "w") as out:
            process = subprocess.Popen(command, cwd=directory, env=env, stdout=out,
                                       stderr=subprocess.STDOUT)  # fmt: skip
        try:
            try:
                wait_until_serving(port, process, timeout=60)
            except AssertionError as exc:
                raise AssertionError(f"{exc}: {log.read_text()[-2000:]}") from None
            with nginx([port]) as balancer:
                yield Served(balancer, process, port, log, database_url)
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=DRAIN_SECONDS)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
        text = log.read_text()
        assert "Traceback" not in text and " ERROR " not in text, text[-3000:]


def _stored(database_url: str, station_id: int) -> Counter[dt.datetime]:
    import psycopg

    with psycopg.connect(database_url, autocommit=True) as db:
        rows = db.execute(
            "SELECT observed_at FROM observations WHERE station_id = %s", [station_id]
        ).fetchall()
    return Counter(row[0] for row in rows)


def _observation(minute: int) -> dict[str, Any]:
    at = dt.datetime(2024, 1, 1, tzinfo=dt.UTC) + dt.timedelta(minutes=minute)
    return {"observed_at": at.isoformat(), "temperature_c": 1.0}


def test_keyed_writes_from_many_clients_are_each_stored_once(deployment: Served) -> None:
    """Each write is sent twice with its key, the second time often while the first runs."""
    path, station_id = create_station(deployment.base)
    acknowledged: Counter[str] = Counter()
    problems: list[Any] = []
    start = threading.Barrier(WRITERS * 2)

    def writer(n: int) -> None:
        start.wait()
        for i in range(KEYED_WRITES):
            minute = n * 1000 + i
            key = {"Idempotency-Key": f"burst-{n}-{i}"}
            status, _, data = request(
                deployment.base, "POST", f"{path}/observations", _observation(minute), key
            )
            if status == 201:
                acknowledged[data["observed_at"]] += 1
            elif status != 409:  # the other copy holds the key: retried below
                problems.append((status, data))

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(WRITERS)
               for _ in range(2)]  # fmt: skip
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads)
    assert problems == []
    for n in range(WRITERS):  # a key answered 409 twice over is answered now, replayed
        for i in range(KEYED_WRITES):
            status, headers, data = request(
                deployment.base, "POST", f"{path}/observations", _observation(n * 1000 + i),
                {"Idempotency-Key": f"burst-{n}-{i}"},
            )  # fmt: skip
            assert (status, headers["Idempotent-Replayed"]) == (201, "true"), data
    stored = _stored(deployment.database_url, station_id)
    assert len(stored) == WRITERS * KEYED_WRITES
    assert set(stored.values()) == {1}  # none written twice
    assert {dt.datetime.fromisoformat(at) for at in acknowledged} <= set(stored)


def test_read_modify_write_with_if_match_loses_nothing(deployment: Served) -> None:
    increment_from_many_clients(deployment.base)


def test_sigterm_drains_the_writes_in_flight_and_exits_0(deployment: Served) -> None:
    """Writers POST straight to the server; SIGTERM comes once some are acknowledged. A write
    is acknowledged, or refused before the server read it; what was acknowledged is stored."""
    path, station_id = create_station(deployment.base)
    acknowledged: set[dt.datetime] = set()
    outcomes: Counter[Any] = Counter()
    stop = threading.Event()

    def writer(n: int) -> None:
        i = 0
        while not stop.is_set():
            body = _observation(n * 100_000 + i)
            i += 1
            try:
                status, _, data = request(deployment.direct, "POST", f"{path}/observations",
                                          body, {"Idempotency-Key": f"drain-{n}-{i}"})  # fmt: skip
            except ConnectionRefusedError:  # it no longer listens: the stop is done
                outcomes["refused"] += 1
                return
            except (OSError, http.client.HTTPException) as exc:
                outcomes[type(exc).__name__] += 1
                continue
            outcomes[status] += 1
            if status == 201:
                acknowledged.add(dt.datetime.fromisoformat(data["observed_at"]))

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(WRITERS)]
    for thread in threads:
        thread.start()
    try:
        deadline = time.monotonic() + 30
        while len(acknowledged) < 40 and time.monotonic() < deadline:
            time.sleep(0.01)
        deployment.process.send_signal(signal.SIGTERM)
        code = deployment.process.wait(timeout=DRAIN_SECONDS)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
    assert code == 0, deployment.log.read_text()[-2000:]
    assert not [o for o in outcomes if isinstance(o, int) and o >= 500], outcomes
    assert acknowledged <= set(_stored(deployment.database_url, station_id)), outcomes
    assert len(acknowledged) >= 40
