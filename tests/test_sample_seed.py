"""sample_project's seed: a new database starts with real stations and a day of observations.

``python -m sample_project`` seeds the database it created (unless ``SAMPLE_SEED=0``), never one
that was there before; ``--seed`` seeds an empty database on demand and refuses one with stations.
"""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

import pytest
from test_sample_production import AUTH, TOKEN, line_matching, sample_env, sample_process, send

from resourcekit.testing import Client
from sample_project import create_site
from sample_project.schemas import ObservationSchema, StationSchema
from sample_project.seed import HOURS, STATIONS, observations, seed

NOW = dt.datetime(2026, 7, 14, 9, 41, 27, tzinfo=dt.UTC)
SEEDED = rf"seeded .*: {len(STATIONS)} stations, {len(STATIONS) * HOURS} observations"


@pytest.mark.parametrize("station", STATIONS, ids=lambda station: station.name)
def test_every_seed_value_passes_the_api_schemas(station) -> None:
    StationSchema().load(station.station())
    for observation in observations(station, NOW):
        as_json = {**observation, "observed_at": observation["observed_at"].isoformat()}
        ObservationSchema().load(as_json)


def test_a_day_of_hourly_observations_up_to_the_hour() -> None:
    times = [observation["observed_at"] for observation in observations(STATIONS[0], NOW)]
    assert len(times) == HOURS
    assert times[-1] == dt.datetime(2026, 7, 14, 9, tzinfo=dt.UTC)
    assert times == [times[0] + dt.timedelta(hours=hour) for hour in range(HOURS)]


def test_the_afternoon_is_warmer_than_the_night_in_local_time() -> None:
    """Mauna Loa is ten hours behind UTC: its 15:00 is 01:00 UTC, its 03:00 is 13:00 UTC."""
    mauna_loa = next(station for station in STATIONS if station.country == "US")
    by_hour = {o["observed_at"].hour: o for o in observations(mauna_loa, NOW)}
    assert by_hour[1]["temperature_c"] > by_hour[13]["temperature_c"] + 8
    assert by_hour[1]["humidity_pct"] < by_hour[13]["humidity_pct"]


def test_seed_writes_through_the_models(tmp_path: Path) -> None:
    site = create_site(tmp_path / "db.sqlite")
    try:
        assert seed(site.database, NOW) == (len(STATIONS), len(STATIONS) * HOURS)
        client = Client(site)
        rows = client.get("/stations?limit=100").json
        assert [row["name"] for row in rows] == [station.name for station in STATIONS]
        latest = client.get(f"/stations/{rows[0]['id']}/weather").json
        assert latest["observed_at"] == "2026-07-14T09:00:00+00:00"
        assert latest["station_name"] == STATIONS[0].name
    finally:
        site.close()


def test_the_first_start_seeds_the_new_database(tmp_path: Path) -> None:
    with sample_process(tmp_path, SAMPLE_SEED="1", SAMPLE_API_TOKEN=TOKEN) as (base_url, lines):
        line_matching(lines, SEEDED)
        stations = send(base_url, "GET", "/stations?limit=100").json
        assert [station["name"] for station in stations] == [station.name for station in STATIONS]
        first = stations[0]["id"]
        day = send(base_url, "GET", f"/stations/{first}/observations?limit=100").json
        assert len(day) == HOURS
        assert day == sorted(day, key=lambda o: o["observed_at"], reverse=True)
        weather = send(base_url, "GET", f"/stations/{first}/weather").json
        assert weather["station_name"] == STATIONS[0].name
        assert weather["observed_at"] == day[0]["observed_at"]
        assert send(base_url, "DELETE", f"/stations/{first}", **AUTH).status_code == 204
    with sample_process(tmp_path, SAMPLE_SEED="1") as (base_url, _):  # not new: not seeded again
        assert len(send(base_url, "GET", "/stations?limit=100").json) == len(STATIONS) - 1


def test_sample_seed_0_starts_empty_and_a_later_start_leaves_it_so(tmp_path: Path) -> None:
    with sample_process(tmp_path, SAMPLE_SEED="0") as (base_url, _):
        assert send(base_url, "GET", "/stations").json == []
    with sample_process(tmp_path, SAMPLE_SEED="1") as (base_url, _):
        assert send(base_url, "GET", "/stations").json == []


def run_sample(tmp_path: Path, *args: str, **settings: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sample_project", *args],
        cwd=tmp_path, env=sample_env(tmp_path, **settings),
        capture_output=True, text=True, timeout=60, check=False,
    )


def test_seed_option_seeds_an_empty_database_and_refuses_a_full_one(tmp_path: Path) -> None:
    database = tmp_path / "served.sqlite"  # sample_env's SAMPLE_DB
    create_site(database).close()  # made empty beforehand: not new when the sample opens it
    seeded = run_sample(tmp_path, "--seed")
    assert seeded.returncode == 0, seeded.stderr
    assert str(database) in seeded.stdout and "serving" not in seeded.stdout
    site = create_site(database)
    try:
        assert len(Client(site).get("/stations?limit=100").json) == len(STATIONS)
    finally:
        site.close()
    refused = run_sample(tmp_path, "--seed")
    assert refused.returncode == 1
    assert "has stations already" in refused.stderr and "Traceback" not in refused.stderr


def test_a_malformed_sample_seed_exits_with_a_clear_message(tmp_path: Path) -> None:
    finished = run_sample(tmp_path, SAMPLE_SEED="sometimes")
    assert finished.returncode == 1
    assert "SAMPLE_SEED" in finished.stderr and "'sometimes'" in finished.stderr
    assert "Traceback" not in finished.stderr
