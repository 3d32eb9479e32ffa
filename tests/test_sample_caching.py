"""sample_project's validators, conditional requests and caching (CONTRACT.md section 5).

Stations and observations carry ``ETag`` (their row version) and ``Last-Modified``; ``PUT``,
``PATCH`` and ``DELETE`` on a station honour ``If-Match``; the weather is cacheable for a minute.
The concurrency test runs read-modify-write cycles from eight clients over real HTTP and checks
that no write is lost or applied twice.
"""

from __future__ import annotations

import http.client
import json
import threading
from collections.abc import Iterator
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from linting import Linted

from resourcekit.testing import Client, TestResponse
from sample_project import create_site

TOKEN = "caching-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
STATION = {"name": "Zugspitze", "latitude": 47.42, "longitude": 10.98, "country": "DE"}
OBSERVATION = {"observed_at": "2024-05-01T12:00:00+00:00", "temperature_c": -3.5}
MEDIA = pytest.mark.parametrize("accept", ["application/json", "application/xml"])


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Any]:
    site = Linted(create_site(tmp_path / "db.sqlite", api_token=TOKEN))
    yield site
    site.close()
    assert site.problems == []


@pytest.fixture
def client(site: Any) -> Client:
    return Client(site, headers=AUTH)


@pytest.fixture
def station(client: Client) -> str:
    response = client.post("/stations", json=STATION)
    assert response.status_code == 201
    return urlsplit(response.headers["Location"]).path


def fetch(client: Client, path: str, accept: str, **headers: str) -> TestResponse:
    return client.get(path, headers={"Accept": accept, **headers})


@MEDIA
def test_station_has_validators_that_change_with_it(client, station, accept):
    first = fetch(client, station, accept)
    assert first.status_code == 200
    etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
    assert etag.startswith('"') and not etag.startswith("W/")
    assert parsedate_to_datetime(modified).tzinfo is not None
    assert client.patch(station, json={"name": "Zugspitze II"}).status_code == 200
    second = fetch(client, station, accept)
    assert second.headers["ETag"] != etag


@MEDIA
def test_unchanged_station_is_304(client, station, accept):
    etag = fetch(client, station, accept).headers["ETag"]
    again = fetch(client, station, accept, **{"If-None-Match": etag})
    assert again.status_code == 304
    assert again.body == b""
    assert again.headers["ETag"] == etag
    modified = fetch(client, station, accept).headers["Last-Modified"]
    assert fetch(client, station, accept, **{"If-Modified-Since": modified}).status_code == 304


def test_json_and_xml_tags_differ(client, station):
    json_tag = fetch(client, station, "application/json").headers["ETag"]
    xml_tag = fetch(client, station, "application/xml").headers["ETag"]
    assert json_tag != xml_tag


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE"])
def test_stale_if_match_changes_nothing(client, station, method):
    before = client.get(station)
    stale = before.headers["ETag"]
    assert client.patch(station, json={"elevation_m": 2962.0}).status_code == 200
    current = client.get(station)
    body = {**STATION, "name": "Overwritten"} if method != "DELETE" else None
    response = client.request(method, station, json=body, headers={"If-Match": stale})
    assert response.status_code == 412
    assert response.json["status"] == 412
    after = client.get(station)
    assert after.status_code == 200
    assert after.json == current.json


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
def test_fresh_if_match_writes_and_returns_the_new_tag(client, station, method):
    tag = client.get(station).headers["ETag"]
    body = {**STATION, "name": "Renamed"} if method == "PUT" else {"name": "Renamed"}
    response = client.request(method, station, json=body, headers={"If-Match": tag})
    assert response.status_code == 200
    assert response.json["name"] == "Renamed"
    assert response.headers["ETag"] not in (tag, None)
    assert response.headers["ETag"] == client.get(station).headers["ETag"]


def test_xml_tag_is_accepted_by_if_match(client, station):
    xml_tag = fetch(client, station, "application/xml").headers["ETag"]
    response = client.patch(station, json={"name": "From XML"}, headers={"If-Match": xml_tag})
    assert response.status_code == 200


def test_fresh_if_match_deletes(client, station):
    tag = client.get(station).headers["ETag"]
    assert client.delete(station, headers={"If-Match": tag}).status_code == 204
    assert client.get(station).status_code == 404


@MEDIA
def test_observation_has_validators(client, station, accept):
    created = client.post(f"{station}/observations", json=OBSERVATION)
    path = urlsplit(created.headers["Location"]).path
    response = fetch(client, path, accept)
    assert response.headers["ETag"] and response.headers["Last-Modified"]
    tag = response.headers["ETag"]
    assert fetch(client, path, accept, **{"If-None-Match": tag}).status_code == 304


@MEDIA
def test_weather_is_publicly_cacheable_for_a_minute(client, station, accept):
    client.post(f"{station}/observations", json=OBSERVATION)
    response = fetch(client, f"{station}/weather", accept)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "public, max-age=60"
    tag = response.headers["ETag"]
    not_modified = fetch(client, f"{station}/weather", accept, **{"If-None-Match": tag})
    assert not_modified.status_code == 304
    assert not_modified.headers["Cache-Control"] == "public, max-age=60"
    assert client.head(f"{station}/weather", headers={"Accept": accept}).headers[
        "Content-Length"
    ] == response.headers["Content-Length"]


def test_collections_get_a_tag_from_their_body(client, station):
    response = client.get("/stations")
    tag = response.headers["ETag"]
    assert client.get("/stations", headers={"If-None-Match": tag}).status_code == 304
    client.post("/stations", json={**STATION, "name": "Another"})
    assert client.get("/stations", headers={"If-None-Match": tag}).status_code == 200


# -- eight clients, read-modify-write over HTTP -----------------------------------------------

CLIENTS, CYCLES = 8, 25


def _call(base: str, method: str, path: str, body: Any = None, **headers: str) -> tuple:
    url = urlsplit(base)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    try:
        data = json.dumps(body).encode() if body is not None else None
        sent = {**AUTH, "Accept": "application/json", **headers}
        if data is not None:
            sent["Content-Type"] = "application/json"
        connection.request(method, path, body=data, headers=sent)
        response = connection.getresponse()
        payload = response.read()
        return response.status, response.headers, json.loads(payload) if payload else None
    finally:
        connection.close()


def _increment(base: str, path: str, tally: list[int]) -> None:
    """GET, add one to the counter, PUT with If-Match; on 412 start again."""
    done = 0
    while done < CYCLES:
        status, headers, station = _call(base, "GET", path)
        assert status == 200
        change = {**STATION, "elevation_m": station["elevation_m"] + 1}
        status, _, _ = _call(base, "PUT", path, change, **{"If-Match": headers["ETag"]})
        assert status in (200, 412), status
        if status == 200:
            done += 1
            tally.append(1)


def test_concurrent_read_modify_write_loses_nothing(site, client, live_server):
    path = urlsplit(client.post("/stations", json={**STATION, "elevation_m": 0.0})
                    .headers["Location"]).path
    tally: list[int] = []
    errors: list[BaseException] = []

    def worker(base: str) -> None:
        try:
            _increment(base, path, tally)
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    with live_server(site, threads=8) as base:
        threads = [threading.Thread(target=worker, args=(base,)) for _ in range(CLIENTS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert not any(thread.is_alive() for thread in threads)
    assert errors == []
    assert len(tally) == CLIENTS * CYCLES
    final = client.get(path).json
    assert final["elevation_m"] == CLIENTS * CYCLES
