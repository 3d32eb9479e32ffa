"""sample_project's API versions (contract section 9): ``2026-11-23``, the default, with the flat
wind of section 4, and ``2027-01-15``, whose observations nest it: ``"wind": {"speed_ms": ...,
"direction_deg": ...}``.

Clients of both versions share one database, in process and over real HTTP (`TestVersionsOverHTTP`
runs every test of `TestVersions` against waitress), each sending and reading back exactly its own
shape, in JSON and in XML.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import test_sample_api as api
from helpers import vary
from linting import Linted
from test_sample_http import HTTPClient

from resourcekit.testing import Client
from sample_project import create_site

OLD, NEW = "2026-11-23", "2027-01-15"
JSON, XML, MEDIA = api.JSON, api.XML, api.MEDIA
VERSIONS = pytest.mark.parametrize("version", [OLD, NEW])
FLAT = api.OBSERVATION  # 2026-11-23's shape
WIND = {"speed_ms": FLAT["wind_speed_ms"], "direction_deg": FLAT["wind_direction_deg"]}
NESTED = {**{k: v for k, v in FLAT.items() if not k.startswith("wind_")}, "wind": WIND}
CALM = {"observed_at": "2024-05-01T13:00:00+00:00", "temperature_c": 17.0}  # the same in both
STORED = ("id", "station_id")
STAMPS = ("created_at", "updated_at")
OLD_MEMBERS = [*STORED, *FLAT, *STAMPS]  # in the order of section 4's representations
NEW_MEMBERS = [*STORED, *NESTED, *STAMPS]


def flat(observation: dict[str, Any]) -> dict[str, Any]:
    """A 2027-01-15 observation as 2026-11-23 has it."""
    wind = observation["wind"]
    moved = {"wind_speed_ms": wind["speed_ms"], "wind_direction_deg": wind["direction_deg"]}
    members = [(k, v) for k, v in observation.items() if k != "wind"]
    at = list(observation).index("wind")
    return dict(members[:at] + list(moved.items()) + members[at:])


def send(client: Any, version: str | None, method: str, path: str, media: str = JSON,
         body: Any = None, **headers: str) -> Any:
    """``method path`` at ``version`` (none: no API-Version), the body encoded in ``media``."""
    headers = {"Accept": media, **headers}
    if version is not None:
        headers["API-Version"] = version
    data = None
    if body is not None:
        data = body if isinstance(body, bytes) else api.encode(body, media, "observation")
        headers["Content-Type"] = media
    return client.request(method, path, data=data, headers=headers)


def read(response: Any, status: int, version: str) -> Any:
    """The body of a successful answer at ``version``, XML typed as JSON types it."""
    assert response.status_code == status, response.body
    assert response.headers["API-Version"] == version
    body = api.decode(response)
    for item in body if isinstance(body, list) else [body]:
        wind = item.get("wind")
        if isinstance(wind, dict):  # the contract's numbers, nested: XML text to JSON's numbers
            item["wind"] = {k: None if v is None else float(v) for k, v in wind.items()}
    return body


def problem(response: Any, status: int, version: str) -> dict[str, Any]:
    assert response.headers["API-Version"] == version
    return api.assert_problem(response, status, XML if "xml" in response.headers[
        "Content-Type"] else JSON)


class TestVersions:
    @pytest.fixture
    def site(self, tmp_path: Path) -> Iterator[Any]:
        site = Linted(create_site(tmp_path / "db.sqlite", api_token=api.TOKEN))
        yield site
        site.close()
        assert site.problems == []

    @pytest.fixture
    def client(self, site: Any) -> Any:
        return Client(site, headers=api.AUTHORIZED)

    @pytest.fixture
    def station(self, client: Any) -> str:
        created = read(send(client, None, "POST", "/stations", body=api.PARIS), 201, OLD)
        return f"/stations/{created['id']}"

    @MEDIA
    def test_each_client_reads_back_exactly_its_own_shape(self, client, station, media):
        made = {}
        for turn in range(3):  # the two versions interleaved, writing and reading one table
            for version, body in ((OLD, FLAT), (NEW, NESTED)):
                sent = {**body, "observed_at": f"2024-05-01T1{turn}:00:00+00:00"}
                created = read(send(client, version, "POST", f"{station}/observations", media,
                                    sent), 201, version)
                # a collection's answers keep no member order (resourcekit.sql's sparse rows)
                assert set(created) == set(OLD_MEMBERS if version == OLD else NEW_MEMBERS)
                assert {k: created[k] for k in sent} == sent
                made[created["id"]] = created
        for obs_id, created in made.items():
            path = f"{station}/observations/{obs_id}"
            new = read(send(client, NEW, "GET", path, media), 200, NEW)
            old = read(send(client, OLD, "GET", path, media), 200, OLD)
            assert list(new) == NEW_MEMBERS and new["wind"] == WIND
            assert old == flat(new)
            assert created in (old, new)  # what its writer was answered, read back
            assert list(old) == OLD_MEMBERS
            assert read(send(client, None, "GET", path, media), 200, OLD) == old
        listed = {version: read(send(client, version, "GET", f"{station}/observations", media),
                                200, version) for version in (OLD, NEW)}
        assert listed[OLD] == [flat(item) for item in listed[NEW]]
        assert len(listed[NEW]) == 6 and all(set(o) == set(NEW_MEMBERS) for o in listed[NEW])
        weather = {version: read(send(client, version, "GET", f"{station}/weather", media), 200,
                                 version) for version in (OLD, NEW)}
        assert weather[NEW]["wind"] == WIND and weather[NEW]["station_name"] == "Paris-Montsouris"
        assert weather[OLD] == flat(weather[NEW])

    @MEDIA
    def test_expanded_and_sparse_lists_are_in_the_clients_shape(self, client, station, media):
        read(send(client, NEW, "POST", f"{station}/observations", media, NESTED), 201, NEW)
        path = f"{station}/observations?expand=station"
        (old,) = read(send(client, OLD, "GET", path, media), 200, OLD)
        (new,) = read(send(client, NEW, "GET", path, media), 200, NEW)
        assert old["wind_speed_ms"] == new["wind"]["speed_ms"] == WIND["speed_ms"]
        assert "wind" not in old and "wind_speed_ms" not in new
        assert old["station"] == new["station"]
        (sparse,) = read(send(client, OLD, "GET", f"{path}&fields=id,wind", media), 200, OLD)
        assert set(sparse) == {"id", "wind_speed_ms", "wind_direction_deg"}

    def test_an_export_is_in_the_clients_shape(self, client, station):
        read(send(client, NEW, "POST", f"{station}/observations", JSON, NESTED), 201, NEW)
        path = f"{station}/observations"
        old = json.loads(send(client, OLD, "GET", path, "application/x-ndjson").body)
        new = json.loads(send(client, NEW, "GET", path, "application/x-ndjson").body)
        assert list(old) == OLD_MEMBERS and list(new) == NEW_MEMBERS
        header = send(client, OLD, "GET", path, "text/csv").body.decode().splitlines()[0]
        assert header.split(",") == OLD_MEMBERS

    @VERSIONS
    def test_no_wind_reads_as_null_in_both_shapes(self, client, station, version):
        created = read(send(client, version, "POST", f"{station}/observations", JSON, CALM), 201,
                       version)
        path = f"{station}/observations/{created['id']}"
        new = read(send(client, NEW, "GET", path), 200, NEW)
        assert new["wind"] == {"speed_ms": None, "direction_deg": None}
        old = read(send(client, OLD, "GET", path), 200, OLD)
        assert (old["wind_speed_ms"], old["wind_direction_deg"]) == (None, None)

    @MEDIA
    @pytest.mark.parametrize("given", ["2027-02-30", "2026-11-22", "latest", "2027-01-15x"])
    def test_an_unknown_version_is_400_naming_the_known_ones(self, client, station, media,
                                                             given):
        for method, body in (("GET", None), ("POST", NESTED)):
            refused = send(client, given, method, f"{station}/observations", media, body)
            found = problem(refused, 400, OLD)
            assert OLD in found["detail"] and NEW in found["detail"]
            if media == JSON:
                assert found["versions"] == [OLD, NEW]
        assert read(send(client, NEW, "GET", f"{station}/observations"), 200, NEW) == []

    @MEDIA
    @pytest.mark.parametrize(
        ("version", "body", "errors"),
        [
            pytest.param(OLD, NESTED, {"wind": ["Unknown field."]}, id="nested-at-old"),
            pytest.param(NEW, FLAT, {"wind_speed_ms": ["Unknown field."],
                                     "wind_direction_deg": ["Unknown field."]}, id="flat-at-new"),
            pytest.param(OLD, {**FLAT, "wind_speed_ms": -1}, {"wind_speed_ms": None},
                         id="old-names-in-old-errors"),
            pytest.param(NEW, {**NESTED, "wind": {"speed_ms": -1}}, {"wind.speed_ms": None},
                         id="new-paths-in-new-errors"),
            pytest.param(NEW, {**NESTED, "wind": {"speed_ms": "3.4"}}, {"wind.speed_ms": None},
                         id="a-string-is-no-number"),
            pytest.param(NEW, {**NESTED, "wind": None}, {"wind": None}, id="wind-is-an-object"),
        ],
    )
    def test_a_body_in_the_wrong_shape_is_a_clear_422(self, client, station, media, version,
                                                      body, errors):
        wind = body.get("wind", {})
        if media == XML and (wind is None or isinstance(wind.get("speed_ms"), str)):
            pytest.skip("XML spells numbers and strings alike, and a null object as nil")
        refused = send(client, version, "POST", f"{station}/observations", media, body)
        found = problem(refused, 422, version)
        assert set(found["errors"]) == set(errors)
        for name, messages in errors.items():
            assert messages is None or found["errors"][name] == messages
        assert read(send(client, NEW, "GET", f"{station}/observations"), 200, NEW) == []

    def test_api_version_on_every_response(self, client, station):
        created = read(send(client, NEW, "POST", f"{station}/observations", JSON, NESTED), 201,
                       NEW)
        paths = ["/", "/stations", station, f"{station}/observations",
                 f"{station}/observations/{created['id']}", f"{station}/weather",
                 "/stations/999", "/stations?limit=0", "/openapi.json", "/nowhere"]
        for version in (None, OLD, NEW):
            for path in paths:
                for method in ("GET", "HEAD", "OPTIONS", "PATCH"):
                    answered = send(client, version, method, path)
                    assert answered.headers["API-Version"] == (version or OLD), (method, path)
            unauthorized = send(client, version, "POST", "/stations", JSON, api.PARIS,
                                Authorization="Bearer wrong")
            assert unauthorized.status_code == 401
            assert unauthorized.headers["API-Version"] == (version or OLD)

    @MEDIA
    def test_observations_vary_by_version_and_stations_do_not(self, client, station, media):
        created = read(send(client, OLD, "POST", f"{station}/observations", media, FLAT), 201,
                       OLD)
        varying = [f"{station}/observations/{created['id']}", f"{station}/observations",
                   f"{station}/weather"]
        for path in varying:
            old, new = (send(client, v, "GET", path, media) for v in (OLD, NEW))
            assert vary(old) == vary(new) == ["Accept", "API-Version"]
            assert old.headers["ETag"] != new.headers["ETag"]
            for version, own, other in ((OLD, old, new), (NEW, new, old)):
                tag = own.headers["ETag"]
                assert send(client, version, "GET", path, media,
                            **{"If-None-Match": tag}).status_code == 304
                assert send(client, version, "GET", path, media,
                            **{"If-None-Match": other.headers["ETag"]}).status_code == 200
        for path in (station, "/stations"):
            old, new = (send(client, v, "GET", path, media) for v in (OLD, NEW))
            assert vary(old) == vary(new) == ["Accept"]
            assert old.headers["ETag"] == new.headers["ETag"]
            assert old.body == new.body

    def test_the_newer_document_nests_the_wind(self, client):
        document = read(send(client, None, "GET", f"/openapi.json?version={NEW}"), 200, OLD)
        assert document["info"]["x-api-version"] == NEW
        schemas = document["components"]["schemas"]
        for name in ("Observation", "ObservationExpanded", "Weather"):
            properties = schemas[name]["properties"]
            assert "wind_speed_ms" not in properties and "wind_direction_deg" not in properties
            assert properties["wind"]["allOf"] == [{"$ref": "#/components/schemas/Wind"}]
        wind = schemas["Wind"]["properties"]
        assert set(wind) == {"speed_ms", "direction_deg"}
        assert wind["direction_deg"]["maximum"] == 360
        default = read(send(client, None, "GET", "/openapi.json"), 200, OLD)
        assert default["info"]["x-api-version"] == OLD
        changes = default["info"]["x-changes"]
        assert [(c["version"], c["schema"]) for c in changes] == [(NEW, "ObservationSchema")]

    def test_the_default_document_has_the_flat_wind(self, client):
        default = read(send(client, None, "GET", "/openapi.json"), 200, OLD)
        properties = default["components"]["schemas"]["Observation"]["properties"]
        assert {"wind_speed_ms", "wind_direction_deg"} <= set(properties)
        assert "wind" not in properties
        newest = read(send(client, NEW, "GET", "/openapi.json?version=" + NEW), 200, NEW)
        assert "wind" in newest["components"]["schemas"]["Observation"]["properties"]

    def test_a_key_reused_at_another_version_is_another_request(self, client, station):
        key = {"Idempotency-Key": "same-calm-observation"}
        path = f"{station}/observations"
        first = read(send(client, OLD, "POST", path, JSON, CALM, **key), 201, OLD)
        body = json.dumps(CALM).encode()
        retry = send(client, NEW, "POST", path, JSON, body, **key)
        assert retry.status_code == 422  # never the first answer's shape under another version
        assert retry.headers["API-Version"] == NEW
        listed = read(send(client, OLD, "GET", path, JSON), 200, OLD)
        assert [o["id"] for o in listed if o["id"] == first["id"]] == [first["id"]]


class TestVersionsOverHTTP(TestVersions):
    """Every test above, against waitress."""

    @pytest.fixture
    def client(self, site, live_server) -> Iterator[HTTPClient]:
        with live_server(site) as base_url:
            yield HTTPClient(base_url)
