"""PATCH formats: JSON Merge Patch (RFC 7396) and JSON Patch (RFC 6902) on the current state."""

from __future__ import annotations

import json
import urllib.request

import pytest
from conftest import served
from marshmallow import Schema, fields, validate

from resourcekit import Resource, Site
from resourcekit.patch import MAX_COPIED, merge
from resourcekit.testing import Client

MERGE = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"


class Station(Schema):
    id = fields.Integer(dump_only=True)
    name = fields.String(required=True, validate=validate.Length(min=1))
    note = fields.String(allow_none=True)
    tags = fields.List(fields.String())
    location = fields.Dict()


def make_site() -> tuple[Site, dict]:
    site = Site("Patch")
    store = {"id": 7, "name": "Oslo", "note": "windy", "tags": ["a", "b"],
             "location": {"lat": 59.9, "lon": 10.7, "datum": "WGS84"}}
    seen: dict = {}

    @site.route("/stations/{sid:int}")
    class StationItem(Resource):
        schema = Station

        def etag(self, request, sid):
            return f"v{store.get('name')}{len(store)}"

        def get(self, request, sid):
            return dict(store)

        def patch(self, request, sid):
            seen["validated"] = request.validated
            store.clear()
            store.update({"id": 7, **request.validated})
            return dict(store)

    @site.route("/counters")
    class Counters(Resource):
        schema = Station

        def patch(self, request):
            return request.validated

    return site, seen


@pytest.fixture
def site():
    return make_site()


def send(client: Client, body, content_type: str, path: str = "/stations/7", **headers: str):
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return client.patch(path, data=data, headers={"Content-Type": content_type, **headers})


def test_merge_patch_removes_nulls_and_merges_objects(site):
    app, seen = site
    r = send(Client(app), {"note": None, "location": {"datum": None, "alt": 12}}, MERGE)
    assert r.status_int == 200, r.text
    assert seen["validated"] == {  # the complete new state, loaded through the whole schema
        "name": "Oslo", "tags": ["a", "b"], "location": {"lat": 59.9, "lon": 10.7, "alt": 12},
    }
    assert "note" not in r.json


def test_merge_patch_replaces_arrays_and_scalars(site):
    app, seen = site
    send(Client(app), {"tags": ["z"], "name": "Bergen"}, MERGE)
    assert seen["validated"]["tags"] == ["z"] and seen["validated"]["name"] == "Bergen"


def test_the_result_is_validated_whole(site):
    app, _ = site
    r = send(Client(app), {"name": None}, MERGE)  # removing a required member
    assert r.status_int == 422
    assert r.json["errors"] == {"name": ["Missing data for required field."]}
    assert send(Client(app), {"colour": "red"}, MERGE).status_int == 422  # unknown, as JSON


