"""resourcekit.sql under concurrency, over real HTTP: of two writers racing with one
``If-Match`` on one row, exactly one wins, in two threads and in two processes."""

from __future__ import annotations

import json
import os
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers import free_port, http_request, running, wait_until_serving
from sqlapp import STATION, database_at, racing_site

from resourcekit.sql import Database

ROUNDS = 3
TESTS = Path(__file__).resolve().parent


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    with database_at(request.param, request, tmp_path) as database:
        yield database


def _race(bases: list[str], path: str, tag: str) -> list[int]:
    """Two PATCHes with the same ``If-Match`` at once, one to each base URL; their statuses."""
    statuses: list[int] = []
    start = threading.Barrier(2)

    def write(base: str, name: str) -> None:
        body = json.dumps({"name": name}).encode()
        headers = {"Content-Type": "application/json", "If-Match": tag}
        start.wait()
        statuses.append(http_request(base, "PATCH", path, body, headers).status_code)

    threads = [threading.Thread(target=write, args=(b, f"writer {n}")) for n, b in enumerate(bases)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return sorted(statuses)


def _rounds(bases: list[str]) -> None:
    created = http_request(bases[0], "POST", "/stations", json.dumps(STATION).encode(),
                           {"Content-Type": "application/json"})
    assert created.status_code == 201, created.body
    path = f"/stations/{created.json['id']}"
    for round_ in range(ROUNDS):
        current = http_request(bases[0], "GET", path)
        assert _race(bases, path, current.headers["ETag"]) == [200, 412], f"round {round_}"
        after = http_request(bases[1], "GET", path)
        assert after.json["version"] == current.json["version"] + 1  # one write, not two


def test_two_threads_racing_with_one_if_match(db: Database, live_server: Any) -> None:
    with live_server(racing_site(db)) as base:
        _rounds([base, base])


def test_two_processes_racing_with_one_if_match(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    with database_at("postgresql", request, tmp_path) as db:
        url = db.url.render_as_string(hide_password=False)
        ports = [free_port(), free_port()]
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(TESTS.parent), str(TESTS)])}
        serve = [sys.executable, str(TESTS / "sqlapp.py"), url]
        with running([*serve, str(ports[0])], env=env) as a, \
             running([*serve, str(ports[1])], env=env) as b:
            wait_until_serving(ports[0], a)
            wait_until_serving(ports[1], b)
            _rounds([f"http://127.0.0.1:{port}" for port in ports])
