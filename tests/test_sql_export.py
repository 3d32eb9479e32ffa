"""resourcekit.sql: bulk export of a collection as NDJSON and CSV, streamed, on SQLite and
PostgreSQL; and `resourcekit.Stream`, the result behind it, on a plain resource."""

from __future__ import annotations

import csv
import gzip
import http.client
import io
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import brotli
import pytest
from backports import zstd
from conftest import served
from helpers import assert_problem, free_port, rss_kib, wait_until_serving
from sqlapp import add_observations, make_site, station

from resourcekit import Resource, Site, Stream
from resourcekit.sql import Database
from resourcekit.testing import Client

NDJSON = {"Accept": "application/x-ndjson"}
CSV = {"Accept": "text/csv"}
TESTS = Path(__file__).parent


def _lines(body: bytes) -> list[dict[str, Any]]:
    assert body.endswith(b"\n") or not body
    return [json.loads(line) for line in body.splitlines()]


def _table(body: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(body.decode(), newline="")))


def test_ndjson_exports_every_matching_row_unpaginated(client: Client, db: Database) -> None:
    made = station(client)
    add_observations(db, made["id"], range(250))  # beyond max_limit (100) and default_limit (20)
    path = f"/stations/{made['id']}/observations?temperature_c[gte]=3"
    response = client.get(path, headers=NDJSON)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/x-ndjson"
    assert "Link" not in response.headers and "ETag" not in response.headers
    assert "Accept" in response.headers["Vary"]
    rows = _lines(response.body)
    assert len(rows) == sum(1 for h in range(250) if h % 7 >= 3)
    assert all(row["temperature_c"] >= 3 for row in rows)
    times = [row["observed_at"] for row in rows]
    assert times == sorted(times, reverse=True)  # the default sort, -observed_at
    assert set(rows[0]) == {"id", "station_id", "observed_at", "temperature_c", "version",
                            "updated_at"}
    assert db.engine.pool.checkedout() == 0  # the export's connection went back


def test_limit_and_cursor_do_not_page_an_export(client: Client, db: Database) -> None:
    made = station(client)
    add_observations(db, made["id"], range(30))
    path = f"/stations/{made['id']}/observations?limit=5&sort=observed_at"
    assert len(_lines(client.get(path, headers=NDJSON).body)) == 30
    assert len(client.get(path).json) == 5


def test_csv_has_a_header_and_a_line_per_row(client: Client) -> None:
    station(client, name='Säntis, "the peak"\nof Appenzell', elevation_m=None)
    station(client, name="Zugspitze", country="DE", elevation_m=2962.0)
    response = client.get("/stations?sort=-name", headers=CSV)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.body.count(b"\r\n") == 3  # the header and two rows; a quoted newline
    header, *rows = _table(response.body)
    assert header == ["id", "name", "latitude", "country", "elevation_m", "tags", "version",
                      "updated_at"]
    assert [row[1] for row in rows] == ["Zugspitze", 'Säntis, "the peak"\nof Appenzell']
    assert rows[0][4] == "2962.0" and rows[1][4] == ""  # null is an empty cell
    assert rows[0][5] == "[]"  # a list, as JSON


def test_fields_and_expand_shape_an_export(client: Client, db: Database) -> None:
    made = station(client)
    add_observations(db, made["id"], range(3))
    path = f"/stations/{made['id']}/observations?fields=id,temperature_c,station&expand=station"
    header, *rows = _table(client.get(path, headers=CSV).body)
    assert header == ["id", "temperature_c", "station"]
    assert len(rows) == 3 and json.loads(rows[0][2])["name"] == "Sonnblick"
    lines = _lines(client.get(path, headers=NDJSON).body)
    assert {tuple(line) for line in lines} == {("id", "temperature_c", "station")}
    assert lines[0]["station"]["id"] == made["id"]


def test_an_empty_export(client: Client) -> None:
    assert client.get("/stations", headers=NDJSON).body == b""
    response = client.get("/stations?country=ZZ", headers=CSV)
    assert response.status_code == 200
    assert _table(response.body) == [["id", "name", "latitude", "country", "elevation_m",
                                      "tags", "version", "updated_at"]]


