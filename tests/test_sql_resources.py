"""resourcekit.sql: the contract's CRUD behaviour, the same tests on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import threading
import xml.etree.ElementTree as ET
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlapp import (
    STATION,
    Base,
    Observations,
    Station,
    StationItem,
    Stations,
    count,
    database_at,
    make_site,
    station,
)

from resourcekit import ConfigurationError, Resource, Site
from resourcekit.sql import Database
from resourcekit.testing import Client

XML = {"Accept": "application/xml"}


def test_create_read_replace_merge_delete(client: Client) -> None:
    created = client.post("/stations", json=STATION)
    assert created.status_code == 201
    body = created.json
    assert created.headers["Location"] == f"http://localhost/stations/{body['id']}"
    assert created.headers["ETag"] == '"1"'
    assert "Last-Modified" in created.headers
    assert body["version"] == 1 and body["updated_at"].endswith("+00:00")
    path = f"/stations/{body['id']}"
    got = client.get(path)
    assert got.status_code == 200 and got.json == body
    replaced = client.put(path, json={"name": "Zugspitze", "latitude": 47.4, "country": "DE"})
    assert replaced.status_code == 200
    assert replaced.json["elevation_m"] is None and replaced.json["version"] == 2
    assert replaced.headers["ETag"] == '"2"'
    merged = client.patch(
        path, data=b'{"elevation_m": 2962}',
        headers={"Content-Type": "application/merge-patch+json"},
    )
    assert merged.status_code == 200
    assert merged.json["elevation_m"] == 2962 and merged.json["name"] == "Zugspitze"
    assert client.put(path, json={"name": "x"}).status_code == 422  # replace needs every field
    assert client.delete(path).status_code == 204
    assert client.get(path).status_code == 404
    assert client.delete(path).status_code == 404
    assert client.patch(path, json={"name": "y"}).status_code == 404


def test_xml_reads_back_as_json_does(client: Client) -> None:
    xml = (b"<station><name>Brocken</name><latitude>51.8</latitude><country>DE</country>"
           b"<elevation_m>1141</elevation_m></station>")
    created = client.post(
        "/stations", data=xml, headers={"Content-Type": "application/xml", **XML}
    )
    assert created.status_code == 201, created.text
    assert created.headers["Content-Type"].startswith("application/xml")
    as_json = client.get(created.headers["Location"]).json
    assert as_json["name"] == "Brocken" and as_json["elevation_m"] == 1141
    element = ET.fromstring(client.get(created.headers["Location"], headers=XML).body)
    assert element.findtext("name") == "Brocken"
    assert element.find("tags") is not None  # a list stays a list, even empty
    listed = ET.fromstring(client.get("/stations", headers=XML).body)
    assert [e.findtext("name") for e in listed] == ["Brocken"]


def test_nested_collection_lists_and_creates_only_its_rows(client: Client) -> None:
    first, second = station(client, name="A")["id"], station(client, name="B")["id"]
    reading = {"observed_at": "2024-05-01T12:00:00+02:00", "temperature_c": 3.5}
    made = client.post(f"/stations/{first}/observations", json=reading)
    assert made.status_code == 201, made.text
    assert made.json["station_id"] == first
    assert made.headers["Location"] == (
        f"http://localhost/stations/{first}/observations/{made.json['id']}"
    )
    assert made.headers["ETag"] == '"1"'
    assert made.json["observed_at"] == "2024-05-01T10:00:00+00:00"  # stored in UTC
    assert client.get(f"/stations/{first}/observations").json == [made.json]
    assert client.get(f"/stations/{second}/observations").json == []
    assert client.get(f"/stations/{second}/observations/{made.json['id']}").status_code == 404
    assert client.get("/stations/999/observations").status_code == 404
    assert client.post("/stations/999/observations", json=reading).status_code == 404


def test_not_found_names_the_missing_row_with_the_uri_fields(db: Database) -> None:
    class Named(StationItem):
        not_found = "no station {station_id}"

    class Under(Observations):
        not_found = "no station {station_id} to observe at"

    site = Site(title="Stations")
    site.add("/stations/{station_id:int}", Named(db))
    site.add("/stations/{station_id:int}/observations", Under(db))
    client = Client(site)
    assert client.get("/stations/7").json["detail"] == "no station 7"
    assert client.get("/stations/7/observations").json["detail"] == "no station 7 to observe at"


def test_if_match_is_a_compare_and_set(client: Client, db: Database) -> None:
    path = f"/stations/{station(client)['id']}"
    tag = client.get(path).headers["ETag"]
    changed = client.patch(path, json={"elevation_m": 1.0}, headers={"If-Match": tag})
    assert changed.status_code == 200
    stale = client.patch(path, json={"elevation_m": 2.0}, headers={"If-Match": tag})
    assert stale.status_code == 412
    assert client.delete(path, headers={"If-Match": tag}).status_code == 412
    assert client.get(path).json["elevation_m"] == 1.0
    fresh = client.get(path, headers=XML).headers["ETag"]  # the XML variant matches too
    assert client.delete(path, headers={"If-Match": fresh}).status_code == 204
    assert count(db, "stations") == 0


def test_last_modified_and_if_unmodified_since(client: Client) -> None:
    path = f"/stations/{station(client)['id']}"
    modified = client.get(path).headers["Last-Modified"]
    assert client.get(path, headers={"If-Modified-Since": modified}).status_code == 304
    past = format_datetime(dt.datetime(2000, 1, 1, tzinfo=dt.UTC), usegmt=True)
    refused = client.patch(path, json={"name": "late"}, headers={"If-Unmodified-Since": past})
    assert refused.status_code == 412
    assert client.get(path).json["name"] == STATION["name"]


def test_the_handlers_own_writes_share_the_transaction(db: Database) -> None:
    class Audited(Stations):
        def post(self, request: Any) -> Any:
            created = super().post(request)
            request.session.add(Station(name="audit", latitude=0, country="XX", version=1,
                                        updated_at=dt.datetime.now(dt.UTC)))
            if request.headers.get("X-Fail"):
                raise RuntimeError("after the row was written")
            return created

    site = Site()
    site.add("/stations", Audited(db))
    site.add("/stations/{station_id:int}", StationItem(db))
    client = Client(site)
    assert client.post("/stations", json=STATION).status_code == 201
    assert count(db, "stations") == 2
    failed = client.post("/stations", json={**STATION, "name": "other"}, headers={"X-Fail": "1"})
    assert failed.status_code == 500 and "audit" not in failed.text
    assert count(db, "stations") == 2  # both writes rolled back together


def test_select_scopes_every_method(db: Database) -> None:
    class Mine(Stations):
        def select(self, request: Any) -> Any:
            return super().select(request).where(Station.owner == request.headers["X-Owner"])

    class MineItem(StationItem):
        def select(self, request: Any) -> Any:
            return super().select(request).where(Station.owner == request.headers["X-Owner"])

    site = Site()
    site.add("/stations", Mine(db))
    site.add("/stations/{station_id:int}", MineItem(db))
    client = Client(site)
    with db.sessions.begin() as session:
        session.add_all([
            Station(name=n, latitude=1, country="AT", owner=o, updated_at=dt.datetime.now(dt.UTC))
            for n, o in (("ours", "a"), ("theirs", "b"))
        ])
    ours = {"X-Owner": "a"}
    listed = client.get("/stations", headers=ours).json
    assert [s["name"] for s in listed] == ["ours"]
    theirs = 3 - listed[0]["id"]
    path = f"/stations/{theirs}"
    assert client.get(path, headers=ours).status_code == 404
    assert client.put(path, json=STATION, headers=ours).status_code == 404
    assert client.patch(path, json={"name": "mine"}, headers=ours).status_code == 404
    assert client.delete(path, headers=ours).status_code == 404
    assert client.get(path, headers={"X-Owner": "b"}).json["name"] == "theirs"
    mine = f"/stations/{listed[0]['id']}"  # writes to a visible row check it in the statement
    assert client.patch(mine, json={"name": "still ours"}, headers=ours).status_code == 200
    assert client.delete(mine, headers=ours).status_code == 204
    assert count(db, "stations") == 1


def test_constraint_violations_are_problems_without_sql(client: Client, db: Database) -> None:
    station(client)
    taken = client.post("/stations", json=STATION)
    assert taken.status_code == 409
    assert taken.json["errors"] == {"name": ["This value is already taken."]}
    null = client.post("/stations", json={**STATION, "name": "n", "country": None})
    assert null.status_code == 422
    check = client.post("/stations", json={**STATION, "name": "c", "latitude": 91})
    assert check.status_code == 422
    for response in (taken, null, check):
        assert "INSERT" not in response.text and "stations" not in response.text
    # the kind comes from the driver's code, never from a message holding the client's data
    for name in ("unique duplicate key 23505", "Key (name)=(x)"):
        worded = client.post("/stations", json={**STATION, "name": name, "latitude": 91})
        assert worded.status_code == 422, worded.text
        unnamed = client.post("/stations", json={**STATION, "name": name, "country": None})
        assert unnamed.status_code == 422 and "name" not in unnamed.json.get("errors", {})
    assert count(db, "stations") == 1


def test_an_exhausted_pool_is_503_with_retry_after(
    request: pytest.FixtureRequest, tmp_path: Path, db: Database
) -> None:
    kind = db.engine.dialect.name
    options = {"pool_size": 1, "max_overflow": 0, "pool_timeout": 0.2}
    (tmp_path / "small").mkdir()
    with database_at(kind, request, tmp_path / "small", **options) as small:
        client = Client(make_site(small))
        assert client.get("/stations").status_code == 200
        held = small.engine.connect()
        try:
            busy = client.get("/stations")
            assert busy.status_code == 503
            assert busy.headers["Retry-After"] == "1"
            assert client.post("/stations", json=STATION).status_code == 503
        finally:
            held.close()
        assert client.get("/stations").status_code == 200
        assert small.check()


def test_idempotency_key_creates_once_even_after_a_crash(db: Database) -> None:
    key = {"Idempotency-Key": "order-1"}
    first = Client(make_site(db, idempotent=True)).post("/stations", json=STATION, headers=key)
    assert first.status_code == 201
    # a new process: its in-memory key store never saw the key, the table did
    restarted = Client(make_site(db, idempotent=True))
    again = restarted.post("/stations", json=STATION, headers=key)
    assert again.status_code == 201
    assert again.json == first.json and again.headers["Location"] == first.headers["Location"]
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert count(db, "stations") == 1
    other = Client(make_site(db, idempotent=True)).post(
        "/stations", json={**STATION, "name": "else"}, headers=key
    )
    assert other.status_code == 422
    assert count(db, "stations") == 1


def test_a_template_field_must_name_a_column(db: Database) -> None:
    with pytest.raises(ConfigurationError, match="station"):
        Site().add("/stations/{station:int}", StationItem(db))  # neither column nor mapped
    with pytest.raises(ConfigurationError, match="database"):
        Site().add("/stations", Stations)
    with pytest.raises(ConfigurationError, match="nope"):
        class Wrong(Stations):
            filters = ("nope",)


def test_importing_resourcekit_does_not_import_sqlalchemy() -> None:
    code = "import sys, resourcekit; print('sqlalchemy' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


def test_create_all_is_idempotent(db: Database) -> None:
    assert db.create_all() == []  # the fixture made them: none is new
    assert sa.inspect(db.engine).has_table("resourcekit_idempotency")
    assert set(Base.metadata.tables) <= set(sa.inspect(db.engine).get_table_names())


def test_create_all_names_the_tables_it_made(tmp_path: Path) -> None:
    fresh = Database(f"sqlite:///{tmp_path / 'new.db'}", Base.metadata)
    try:
        assert fresh.create_all() == list(Base.metadata.tables)
        assert fresh.create_all() == []
    finally:
        fresh.dispose()


def test_a_key_committed_by_a_concurrent_run_is_answered_with_its_row(db: Database) -> None:
    key = {"Idempotency-Key": "order-2"}
    first = Client(make_site(db, idempotent=True)).post("/stations", json=STATION, headers=key)
    late = make_site(db, idempotent=True)
    stations = next(r.target.resource for r in late.routes if r.template == "/stations")
    looked_up = stations._created_for
    calls: list[object] = []

    def lookup(*args: Any) -> Any:  # the first lookup ran before the other run committed
        calls.append(args)
        return None if len(calls) == 1 else looked_up(*args)

    stations._created_for = lookup
    again = Client(late).post("/stations", json=STATION, headers=key)
    assert again.status_code == 201, again.text
    assert again.json["id"] == first.json["id"] and len(calls) == 2
    assert count(db, "stations") == 1
    assert db.forget_keys(dt.timedelta(0)) == 1
    assert count(db, "resourcekit_idempotency") == 0


def test_sqlite_files_are_in_wal_mode_with_foreign_keys(db: Database) -> None:
    if db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite only")
    with db.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_a_plain_resource_writes_in_the_request_transaction(db: Database) -> None:
    class Import(Resource):
        @db.transactional
        def post(self, request: Any) -> None:
            for name in request.json_body["names"]:
                request.session.add(Station(name=name, latitude=0, country="AT",
                                            updated_at=dt.datetime.now(dt.UTC)))
                request.session.flush()

    site = Site()
    site.add("/import", Import)
    client = Client(site)
    assert client.post("/import", json={"names": ["a", "b"]}).status_code == 204
    refused = client.post("/import", json={"names": ["c", "a"]})  # "a" is taken: 409, no "c"
    assert refused.status_code == 409
    assert count(db, "stations") == 2


def test_create_all_is_safe_when_processes_start_together(db: Database) -> None:
    url = db.url.render_as_string(hide_password=False)
    with db.engine.begin() as connection:
        Base.metadata.drop_all(connection)
    starting = [Database(url, Base.metadata) for _ in range(4)]
    errors: list[BaseException] = []
    start = threading.Barrier(len(starting))

    def create(database: Database) -> None:
        start.wait()
        try:
            database.create_all()
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=create, args=(d,)) for d in starting]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    for database in starting:
        database.dispose()
    assert not errors, errors
    assert set(Base.metadata.tables) <= set(sa.inspect(db.engine).get_table_names())


def test_a_merge_patch_null_clears_a_column_and_json_patch_applies(client) -> None:
    station = {"name": "Brocken", "latitude": 51.8, "country": "DE", "elevation_m": 1141}
    path = client.post("/stations", json=station).headers["Location"]
    cleared = client.patch(path, data=b'{"elevation_m": null}',
                           headers={"Content-Type": "application/merge-patch+json"})
    assert cleared.status_code == 200, cleared.text
    assert cleared.json["elevation_m"] is None and cleared.json["name"] == "Brocken"
    replaced = client.patch(
        path, data=b'[{"op": "replace", "path": "/name", "value": "Harz"}]',
        headers={"Content-Type": "application/json-patch+json"},
    )
    assert replaced.status_code == 200, replaced.text
    assert (replaced.json["name"], replaced.json["latitude"]) == ("Harz", 51.8)