def test_merge_patch_of_rfc_7396_appendix_a():
    cases = [
        ({"a": "b"}, {"a": "c"}, {"a": "c"}),
        ({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}),
        ({"a": "b"}, {"a": None}, {}),
        ({"a": ["b"]}, {"a": "c"}, {"a": "c"}),
        ({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}, {"a": {"b": "d"}}),
        ({"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}),
        (["a", "b"], ["c", "d"], ["c", "d"]),
        ({"a": "foo"}, None, None),
        ({"e": None}, {"a": 1}, {"e": None, "a": 1}),
        ([1, 2], {"a": "b", "c": None}, {"a": "b"}),
        ({}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}),
    ]
    for target, patch, result in cases:
        assert merge(target, patch) == result


def test_json_patch_operations(site):
    app, seen = site
    patch = [
        {"op": "test", "path": "/name", "value": "Oslo"},
        {"op": "add", "path": "/tags/-", "value": "c"},
        {"op": "remove", "path": "/tags/0"},
        {"op": "replace", "path": "/name", "value": "Tromsø"},
        {"op": "move", "from": "/location/datum", "path": "/note"},
        {"op": "copy", "from": "/location/lat", "path": "/location/north"},
    ]
    r = send(Client(app), patch, JSON_PATCH)
    assert r.status_int == 200, r.text
    assert seen["validated"] == {
        "name": "Tromsø", "note": "WGS84", "tags": ["b", "c"],
        "location": {"lat": 59.9, "lon": 10.7, "north": 59.9},
    }


def test_a_failed_test_is_409_and_nothing_changes(site):
    app, seen = site
    patch = [{"op": "replace", "path": "/name", "value": "X"},
             {"op": "test", "path": "/note", "value": "calm"}]
    r = send(Client(app), patch, JSON_PATCH)
    assert r.status_int == 409
    assert seen == {}


@pytest.mark.parametrize("patch", [
    [{"op": "remove", "path": "/nothing"}],
    [{"op": "replace", "path": "/location/nothing/deeper", "value": 1}],
    [{"op": "move", "from": "/nowhere", "path": "/note"}],
    [{"op": "add", "path": "/tags/9", "value": "x"}],
])
def test_a_path_that_does_not_exist_is_422(site, patch):
    r = send(Client(site[0]), patch, JSON_PATCH)
    assert r.status_int == 422, r.text


@pytest.mark.parametrize("body", [
    {"op": "add", "path": "/a", "value": 1},  # not an array
    [{"op": "frobnicate", "path": "/a"}],
    [{"path": "/a"}],
    [{"op": "add", "path": "no-slash", "value": 1}],
    [{"op": "add", "path": "/a"}],  # no value
    [1],
    "add",
])
def test_a_malformed_patch_is_400(site, body):
    assert send(Client(site[0]), body, JSON_PATCH).status_int == 400


def test_malformed_json_is_400(site):
    assert send(Client(site[0]), b'{"name": ', MERGE).status_int == 400
    assert send(Client(site[0]), b"[{", JSON_PATCH).status_int == 400


def test_a_copy_bomb_is_413(site):
    patch = [{"op": "add", "path": "/location/x", "value": list(range(1000))}]
    patch += [{"op": "copy", "from": "/location", "path": f"/location/c{i}"} for i in range(40)]
    r = send(Client(site[0]), patch, JSON_PATCH)
    assert r.status_int == 413
    assert str(MAX_COPIED) in r.json["detail"]


def test_preconditions_apply_before_the_patch(site):
    app, seen = site
    client = Client(app)
    r = send(client, {"name": "X"}, MERGE, **{"If-Match": '"stale"'})
    assert r.status_int == 412 and seen == {}
    etag = client.get("/stations/7").headers["ETag"]
    r = send(client, {"name": "X"}, MERGE, **{"If-Match": etag})
    assert r.status_int == 200
    assert r.headers["ETag"] != etag


def test_plain_json_patch_keeps_the_partial_load(site):
    app, seen = site
    r = send(Client(app), {"note": "calm"}, "application/json")
    assert r.status_int == 200
    assert seen["validated"] == {"note": "calm"}


def test_accept_patch_on_options_and_415(site):
    client = Client(site[0])
    offered = client.options("/stations/7").headers["Accept-Patch"]
    assert offered.split(", ")[:3] == [MERGE, JSON_PATCH, "application/json"]
    r = send(client, b"x", "text/plain")
    assert r.status_int == 415
    assert r.headers["Accept-Patch"] == offered
    assert "Accept-Patch" not in client.options("/stations/7").headers.get("Allow", "")


def test_a_resource_without_get_refuses_the_patch_formats_with_415(site):
    client = Client(site[0])
    offered = client.options("/counters").headers["Accept-Patch"]
    assert MERGE not in offered and "application/json" in offered
    r = send(client, {"name": "x"}, MERGE, path="/counters")
    assert r.status_int == 415
    assert "no GET" in r.json["detail"]
    assert r.headers["Accept-Patch"] == offered
    assert send(client, {"name": "x"}, "application/json", path="/counters").status_int == 200


def test_over_http_under_waitress(site):
    with served(site[0]) as base:
        request = urllib.request.Request(
            base + "/stations/7", method="PATCH", data=json.dumps({"note": None}).encode(),
            headers={"Content-Type": MERGE},
        )
        with urllib.request.urlopen(request) as response:
            assert "note" not in json.loads(response.read())


def test_openapi_describes_the_patch_formats(site):
    from openapi_spec_validator import validate

    document = site[0].openapi()
    validate(document)
    content = document["paths"]["/stations/{sid}"]["patch"]["requestBody"]["content"]
    assert content[MERGE]["schema"] == content["application/json"]["schema"]
    assert content[JSON_PATCH]["schema"]["type"] == "array"
    without_get = document["paths"]["/counters"]["patch"]["requestBody"]["content"]
    assert MERGE not in without_get


class _Wind(Schema):
    speed_ms = fields.Float()
    direction_deg = fields.Float()


class _Observation(Schema):
    id = fields.Int(dump_only=True)
    temperature_c = fields.Float(required=True)
    wind = fields.Nested(_Wind, allow_none=True, load_default=None)


def _nest_wind(data: dict, request: object) -> dict:
    wind = {k: data.pop(f"wind_{k}") for k in ("speed_ms", "direction_deg") if f"wind_{k}" in data}
    return {**data, "wind": wind} if wind else data


def _flatten_wind(data: dict, request: object) -> dict:
    wind = data.pop("wind", None) or {}
    return {**data, "wind_speed_ms": wind.get("speed_ms"),
            "wind_direction_deg": wind.get("direction_deg")}


def test_a_patch_at_an_older_version_keeps_what_it_does_not_name() -> None:
    """The patch applies to the representation the client sees (its version's shape, read-only
    members included); the result is upgraded, then loaded without the read-only members."""
    from resourcekit.versioning import Change, Versions

    site = Site(title="Versioned", versions=Versions(
        "2026-11-23",
        Change("2027-01-15", "Wind nests.", schema=_Observation,
               upgrade=_nest_wind, downgrade=_flatten_wind),
        default="2026-11-23",
    ))
    store = {"id": 1, "temperature_c": 5.0, "wind": {"speed_ms": 3.0, "direction_deg": 90.0}}

    @site.route("/observation")
    class Observation(Resource):
        schema = _Observation

        def get(self, request: object) -> dict:
            return store

        def patch(self, request: object) -> dict:
            store.update(request.validated)  # type: ignore[attr-defined]
            return store

    client = Client(site)
    merged = client.patch("/observation", data=json.dumps({"temperature_c": 7}),
                          headers={"Content-Type": MERGE})
    assert merged.status_code == 200, merged.text
    assert store["wind"] == {"speed_ms": 3.0, "direction_deg": 90.0}
    assert merged.json["wind_speed_ms"] == 3.0 and merged.json["temperature_c"] == 7.0
    ops = [{"op": "test", "path": "/id", "value": 1},
           {"op": "replace", "path": "/wind_speed_ms", "value": 4}]
    patched = client.patch("/observation", data=json.dumps(ops),
                           headers={"Content-Type": JSON_PATCH})
    assert patched.status_code == 200, patched.text
    assert store == {"id": 1, "temperature_c": 7.0, "wind": {"speed_ms": 4, "direction_deg": 90.0}}