def test_an_export_answers_errors_as_problems(client: Client) -> None:
    station(client)
    assert_problem(client.get("/stations/404/observations", headers=NDJSON), 404)
    response = client.get("/stations?color=red", headers=CSV)
    assert_problem(response, 400)
    assert "color" in response.json["detail"]
    assert_problem(client.get("/stations/1", headers=CSV), 406)  # an item has no export


def test_the_json_list_wins_where_the_client_prefers_it(client: Client) -> None:
    station(client)
    response = client.get("/stations", headers={"Accept": "text/csv;q=0.5, application/json"})
    assert response.headers["Content-Type"] == "application/json"
    response = client.get("/stations", headers={"Accept": "application/json;q=0.5, text/csv"})
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"


def test_head_of_an_export_releases_its_connection(db: Database, tmp_path: Any) -> None:
    client = Client(make_site(db))
    station(client)
    for _ in range(3 * (5 + 5)):  # more than the pool holds
        response = client.head("/stations", headers=NDJSON)
        assert response.status_code == 200 and response.body == b""
    assert db.engine.pool.checkedout() == 0


def test_the_openapi_document_lists_the_export_formats(db: Database) -> None:
    document = make_site(db).openapi()
    listed = document["paths"]["/stations"]["get"]["responses"]["200"]["content"]
    assert {"application/json", "application/x-ndjson", "text/csv"} <= set(listed)
    item = document["paths"]["/stations/{station_id}"]["get"]["responses"]["200"]["content"]
    assert "text/csv" not in item


@pytest.mark.parametrize("coding", ["gzip", "br", "zstd"])
def test_a_coded_export_decodes_to_the_identity_one(db: Database, coding: str) -> None:
    client = Client(make_site(db, compression=True))
    made = station(client)
    add_observations(db, made["id"], range(2000))
    path = f"/stations/{made['id']}/observations"
    identity = client.get(path, headers=NDJSON).body
    response = client.get(path, headers={**NDJSON, "Accept-Encoding": coding})
    assert response.headers["Content-Encoding"] == coding
    assert "Accept-Encoding" in response.headers["Vary"]
    decode = {"gzip": gzip.decompress, "br": brotli.decompress, "zstd": zstd.decompress}[coding]
    assert decode(response.body) == identity
    assert len(response.body) < len(identity) / 4


# -- over HTTP ---------------------------------------------------------------------------------


def test_over_http_an_export_is_chunked(db: Database) -> None:
    site = make_site(db)
    client = Client(site)
    made = station(client)
    add_observations(db, made["id"], range(3000))
    with served(site) as base_url:
        connection = http.client.HTTPConnection(base_url.removeprefix("http://"), timeout=30)
        connection.request("GET", f"/stations/{made['id']}/observations", headers=CSV)
        response = connection.getresponse()
        assert response.status == 200
        assert response.getheader("Transfer-Encoding") == "chunked"
        assert response.getheader("Content-Length") is None
        assert response.getheader("X-Request-ID")
        assert len(_table(response.read())) == 3001
        connection.close()
    assert db.engine.pool.checkedout() == 0


