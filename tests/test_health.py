"""``/healthz`` and ``/readyz`` (CONTRACT.md section 10): liveness, readiness checks by name,
``503`` with ``Retry-After``, a SQLite file and a Redis server going away and coming back."""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path

import pytest
from conftest import served
from helpers import assert_problem, free_port, http_request, item_site

from resourcekit import Site, auth
from resourcekit.health import Check, Health
from resourcekit.testing import Client


def test_healthz_answers_while_serving_and_runs_no_check() -> None:
    calls = []
    client = Client(item_site(health=[lambda: calls.append(1)]))
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json == {"status": "ok"}
    assert response.headers["Cache-Control"] == "no-store"
    assert calls == []


def passing() -> None:
    return None


def failing() -> bool:
    return False


def raising() -> None:
    raise ConnectionError("10.0.0.7:5432 refused, password=hunter2")


def test_readyz_200_when_every_check_passes() -> None:
    response = Client(item_site(health=[passing, lambda: True, Check("queue", lambda: 3)])).get(
        "/readyz")
    assert response.status_code == 200
    assert response.json == {"status": "ready", "checks": ["passing", "<lambda>", "queue"]}


def test_readyz_503_names_the_failing_checks(caplog) -> None:
    client = Client(item_site(health=Health([passing, failing, Check("db", raising)],
                                       retry_after=7)))
    with caplog.at_level(logging.WARNING, logger="resourcekit.health"):
        response = client.get("/readyz")
    problem = assert_problem(response, 503)
    assert problem["checks"] == ["failing", "db"]
    assert "failing" in problem["detail"] and "db" in problem["detail"]
    assert response.headers["Retry-After"] == "7"
    assert "hunter2" not in response.text and "10.0.0.7" not in response.text
    assert any(r.name == "resourcekit.health" and "db" in r.getMessage() for r in caplog.records)


def test_a_failing_check_is_logged_when_it_starts_failing_and_when_it_passes_again(
    caplog,
) -> None:
    state = {"up": False}

    def database() -> None:
        if not state["up"]:
            raise ConnectionError("connection refused")

    client = Client(item_site(health=[database]))
    with caplog.at_level(logging.DEBUG, logger="resourcekit.health"):
        for up in (False, False, False, True, True, False):
            state["up"] = up
            assert client.get("/readyz").status_code == (200 if up else 503)
    logged = [(r.levelname, r.getMessage()) for r in caplog.records
              if r.name == "resourcekit.health"]
    assert logged == [
        ("WARNING", "health check database fails: connection refused"),
        ("DEBUG", "health check database still fails: connection refused"),
        ("DEBUG", "health check database still fails: connection refused"),
        ("INFO", "health check database passes again"),
        ("WARNING", "health check database fails: connection refused"),
    ]
    warnings = [r for r in caplog.records if r.levelname == "WARNING"]
    assert all(r.exc_info and r.exc_info[0] is ConnectionError for r in warnings)


def test_no_credentials_needed_and_not_in_the_document() -> None:
    bearer = auth.Bearer(lambda token: None)
    s = item_site(health=[passing], authentication=[bearer])
    client = Client(s)
    assert client.get("/items/1").status_code == 401
    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").status_code == 200
    assert set(s.openapi()["paths"]) == {"/items/{item_id}"}


def test_a_check_must_be_callable() -> None:
    with pytest.raises(TypeError, match="not callable"):
        Site(health=["database"])


def test_a_bound_method_is_named_by_its_class() -> None:
    class Queue:
        def check(self) -> bool:
            return True

    response = Client(item_site(health=[Queue().check])).get("/readyz")
    assert response.json["checks"] == ["Queue.check"]


def break_file(path: Path) -> None:
    """Make the SQLite file unopenable: chmod 000, or, as root (whom modes do not stop), a
    folder where the file was."""
    if os.geteuid() != 0:
        path.chmod(0)
    else:
        path.rename(path.with_suffix(".away"))
        path.mkdir()


def mend_file(path: Path) -> None:
    if os.geteuid() != 0:
        path.chmod(0o644)
    else:
        path.rmdir()
        path.with_suffix(".away").rename(path)


def test_readyz_follows_a_sqlite_database(tmp_path: Path) -> None:
    sa = pytest.importorskip("sqlalchemy")
    from resourcekit.sql import Database

    path = tmp_path / "ready.db"
    database = Database(f"sqlite:///{path}", sa.MetaData())
    database.create_all()
    with served(item_site(health=[database.check])) as base_url:
        try:
            assert http_request(base_url, "GET", "/readyz").status_code == 200
            break_file(path)
            database.dispose()  # connections already open keep their file: new ones fail
            down = http_request(base_url, "GET", "/readyz")
            assert down.status_code == 503
            assert down.json["checks"] == ["Database.check"]
            assert down.headers["Retry-After"] == "5"
            assert http_request(base_url, "GET", "/healthz").status_code == 200
            mend_file(path)
            database.dispose()
            assert http_request(base_url, "GET", "/readyz").status_code == 200
        finally:
            if path.is_dir():
                mend_file(path)
            database.dispose()


def test_readyz_follows_a_redis_server(tmp_path: Path) -> None:
    from test_stores import redis_module, redis_server

    from resourcekit.idempotency import Idempotency
    from resourcekit.ratelimit import RateLimit
    from resourcekit.redis import RedisIdempotencyStore, RedisRateLimitStore

    redis = redis_module()
    port = free_port()
    client = redis.Redis(host="127.0.0.1", port=port, socket_timeout=1,
                         socket_connect_timeout=1)
    limits, keys = RedisRateLimitStore(client), RedisIdempotencyStore(client)
    s = item_site(health=[limits.check, keys.check], idempotency=Idempotency(keys),
             rate_limit=RateLimit("1000/minute", store=limits))
    with served(s) as base_url:
        with redis_server(tmp_path, port=port):
            assert http_request(base_url, "GET", "/readyz").status_code == 200
        down = http_request(base_url, "GET", "/readyz")
        assert down.status_code == 503
        assert down.json["checks"] == ["RedisRateLimitStore.check",
                                       "RedisIdempotencyStore.check"]
        with redis_server(tmp_path, port=port):
            assert http_request(base_url, "GET", "/readyz").status_code == 200
    client.close()


def test_redis_check_on_a_closed_port() -> None:
    redis = pytest.importorskip("redis")
    from resourcekit.redis import RedisRateLimitStore

    client = redis.Redis(host="127.0.0.1", port=free_port(), socket_connect_timeout=1)
    assert RedisRateLimitStore(client).check() is False
    assert shutil.which("true")
