"""A POST retried after its first run committed but lost its answer writes nothing new.

The idempotency store can lose a response (a process killed between the database commit and the
store write). The sample records the request's `Idempotency-Key` in the row's own transaction, so
the retry finds the row it already wrote.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from resourcekit.testing import Client
from sample_project import create_site

TOKEN = "exactly-once"
HEADERS = {"Authorization": f"Bearer {TOKEN}", "Idempotency-Key": "obs-1"}
STATION = {"name": "Brest", "latitude": 48.44, "longitude": -4.41, "country": "FR"}
OBSERVATION = {"observed_at": "2024-05-01T12:00:00+00:00", "temperature_c": 11.5}


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "db.sqlite"


def _site(db_path: Path):
    """A fresh site on the same database: its idempotency store remembers nothing."""
    return create_site(db_path, api_token=TOKEN)


def test_retry_after_a_lost_answer_finds_the_row(db_path):
    first_site, second_site = _site(db_path), _site(db_path)
    try:
        auth = {"Authorization": HEADERS["Authorization"]}
        station = Client(first_site, headers=auth).post("/stations", json=STATION).json["id"]
        path = f"/stations/{station}/observations"
        first = Client(first_site).post(path, json=OBSERVATION, headers=HEADERS)
        retried = Client(second_site).post(path, json=OBSERVATION, headers=HEADERS)
        assert first.status_code == retried.status_code == 201
        assert retried.json == first.json
        assert retried.headers["Location"] == first.headers["Location"]
        assert Client(second_site).get(path).json == [first.json]
    finally:
        first_site.close()
        second_site.close()


def test_keys_are_scoped_and_optional(db_path):
    """Each retry goes to a fresh site (a restarted process): only the database remembers."""
    sites = [_site(db_path) for _ in range(7)]
    auth = {"Authorization": HEADERS["Authorization"]}

    def post(site, path, body, key=None):
        headers = auth if key is None else {**auth, "Idempotency-Key": key}
        response = Client(site).post(path, json=body, headers=headers)
        assert response.status_code == 201, response.text
        return response.json

    try:
        station = post(sites[0], "/stations", STATION, "station-key")
        assert post(sites[1], "/stations", STATION, "station-key") == station
        assert post(sites[2], "/stations", STATION)["id"] != station["id"]
        assert post(sites[2], "/stations", STATION)["id"] != station["id"]  # no key: always new
        path = f"/stations/{station['id']}/observations"
        first = post(sites[3], path, OBSERVATION, "k")
        assert post(sites[4], path, OBSERVATION, "k") == first
        assert post(sites[5], path, OBSERVATION, "other") != first
        assert len(Client(sites[6]).get(path).json) == 2
    finally:
        for site in sites:
            site.close()