EXPORT_SERVER = textwrap.dedent("""
    import datetime as dt
    import sys
    from sqlapp import Base, Observation, Station, make_site
    from resourcekit.serving import serve
    from resourcekit.sql import Database

    db = Database(sys.argv[1], Base.metadata)
    db.create_all()
    now = dt.datetime.now(dt.UTC)
    with db.sessions.begin() as session:
        session.add(Station(id=1, name="Sonnblick", latitude=47.05, country="AT",
                            updated_at=now))
    with db.engine.begin() as connection:
        connection.execute(Observation.__table__.insert(), [
            {"station_id": 1, "observed_at": now - dt.timedelta(minutes=n),
             "temperature_c": n % 40 - 10.0, "version": 1, "updated_at": now}
            for n in range(100_000)
        ])
    serve(make_site(db), port=int(sys.argv[2]), threads=2, announce=lambda line: None)
""")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_an_export_of_100000_rows_streams_in_bounded_memory(tmp_path: Any) -> None:
    port = free_port()
    url = f"sqlite:///{tmp_path / 'export.db'}"
    process = subprocess.Popen(
        [sys.executable, "-c", EXPORT_SERVER, url, str(port)], cwd=TESTS,
        env={**os.environ, "PYTHONPATH": f"{TESTS.parent}{os.pathsep}{TESTS}"},
    )
    try:
        wait_until_serving(port, process, timeout=60)
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        connection.request("GET", "/stations/1/observations?limit=1")  # warm: one page
        assert connection.getresponse().read()
        before = rss_kib(process.pid)
        peak, lines, size = before, 0, 0
        connection.request("GET", "/stations/1/observations", headers=NDJSON)
        response = connection.getresponse()
        assert response.status == 200
        while chunk := response.read(256 * 1024):
            lines += chunk.count(b"\n")
            size += len(chunk)
            peak = max(peak, rss_kib(process.pid))
        assert lines == 100_000
        assert size > 100_000 * 100  # the whole rows, not a page
        assert peak - before < 30 * 1024  # KiB: under 30 MiB
        connection.close()
    finally:
        process.terminate()
        process.wait(timeout=10)


# -- Stream on a resource of one's own -----------------------------------------------------------


class Numbers(Resource):
    """Streams ``n`` numbers; fails after ``fail`` of them where given."""

    def __init__(self) -> None:
        self.closed = 0

    def get(self, request: Any) -> Stream:
        count = int(request.GET.get("n", "3"))
        fail = int(request.GET.get("fail", "-1"))
        owner = self

        class Items:
            def __iter__(self) -> Any:
                for n in range(count):
                    if n == fail:
                        raise RuntimeError("the source broke")
                    yield {"n": n}

            def close(self) -> None:
                owner.closed += 1

        return Stream(Items(), headers={"X-Total": str(count)})


def _numbers_site() -> tuple[Site, Numbers]:
    from resourcekit.media.json import JSONHandler
    from resourcekit.media.ndjson import NDJSONHandler

    numbers = Numbers()
    site = Site(media=[JSONHandler(), NDJSONHandler()])
    site.add("/numbers", numbers)
    return site, numbers


def test_a_stream_in_a_format_that_does_not_stream_is_one_list() -> None:
    site, numbers = _numbers_site()
    response = Client(site).get("/numbers?n=4")
    assert response.json == [{"n": 0}, {"n": 1}, {"n": 2}, {"n": 3}]
    assert response.headers["X-Total"] == "4" and "ETag" in response.headers
    assert numbers.closed == 1
    response = Client(site).get("/numbers?n=2", headers=NDJSON)
    assert response.body == b'{"n":0}\n{"n":1}\n'
    assert numbers.closed == 2


def test_a_stream_that_fails_midway_is_cut_short_and_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    site, numbers = _numbers_site()
    with served(site) as base_url:
        connection = http.client.HTTPConnection(base_url.removeprefix("http://"), timeout=10)
        connection.request("GET", "/numbers?n=100000&fail=50000", headers=NDJSON)
        response = connection.getresponse()
        assert response.status == 200
        with pytest.raises(http.client.IncompleteRead):  # no last chunk: not complete
            response.read()
        connection.close()
    assert numbers.closed == 1
    failed = [r for r in caplog.records if "the streamed body failed" in r.getMessage()]
    assert failed and failed[0].levelname == "ERROR"
    assert getattr(failed[0], "request_id", None)


def test_a_body_read_to_its_end_is_released_without_close(db: Database) -> None:
    """A middleware that reads the body but forgets ``close()`` (PEP 3333) holds no cursor."""
    site = make_site(db)
    station(Client(site))
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/stations", "SERVER_NAME": "localhost",
               "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.1", "wsgi.url_scheme": "http",
               "wsgi.input": io.BytesIO(), "HTTP_ACCEPT": "application/x-ndjson",
               "HTTP_HOST": "localhost"}
    body = b"".join(site(environ, lambda status, headers, exc_info=None: None))
    assert len(_lines(body)) == 1
    assert db.engine.pool.checkedout() == 0
