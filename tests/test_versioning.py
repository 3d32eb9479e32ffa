"""API versions in process and over real HTTP (contract section 9): every row, JSON and XML,
with the site of `versioned_site` (observations nest their wind in 2027-01-15, notes rename in
2027-03-01)."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator
from email.utils import parsedate_to_datetime
from typing import Any

import pytest
from conftest import served
from helpers import OverHTTP, assert_problem, xml_tree
from marshmallow import Schema, fields
from versioned_site import (
    CHANGELOG,
    FIRST,
    SUNSET,
    TITLE,
    WIND,
    NoteSchema,
    ObservationSchema,
    build,
)

from resourcekit import ConfigurationError, Resource, Site
from resourcekit.cli import main
from resourcekit.testing import Client
from resourcekit.versioning import Change, Versions

VERSIONS = (FIRST, WIND, TITLE)
XML = {"Accept": "application/xml"}
FLAT = {"temperature_c": 21.5, "wind_speed_ms": 3.0, "wind_direction_deg": 270.0}
NESTED = {"temperature_c": 21.5, "wind": {"speed_ms": 3.0, "direction_deg": 270.0}}
OLD_NOTE = {"name": "buy milk", "color": "red", "tags": ["home"]}
NEW_NOTE = {"title": "buy milk", "style": {"color": "red"}, "tags": ["home"]}


def at(version: str, **headers: str) -> dict[str, str]:
    return {"API-Version": version, **headers}


def observation_shape(version: str) -> dict[str, Any]:
    return FLAT if version == FIRST else NESTED


def note_shape(version: str) -> dict[str, Any]:
    return OLD_NOTE if version < TITLE else NEW_NOTE


@pytest.fixture(params=["in process", "over HTTP"])
def client(request: pytest.FixtureRequest) -> Iterator[Client]:
    """The site in process, and the same tests through waitress on loopback."""
    site = build()
    if request.param == "in process":
        yield Client(site)
        return
    with served(site) as base_url:
        yield Client(OverHTTP(base_url, site))


# -- the version chosen -------------------------------------------------------------------------


def test_every_response_names_its_version(client: Client) -> None:
    assert client.get("/status").headers["API-Version"] == FIRST  # the default
    for version in VERSIONS:
        response = client.get("/status", headers=at(version))
        assert response.headers["API-Version"] == version
        assert response.json == {"ok": True, "version": version}


def test_problems_carry_the_version(client: Client) -> None:
    assert client.get("/nowhere", headers=at(WIND)).headers["API-Version"] == WIND
    missing = client.get("/notes/99", headers=at(TITLE))
    assert_problem(missing, 404)
    assert missing.headers["API-Version"] == TITLE
    refused = client.post("/notes", json={"title": ""}, headers=at(TITLE))
    assert refused.status_code == 422 and refused.headers["API-Version"] == TITLE
    not_allowed = client.delete("/notes", headers=at(WIND))
    assert not_allowed.status_code == 405 and not_allowed.headers["API-Version"] == WIND


@pytest.mark.parametrize(
    "given", ["2027-01-16", "2027-1-15", "latest", "", "2026-11-23,2027-01-15"]
)
def test_an_unknown_version_is_a_400_listing_the_known_ones(client: Client, given: str) -> None:
    response = client.get("/notes", headers=at(given))
    problem = assert_problem(response, 400)
    assert problem["versions"] == list(VERSIONS)
    assert response.headers["API-Version"] == FIRST  # what it would have been answered in


def test_an_unknown_version_in_xml() -> None:
    response = Client(build()).get("/notes", headers=at("yesterday", **XML))
    assert_problem(response, 400, media_type="application/problem+xml")
    items = [i.text for i in xml_tree(response.body).iter() if i.tag.endswith("}i")]
    assert items == list(VERSIONS)


def test_without_a_default_the_newest_answers() -> None:
    client = Client(build(default=None))
    assert client.get("/status").headers["API-Version"] == TITLE


def test_pin_chooses_for_requests_naming_none() -> None:
    keys = {"old-key": FIRST, "new-key": WIND}
    client = Client(build(pin=lambda request: keys.get(request.headers.get("X-API-Key", ""))))
    assert client.get("/status", headers={"X-API-Key": "new-key"}).json["version"] == WIND
    assert client.get("/status", headers={"X-API-Key": "other"}).json["version"] == FIRST
    named = client.get("/status", headers={"X-API-Key": "new-key", "API-Version": TITLE})
    assert named.json["version"] == TITLE  # the header wins


def test_an_idempotency_key_reused_at_another_version_is_another_request(client: Client) -> None:
    key = {"Idempotency-Key": "wind-1"}
    first = client.post("/observations", json=FLAT, headers=at(FIRST, **key))
    again = client.post("/observations", json=FLAT, headers=at(FIRST, **key))
    assert first.status_code == again.status_code == 201
    assert again.json == first.json  # replayed, in the shape it was first answered in
    other = client.post("/observations", json=FLAT, headers=at(WIND, **key))
    assert_problem(other, 422)
    assert other.headers["API-Version"] == WIND


def test_a_pin_to_a_version_not_served_is_a_logged_500_never_another_shape(
    caplog: pytest.LogCaptureFixture,
) -> None:
    client = Client(build(pin=lambda request: "1999-01-01"))
    with caplog.at_level("ERROR", logger="resourcekit"):
        response = client.get("/status")
    assert_problem(response, 500)
    assert "pinned" in response.json["detail"]
    assert response.headers["API-Version"] == FIRST  # errors name their version too
    assert "1999-01-01" in caplog.text


def test_a_site_without_versions_pays_nothing() -> None:
    site = Site()

    @site.route("/status")
    class Status(Resource):
        def get(self, request: Any) -> dict[str, Any]:
            return {"version": request.version}

    response = Client(site).get("/status", headers=at(FIRST))
    assert response.json == {"version": None}
    assert "API-Version" not in response.headers
    assert response.headers["Vary"] == "Accept"
    assert site.routes[0].target.versioning is None
    assert response.headers.getall("Vary") == ["Accept"]


# -- representations: dumped as the newest, downgraded to the client's version ------------------


def test_clients_interleaved_read_back_their_own_shapes(client: Client) -> None:
    created = {}
    for version in VERSIONS:
        shape = observation_shape(version)
        response = client.post("/observations", json=shape, headers=at(version))
        assert response.status_code == 201, response.text
        assert {k: v for k, v in response.json.items() if k != "id"} == observation_shape(version)
        created[version] = response.json["id"]
    for _ in range(2):
        for version in reversed(VERSIONS):
            for obs_id in created.values():
                body = client.get(f"/observations/{obs_id}", headers=at(version)).json
                assert body == {"id": obs_id, **observation_shape(version)}


def test_clients_interleaved_read_back_their_own_shapes_in_xml(client: Client) -> None:
    body = "<observation><temperature_c>21.5</temperature_c><wind_speed_ms>3.0</wind_speed_ms>" \
           "<wind_direction_deg>270.0</wind_direction_deg></observation>"
    made = client.post("/observations", data=body,
                       headers=at(FIRST, **{"Content-Type": "application/xml", **XML}))
    assert made.status_code == 201, made.text
    nested = "<observation><temperature_c>1.0</temperature_c><wind><speed_ms>5.0</speed_ms>" \
             "<direction_deg>90.0</direction_deg></wind></observation>"
    other = client.post("/observations", data=nested,
                        headers=at(WIND, **{"Content-Type": "application/xml", **XML}))
    assert other.status_code == 201, other.text
    for version in (WIND, FIRST, TITLE, FIRST):
        for obs_id in (1, 2):
            root = xml_tree(client.get(f"/observations/{obs_id}", headers=at(version, **XML)).body)
            names = [child.tag for child in root]
            if version == FIRST:
                assert names == ["id", "temperature_c", "wind_speed_ms", "wind_direction_deg"]
            else:
                assert names == ["id", "temperature_c", "wind"]
                assert [c.tag for c in root.find("wind")] == ["speed_ms", "direction_deg"]
    root = xml_tree(client.get("/observations/2", headers=at(FIRST, **XML)).body)
    assert root.findtext("wind_speed_ms") == "5.0"


def test_a_write_at_one_version_reads_back_at_every_other(client: Client) -> None:
    client.post("/notes", json=OLD_NOTE, headers=at(FIRST))
    client.post("/notes", json=NEW_NOTE, headers=at(TITLE))
    assert client.app.notes[1] == client.app.notes[2] | {"id": 1}  # the code's one shape
    for version in VERSIONS:
        listed = client.get("/notes", headers=at(version)).json
        assert listed == [{"id": 1, **note_shape(version)}, {"id": 2, **note_shape(version)}]
    changed = {"temperature_c": 3.0, "wind_speed_ms": 1.0, "wind_direction_deg": 10.0}
    client.post("/observations", json=NESTED, headers=at(TITLE))
    put = client.put("/observations/3", json=changed, headers=at(FIRST))
    assert put.status_code == 200 and put.json == {"id": 3, **changed}
    assert client.get("/observations/3", headers=at(WIND)).json["wind"] == {
        "speed_ms": 1.0, "direction_deg": 10.0}


def test_a_missing_nested_member_downgrades_to_nulls(client: Client) -> None:
    client.post("/observations", json={"temperature_c": 4.0}, headers=at(WIND))
    assert client.get("/observations/1", headers=at(WIND)).json["wind"] is None
    assert client.get("/observations/1", headers=at(FIRST)).json == {
        "id": 1, "temperature_c": 4.0, "wind_speed_ms": None, "wind_direction_deg": None}


def test_a_patch_is_upgraded_field_by_field(client: Client) -> None:
    client.post("/notes", json=NEW_NOTE, headers=at(TITLE))
    client.post("/observations", json=NESTED, headers=at(WIND))
    patched = client.patch("/observations/2", json={"wind_speed_ms": 9.0}, headers=at(FIRST))
    assert patched.status_code == 200, patched.text
    assert client.app.observations[2]["wind"] == {"speed_ms": 9.0}


def test_lists_and_pages_are_downgraded_item_by_item(client: Client) -> None:
    for version in VERSIONS:
        client.post("/observations", json=observation_shape(version), headers=at(version))
    for version in VERSIONS:
        page = client.get("/observations", headers=at(version))
        assert [{k: v for k, v in o.items() if k != "id"} for o in page.json] == [
            observation_shape(version)] * 3
        assert 'rel="first"' in ", ".join(page.headers.getall("Link"))
        xml = xml_tree(client.get("/observations", headers=at(version, **XML)).body)
        assert xml.tag == "observations" and len(xml) == 3
        assert (xml[0].find("wind") is None) == (version == FIRST)


def test_html_gets_the_clients_shape(client: Client) -> None:
    client.post("/notes", json=NEW_NOTE, headers=at(TITLE))
    old = client.get("/notes/1", headers=at(FIRST, Accept="text/html")).text
    new = client.get("/notes/1", headers=at(TITLE, Accept="text/html")).text
    assert "&quot;name&quot;" in old or '"name"' in old
    assert "&quot;title&quot;" in new or '"title"' in new
    listed = client.get("/notes", headers=at(FIRST, Accept="text/html")).text
    assert 'name="name"' in listed and 'name="title"' not in listed  # the form, as named then
    assert 'name="title"' in client.get("/notes", headers=at(TITLE, Accept="text/html")).text


# -- bodies: upgraded before the schema loads them ----------------------------------------------


def test_a_body_in_another_versions_shape_is_422(client: Client) -> None:
    old_as_new = client.post("/notes", json=NEW_NOTE, headers=at(FIRST))
    assert assert_problem(old_as_new, 422)["errors"] == {
        "title": ["Unknown field."], "style": ["Unknown field."]}
    new_as_old = client.post("/notes", json=OLD_NOTE, headers=at(TITLE))
    assert set(assert_problem(new_as_old, 422)["errors"]) == {"name", "color", "title"}
    flat_as_nested = client.post("/observations", json=FLAT, headers=at(WIND))
    assert set(assert_problem(flat_as_nested, 422)["errors"]) == {
        "wind_speed_ms", "wind_direction_deg"}
    nested_as_flat = client.post("/observations", json=NESTED, headers=at(FIRST))
    assert assert_problem(nested_as_flat, 422)["errors"] == {"wind": ["Unknown field."]}
    assert client.app.notes == {} and client.app.observations == {}


def test_422_paths_are_renamed_back_nested_ones_too(client: Client) -> None:
    response = client.post("/notes", json={"name": "", "color": "green"}, headers=at(FIRST))
    errors = assert_problem(response, 422)["errors"]
    assert set(errors) == {"name", "color"}
    assert errors["name"] == ["Length must be between 1 and 200."]
    newest = client.post("/notes", json={"title": "", "style": {"color": "green"}},
                         headers=at(TITLE))
    assert set(assert_problem(newest, 422)["errors"]) == {"title", "style.color"}
    xml = client.post("/notes", data="<note><name></name><color>green</color></note>",
                      headers=at(WIND, **{"Content-Type": "application/xml", **XML}))
    assert_problem(xml, 422, media_type="application/problem+xml")
    assert b"<errors><name><i>Length" in xml.body and b"</name><color><i>" in xml.body


def test_an_xml_body_of_an_old_version_loads(client: Client) -> None:
    body = "<note><name>call</name><color>blue</color><tags><item>a</item></tags></note>"
    xml = {"Content-Type": "application/xml"}
    made = client.post("/notes", data=body, headers=at(FIRST, **xml))
    assert made.status_code == 201, made.text
    assert made.json == {"id": 1, "name": "call", "color": "blue", "tags": ["a"]}
    assert client.app.notes[1]["style"] == {"color": "blue"}


# -- routes that appeared later, deprecation ----------------------------------------------------


def test_a_route_before_its_version_is_404(client: Client) -> None:
    response = client.get("/tags", headers=at(FIRST))
    assert_problem(response, 404)
    assert "API-Version" in response.headers["Vary"]
    assert client.post("/tags", headers=at(FIRST)).status_code == 404  # not 405: not there
    for version in (WIND, TITLE):
        found = client.get("/tags", headers=at(version))
        assert found.status_code == 200 and found.json == {"tags": []}
        assert found.headers["Vary"] == "Accept, API-Version"


def test_a_deprecated_version_says_so(client: Client) -> None:
    old = client.get("/status")
    wind_came = dt.datetime(2027, 1, 15, tzinfo=dt.UTC)
    assert old.headers["Deprecation"] == f"@{int(wind_came.timestamp())}"
    assert parsedate_to_datetime(old.headers["Sunset"]) == SUNSET
    assert old.headers["Link"] == f'<{CHANGELOG}>; rel="deprecation"'
    assert "Deprecation" in client.get("/nowhere").headers  # errors too
    new = client.get("/status", headers=at(WIND))
    assert "Deprecation" not in new.headers and "Sunset" not in new.headers


def test_a_deprecated_resource_says_so(client: Client) -> None:
    response = client.get("/legacy", headers=at(TITLE))
    assert response.headers["Deprecation"] == "@1801440000"
    assert parsedate_to_datetime(response.headers["Sunset"]) == dt.datetime(2027, 12, 31,
                                                                            tzinfo=dt.UTC)
    assert response.headers.getall("Link") == [f'<{CHANGELOG}>; rel="deprecation"']
    assert "Deprecation" not in client.get("/status", headers=at(TITLE)).headers


def test_a_deprecated_resource_without_versions() -> None:
    site = Site()

    @site.route("/old")
    class Old(Resource):
        deprecated = dt.datetime(2027, 2, 1, tzinfo=dt.UTC)

        def get(self, request: Any) -> dict[str, Any]:
            return {}

    response = Client(site).get("/old")
    assert response.headers["Deprecation"] == "@1801440000"
    assert "Sunset" not in response.headers and "Link" not in response.headers


# -- caching: Vary and a tag per version --------------------------------------------------------


def test_vary_only_where_representations_differ(client: Client) -> None:
    client.post("/notes", json=NEW_NOTE, headers=at(TITLE))
    assert client.get("/notes/1").headers["Vary"] == "Accept, API-Version"
    assert client.get("/status").headers["Vary"] == "Accept"
    assert client.get("/openapi.json").headers.get("Vary") is None


@pytest.mark.parametrize("accept", ["application/json", "application/xml"])
def test_tags_differ_by_version_and_do_not_match_across(client: Client, accept: str) -> None:
    client.post("/observations", json=NESTED, headers=at(WIND))  # has an etag method
    client.post("/notes", json=NEW_NOTE, headers=at(TITLE))  # tagged from its body
    for path in ("/observations/1", "/notes/2"):
        tags = {v: client.get(path, headers=at(v, Accept=accept)).headers["ETag"] for v in VERSIONS}
        assert len(set(tags.values())) == 3 if path == "/notes/2" else len(set(tags.values())) >= 2
        for version, tag in tags.items():
            same = client.get(path, headers=at(version, Accept=accept, **{"If-None-Match": tag}))
            assert same.status_code == 304
            assert same.headers["ETag"] == tag and "API-Version" in same.headers["Vary"]
            for other in VERSIONS:
                if tags[other] != tag:
                    fresh = client.get(path, headers=at(other, Accept=accept,
                                                        **{"If-None-Match": tag}))
                    assert fresh.status_code == 200 and fresh.headers["ETag"] == tags[other]


def test_observation_tags_at_the_unchanged_versions_are_equal(client: Client) -> None:
    client.post("/observations", json=NESTED, headers=at(WIND))
    tags = {v: client.get("/observations/1", headers=at(v)).headers["ETag"] for v in VERSIONS}
    assert tags[WIND] == tags[TITLE] != tags[FIRST]  # observations did not change in TITLE
    assert tags[FIRST].endswith(f'-{FIRST}"')


def test_a_write_at_an_old_version_checks_that_versions_tag(client: Client) -> None:
    client.post("/observations", json=NESTED, headers=at(WIND))
    old_tag = client.get("/observations/1", headers=at(FIRST)).headers["ETag"]
    changed = {**FLAT, "temperature_c": 0.5}
    put = client.put("/observations/1", json=changed, headers=at(FIRST, **{"If-Match": old_tag}))
    assert put.status_code == 200, put.text
    assert put.headers["ETag"] == client.get("/observations/1", headers=at(FIRST)).headers["ETag"]
    stale = client.put("/observations/1", json=FLAT, headers=at(FIRST, **{"If-Match": old_tag}))
    assert stale.status_code == 412 and stale.headers["API-Version"] == FIRST


def test_a_created_resource_gets_its_versions_tag(client: Client) -> None:
    created = client.post("/observations", json=FLAT, headers=at(FIRST))
    read = client.get("/observations/1", headers=at(FIRST))
    assert created.headers["ETag"] == read.headers["ETag"]


# -- declarations checked at registration -------------------------------------------------------


class Other(Schema):
    name = fields.Str()


@pytest.mark.parametrize(("make", "named"), [
    (lambda: Versions("2026-13-01"), "Versions.first"),
    (lambda: Versions("26-11-23"), "Versions.first"),
    (lambda: Versions(FIRST, Change(FIRST, "x", schema=Other)), "versions must increase"),
    (lambda: Versions(WIND, Change(FIRST, "x", schema=Other)), "versions must increase"),
    (lambda: Versions(FIRST, "2027-01-15"), "is not a Change"),
    (lambda: Versions(FIRST, default="2027-01-01"), "Versions.default"),
    (lambda: Versions(FIRST, Change(WIND, "x", schema=Other), deprecated={WIND: None}),
     "newest"),
    (lambda: Versions(FIRST, Change(WIND, "x", schema=Other),
                      deprecated={FIRST: dt.datetime(2027, 1, 1)}), "aware datetime"),
    (lambda: Versions(FIRST, pin="header"), "Versions.pin"),
    (lambda: Versions(FIRST, header="API Version"), "Versions.header"),
    (lambda: Change(WIND, "x"), ".schema"),
    (lambda: Change(WIND, "x", schema=dict), ".schema"),
    (lambda: Change(WIND, "", schema=Other), ".description"),
    (lambda: Change(WIND, "x", schema=Other, upgrade="nest"), ".upgrade"),
    (lambda: Change(WIND, "x", schema=Other, renamed=["name"]), ".renamed"),
    (lambda: Change("2027-01-15T00:00", "x", schema=Other), ".version"),
])
def test_wrong_declarations_fail_when_made(make: Any, named: str) -> None:
    with pytest.raises(ConfigurationError, match=re.escape(named)):
        make()


def test_wrong_resource_declarations_fail_when_registered() -> None:
    site = Site(versions=Versions(FIRST, Change(WIND, "x", schema=Other)))

    class Later(Resource):
        since = "2027-02-01"

        def get(self, request: Any) -> None: ...

    with pytest.raises(ConfigurationError, match=r"Later\.since"):
        site.add("/later", Later)

    class Naive(Resource):
        deprecated = dt.datetime(2027, 1, 1)

        def get(self, request: Any) -> None: ...

    with pytest.raises(ConfigurationError, match=r"Naive\.deprecated"):
        site.add("/naive", Naive)

    class SunsetOnly(Resource):
        sunset = dt.datetime(2027, 1, 1, tzinfo=dt.UTC)

        def get(self, request: Any) -> None: ...

    with pytest.raises(ConfigurationError, match=r"SunsetOnly\.sunset"):
        site.add("/sunset", SunsetOnly)
    with pytest.raises(ConfigurationError, match="no versions"):
        Site().add("/later", type("Later", (Later,), {"since": WIND}))
    with pytest.raises(ConfigurationError, match=r"Site\.versions"):
        Site(versions=FIRST)  # type: ignore[arg-type]


def test_routes_are_planned_at_registration() -> None:
    site = build()
    plans = {r.template: r.target.versioning for r in site.routes}
    assert plans["/status"] is None and plans["/openapi.json"] is None
    notes = plans["/notes"]
    assert notes is not None and set(notes.downgrades) == {FIRST, WIND}
    assert set(notes.upgrades) == {FIRST, WIND} and notes.tags == {FIRST: FIRST, WIND: WIND}
    observations = plans["/observations/{obs_id:int}"]
    assert observations is not None and set(observations.downgrades) == {FIRST}
    assert plans["/tags"] is not None and plans["/tags"].hidden == {FIRST}


def test_a_change_matches_subclasses_of_its_schema() -> None:
    class Wider(NoteSchema):
        extra = fields.Str()

    change = Change(TITLE, "x", schema=NoteSchema, renamed={"name": "title"})
    assert change.concerns(Wider()) and change.concerns(NoteSchema())
    assert not change.concerns(ObservationSchema()) and not change.concerns(None)


# -- OpenAPI, /docs and the command line -------------------------------------------------------


def test_each_version_has_its_document() -> None:
    site = build()
    old, new = site.openapi(FIRST), site.openapi(TITLE)
    assert site.openapi() == old  # the default's
    # a plain rename is drawn, and so is a move into an object ("color" was "style.color")
    old_note, new_note = old["components"]["schemas"]["Note"], new["components"]["schemas"]["Note"]
    assert set(old_note["properties"]) == {"id", "name", "color", "tags"}
    assert old_note["required"] == ["name"]
    assert set(new_note["properties"]) == {"id", "title", "style", "tags"}
    assert "/tags" not in old["paths"] and "/tags" in new["paths"]
    for document, version in ((old, FIRST), (new, TITLE)):
        info = document["info"]
        assert info["x-api-version"] == version
        assert [c["version"] for c in info["x-changes"]] == [WIND, TITLE]
        assert "Observations nest their wind." in info["description"]
        header = document["components"]["parameters"]["API-Version"]
        assert header["in"] == "header" and header["schema"]["enum"] == list(VERSIONS)
        assert {"$ref": "#/components/parameters/API-Version"} in document["paths"]["/notes"][
            "get"]["parameters"]
        ok = document["paths"]["/notes"]["get"]["responses"]["200"]["headers"]
        assert ok["API-Version"]["schema"] == {"type": "string", "enum": list(VERSIONS)}
        assert f"`{version}`" in ok["API-Version"]["description"]
        assert ("Sunset" in ok) == (version == FIRST)
        problem = document["components"]["responses"]["NotAcceptable"]["headers"]
        assert "API-Version" in problem
    assert new["paths"]["/legacy"]["get"]["deprecated"] is True
    assert "deprecated" not in new["paths"]["/notes"]["get"]
    with pytest.raises(ValueError, match="not one of the versions"):
        site.openapi("2020-01-01")
    with pytest.raises(ValueError, match="no versions"):
        Site().openapi(FIRST)


def test_documents_are_valid_openapi() -> None:
    validator = pytest.importorskip("openapi_spec_validator")
    site = build()
    for version in VERSIONS:
        validator.validate(site.openapi(version))


def test_openapi_json_takes_a_version() -> None:
    client = Client(build())
    for version in VERSIONS:
        response = client.get(f"/openapi.json?version={version}")
        assert response.status_code == 200 and response.json["info"]["x-api-version"] == version
    assert client.get("/openapi.json").json["info"]["x-api-version"] == FIRST
    tags = {client.get(f"/openapi.json?version={v}").headers["ETag"] for v in VERSIONS}
    assert len(tags) == 3
    assert_problem(client.get("/openapi.json?version=someday"), 400)


def test_the_docs_page_switches_versions() -> None:
    client = Client(build())
    page = client.get("/docs").text
    assert f"data-versions='{json.dumps(list(VERSIONS))}'".replace('"', "&quot;") in page
    assert f'data-version="{FIRST}"' in page
    assert "swagger-ui-standalone-preset.js" in page
    script = client.get("/docs/assets/docs.js").text
    assert "urls.primaryName" in script and "StandaloneLayout" in script
    preset = client.get("/docs/assets/swagger-ui-standalone-preset.js")
    assert preset.status_code == 200 and preset.body
    plain = Site(docs=True)
    assert "data-versions" not in Client(plain).get("/docs").text


def test_the_versions_command(capsys: pytest.CaptureFixture[str]) -> None:
    main(["versions", "versioned_site:site"])
    lines = capsys.readouterr().out.splitlines()
    assert lines == [
        f"{FIRST}  (default; deprecated, sunset {SUNSET.isoformat()})",
        WIND,
        "  ObservationSchema: Observations nest their wind.",
        f"{TITLE}  (newest)",
        "  NoteSchema: Notes call their name a title, and nest their color in a style.",
    ]
    main(["openapi", "versioned_site:site", "--api-version", TITLE])
    assert json.loads(capsys.readouterr().out)["info"]["x-api-version"] == TITLE
    with pytest.raises(SystemExit, match="not one of the versions"):
        main(["openapi", "versioned_site:site", "--api-version", "2000-01-01"])


def test_an_old_versions_xml_list_stays_a_list() -> None:
    class Tagged(Schema):
        id = fields.Int(dump_only=True)
        tags = fields.List(fields.Str(), required=True)

    site = Site(versions=Versions(FIRST, Change(WIND, "Labels are tags.", schema=Tagged,
                                                renamed={"labels": "tags"})))

    @site.route("/tagged")
    class TaggedResource(Resource):
        schema = Tagged

        def post(self, request: Any) -> dict[str, Any]:
            return {"id": 1, **request.validated}

    xml = {"Content-Type": "application/xml"}
    old = Client(site).post("/tagged", data="<tagged><labels><item>a</item></labels></tagged>",
                            headers=at(FIRST, **xml))
    assert old.status_code == 200, old.text
    assert old.json == {"id": 1, "labels": ["a"]}
    empty = Client(site).post("/tagged", data="<tagged><labels /></tagged>",
                              headers=at(FIRST, **xml))
    assert empty.status_code == 200 and empty.json == {"id": 1, "labels": []}, empty.text
    new = Client(site).post("/tagged", data="<tagged><tags><item>b</item></tags></tagged>",
                            headers=at(WIND, **xml))
    assert new.json == {"id": 1, "tags": ["b"]}
