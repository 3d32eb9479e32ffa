"""Request IDs: kept from a valid ``X-Request-ID``, made otherwise, in every response, problem
and log record of the request (CONTRACT.md section 10)."""

from __future__ import annotations

import io
import logging
import re
from typing import Any

import pytest
from conftest import served
from helpers import assert_problem, http_request, xml_problem

from resourcekit import Resource, Site, errors, requestid
from resourcekit.testing import Client

RANDOM = re.compile(r"[0-9a-f]{32}")
app_logger = logging.getLogger("tests.request_id.app")


class Hello(Resource):
    def get(self, request):
        app_logger.info("handling hello")
        return {"id": request.id}


class Boom(Resource):
    def get(self, request):
        raise RuntimeError("secret internals")


def site() -> Site:
    s = Site()
    s.add("/hello", Hello)
    s.add("/boom", Boom)
    return s


@pytest.mark.parametrize("sent", ["abc", "A-Z.a_z:0+9=/x", "7f3e2b1a-0c4d-4e5f-8a9b-1c2d3e4f5a6b",
                                  "x" * 200])
def test_a_valid_client_id_is_kept(sent: str) -> None:
    response = Client(site()).get("/hello", headers={"X-Request-ID": sent})
    assert response.headers["X-Request-ID"] == sent
    assert response.json == {"id": sent}


@pytest.mark.parametrize("sent", ["", "x" * 201, "a b", "<script>", "é", "a;b", "a\tb",
                                  "a,b", '"quoted"'])
def test_an_invalid_client_id_is_replaced(sent: str) -> None:
    response = Client(site()).get("/hello", headers={"X-Request-ID": sent})
    made = response.headers["X-Request-ID"]
    assert RANDOM.fullmatch(made)
    assert response.json == {"id": made}


def test_every_request_gets_its_own_id() -> None:
    client = Client(site())
    ids = {client.get("/hello").headers["X-Request-ID"] for _ in range(50)}
    assert len(ids) == 50 and all(RANDOM.fullmatch(i) for i in ids)


@pytest.mark.parametrize("accept", [None, "application/xml"])
def test_problems_carry_the_id(accept: str | None) -> None:
    headers = {"X-Request-ID": "req-1"} | ({"Accept": accept} if accept else {})
    response = Client(site()).get("/missing", headers=headers)
    assert response.status_code == 404
    assert response.headers["X-Request-ID"] == "req-1"
    problem = xml_problem(response.body) if accept else response.json
    assert problem["request_id"] == "req-1"


def test_a_500_carries_the_id_and_its_log_record_names_it(caplog) -> None:
    with caplog.at_level(logging.ERROR, logger="resourcekit"):
        response = Client(site()).get("/boom", headers={"X-Request-ID": "boom-1"})
    problem = assert_problem(response, 500)
    assert "secret" not in response.text
    assert response.headers["X-Request-ID"] == "boom-1" and problem["status"] == 500
    [record] = [r for r in caplog.records if r.name == "resourcekit"]
    assert record.request_id == "boom-1"


def test_errors_before_routing_carry_it_too() -> None:
    response = Client(site()).request("BREW", "/hello", headers={"X-Request-ID": "b"})
    assert response.status_code == 501
    assert response.headers["X-Request-ID"] == "b" and response.json["request_id"] == "b"
    bad_host = Client(site()).get("/hello", headers={"Host": "a b", "X-Request-ID": "h"})
    assert bad_host.status_code == 400 and bad_host.json["request_id"] == "h"


def test_the_applications_own_log_lines_name_the_request() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)  # no filter: every record carries the id
    handler.setFormatter(logging.Formatter("%(name)s %(request_id)s %(message)s"))
    app_logger.addHandler(handler)
    app_logger.setLevel(logging.INFO)
    try:
        Client(site()).get("/hello", headers={"X-Request-ID": "mine-7"})
        app_logger.info("outside any request")
    finally:
        app_logger.removeHandler(handler)
    assert stream.getvalue().splitlines() == [
        f"{app_logger.name} mine-7 handling hello", f"{app_logger.name} - outside any request"
    ]
    assert requestid.current.get() is None


def test_every_logger_names_the_request_and_the_filter_stays_for_other_factories(
    caplog: pytest.LogCaptureFixture,
) -> None:
    class Logs(Resource):
        def get(self, request: Any) -> dict[str, str]:
            for name in ("resourcekit.health", "resourcekit.sql", "elsewhere.deep.down", ""):
                logging.getLogger(name).warning("in %s", request.id)
            return {}

    logging_site = Site(title="Logs")
    logging_site.add("/logs", Logs)
    with caplog.at_level(logging.WARNING):
        Client(logging_site).get("/logs", headers={"X-Request-ID": "every-1"})
    made = [r for r in caplog.records if r.getMessage() == "in every-1"]
    assert len(made) == 4 and all(r.request_id == "every-1" for r in made)
    requestid.install()  # again: still one wrapper
    assert not isinstance(logging.getLogRecordFactory().made, type(logging.getLogRecordFactory()))
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "m", None, None)
    assert requestid.RequestIdFilter().filter(record) and record.request_id == "-"


def test_over_http_hostile_ids_never_reach_the_response() -> None:
    with served(site()) as base_url:
        kept = http_request(base_url, "GET", "/hello", headers={"X-Request-ID": "edge-42"})
        hostile = http_request(base_url, "GET", "/hello",
                               headers={"X-Request-ID": "x y<z>\\" + "a" * 300})
        problem = http_request(base_url, "GET", "/nowhere", headers={"X-Request-ID": "p-1"})
    assert kept.headers["X-Request-ID"] == "edge-42"
    assert RANDOM.fullmatch(hostile.headers["X-Request-ID"])
    assert problem.headers["X-Request-ID"] == "p-1" and problem.json["request_id"] == "p-1"


def test_an_error_handlers_problem_carries_the_id() -> None:
    s = site()
    s.add_error_handler(KeyError, lambda request, exc: errors.Conflict("taken"))

    class Clash(Resource):
        def get(self, request):
            raise KeyError("k")

    s.add("/clash", Clash)
    response = Client(s).get("/clash", headers={"X-Request-ID": "c-1"})
    assert response.status_code == 409 and response.json["request_id"] == "c-1"


def test_forked_workers_make_different_ids() -> None:
    """Prefork servers (gunicorn) fork after the site is built: each worker's ids are its own."""
    import multiprocessing

    context = multiprocessing.get_context("fork")
    with context.Pool(2) as pool:
        ids = pool.map(requestid.assign, [{}] * 8)
    ids.append(requestid.assign({}))
    assert all(RANDOM.fullmatch(one) for one in ids)
    assert len(set(ids)) == len(ids)
