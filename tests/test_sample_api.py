"""sample_project, the weather-station API of CONTRACT.md section 4, called in process.

Every route is exercised in JSON and in XML, both ways: what is sent as XML must read back the same
as JSON. Bad input must be answered with a problem document and leave the database untouched.

The tests live in `TestSampleAPI`, whose fixtures build the site and the client;
``test_sample_http.py`` subclasses it to run the same tests over real HTTP against waitress.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import sqlite3
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from helpers import vary
from linting import Linted

from resourcekit.testing import Client
from sample_project import create_site

JSON = "application/json"
XML = "application/xml"
MEDIA = pytest.mark.parametrize("media", [JSON, XML], ids=["json", "xml"])
FORM = "application/x-www-form-urlencoded"
MULTIPART = "multipart/form-data"
FORMS = pytest.mark.parametrize("form", [FORM, MULTIPART], ids=["urlencoded", "multipart"])
BOUNDARY = "sample-form-boundary-3f9a"

XSI_NIL = "{http://www.w3.org/2001/XMLSchema-instance}nil"
PROBLEM_TYPES = {JSON: "application/problem+json", XML: "application/problem+xml"}
TITLES = {
    400: "Bad Request",
    404: "Not Found",
    405: "Method Not Allowed",
    413: "Content Too Large",
    415: "Unsupported Media Type",
    422: "Unprocessable Content",
}

# What the contract says is a number; the XML reader below uses it to type the text it reads.
FLOATS = frozenset(
    {
        "latitude",
        "longitude",
        "elevation_m",
        "temperature_c",
        "humidity_pct",
        "pressure_hpa",
        "wind_speed_ms",
        "wind_direction_deg",
    }
)
INTS = frozenset({"id", "station_id", "status"})
COLLECTIONS = frozenset({"stations", "observations"})
LIST_ITEMS = frozenset({"item", "i"})  # <item> in representations, <i> in problem documents

PARIS = {
    "name": "Paris-Montsouris",
    "latitude": 48.8217,
    "longitude": 2.3378,
    "elevation_m": 75.0,
    "country": "FR",
}
BREST = {"name": "Brest", "latitude": 48.4447, "longitude": -4.4122, "country": "FR"}
OBSERVATION = {
    "observed_at": "2024-05-01T12:00:00+00:00",
    "temperature_c": 18.5,
    "humidity_pct": 61.0,
    "pressure_hpa": 1013.2,
    "wind_speed_ms": 3.4,
    "wind_direction_deg": 270.0,
}
OPTIONAL_MEASURES = ("humidity_pct", "pressure_hpa", "wind_speed_ms", "wind_direction_deg")
T0 = dt.datetime(2024, 5, 1, tzinfo=dt.UTC)
TOKEN = "test-token-for-writes"
AUTHORIZED = {"Authorization": f"Bearer {TOKEN}"}


# -- encoding and decoding bodies -----------------------------------------------------------------


def to_xml(tag: str, value: Any) -> ET.Element:
    """The XML element for plain data, as the contract maps it: lists of <item>, None as nil."""
    element = ET.Element(tag)
    if isinstance(value, dict):
        element.extend(to_xml(key, member) for key, member in value.items())
    elif isinstance(value, list):
        element.extend(to_xml("item", member) for member in value)
    elif value is None:
        element.set(XSI_NIL, "true")
    elif isinstance(value, bool):
        element.text = "true" if value else "false"
    else:
        element.text = str(value)
    return element


def encode(data: Any, media: str, root: str) -> bytes:
    if media == JSON:
        return json.dumps(data).encode()
    return ET.tostring(to_xml(root, data), encoding="utf-8", xml_declaration=True)


def form_encode(data: dict[str, Any], form: str) -> tuple[bytes, str]:
    """Flat ``data`` as an HTML form sends it, every value as text: the body and its type."""
    texts = {key: str(value) for key, value in data.items()}
    if form == FORM:
        return urlencode(texts).encode(), FORM
    parts = "".join(
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n{value}\r\n'
        for key, value in texts.items()
    )
    return f"{parts}--{BOUNDARY}--\r\n".encode(), f"{MULTIPART}; boundary={BOUNDARY}"


def without(data: dict[str, Any], keys: str) -> dict[str, Any]:
    """``data`` less the space-separated ``keys``: what two creations share."""
    return {key: value for key, value in data.items() if key not in keys.split()}


def local(tag: str) -> str:
    return tag.rpartition("}")[2]


def from_xml(element: ET.Element, key: str | None = None) -> Any:
    """Plain data from an element, typed as JSON types it (numbers by the contract's names)."""
    if element.get(XSI_NIL) == "true":
        return None
    children = list(element)
    if children and all(local(child.tag) in LIST_ITEMS for child in children):
        return [from_xml(child) for child in children]
    if children:
        return {local(child.tag): from_xml(child, local(child.tag)) for child in children}
    text = element.text or ""
    if key in FLOATS:
        return float(text)
    if key in INTS:
        return int(text)
    return text


def decode(response: Any) -> Any:
    """The body as plain data, read by its Content-Type, so one assertion serves both media."""
    content_type = response.headers.get("Content-Type", "")
    if "json" in content_type:
        return json.loads(response.body)
    assert "xml" in content_type, content_type
    root = ET.fromstring(response.body)
    if local(root.tag) in COLLECTIONS:  # <stations><station>...</station>...</stations>
        return [from_xml(child) for child in root]
    return from_xml(root)


def xml_root(response: Any) -> ET.Element:
    assert response.headers["Content-Type"].startswith(XML)
    return ET.fromstring(response.body)


def call(
    client: Any, method: str, path: str, media: str = JSON, body: Any = None, root: str = ""
) -> Any:
    """``method path`` accepting ``media``, with ``body`` (plain data) encoded in ``media``."""
    headers = {"Accept": media}
    data = None
    if body is not None:
        data = encode(body, media, root)
        headers["Content-Type"] = media
    return client.request(method, path, data=data, headers=headers)


def expect(response: Any, status: int, media: str = JSON) -> Any:
    """Check the status and Content-Type of a successful answer; the decoded body."""
    assert response.status_code == status, response.body
    assert response.headers["Content-Type"].split(";")[0] == media
    assert vary(response) in (["Accept"], ["Accept", "API-Version"])  # observations vary
    return decode(response)


def assert_problem(response: Any, status: int, media: str, field: str | None = None) -> dict:
    """An RFC 9457 problem in the negotiated format; a 422 names ``field`` in ``errors``."""
    assert response.status_code == status, response.body
    assert response.headers["Content-Type"].split(";")[0] == PROBLEM_TYPES[media]
    problem = decode(response)
    assert problem["type"] == "about:blank"
    assert problem["title"] == TITLES[status]
    assert problem["status"] == status
    assert isinstance(problem["detail"], str)
    assert problem["detail"]
    if field is not None:
        assert field in problem["errors"], problem
        assert all(isinstance(m, str) and m for m in problem["errors"][field])
    return problem


def link_urls(response: Any) -> dict[str, str]:
    """The Link header: relation -> URL."""
    pairs = re.findall(r'<([^>]*)>\s*;\s*rel="([^"]*)"', response.headers["Link"])
    return {rel: url for url, rel in pairs}


def links(response: Any) -> dict[str, tuple[str, dict[str, list[str]]]]:
    """The Link header: relation -> (URL without query, query parameters)."""
    found = {}
    for rel, url in link_urls(response).items():
        parts = urlsplit(url)
        found[rel] = (f"{parts.scheme}://{parts.netloc}{parts.path}", parse_qs(parts.query))
    return found


def snapshot(db_path: Path) -> tuple[list[tuple], list[tuple]]:
    """Every row of both tables, read straight from the database file."""
    with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True) as db:
        stations = db.execute("SELECT * FROM stations ORDER BY id").fetchall()
        observations = db.execute("SELECT * FROM observations ORDER BY id").fetchall()
    db.close()
    return stations, observations


def aware(text: str) -> dt.datetime:
    value = dt.datetime.fromisoformat(text)
    assert value.utcoffset() == dt.timedelta(0), text
    return value


def query(**params: Any) -> str:
    return "?" + urlencode(params)


# -- bad input ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Bad:
    """A request the API must refuse with ``status``.

    ``body`` is plain data, sent in the medium under test, or bytes, sent as they are with
    ``content_type``; ``path`` may name ``{sid}``, the seeded station. ``errors`` lists exactly
    the fields a 422 must name (space separated), ``message`` a text one of the first's messages
    must contain.
    """

    method: str
    path: str
    body: Any
    status: int
    errors: str = ""
    message: str | None = None
    content_type: str | None = None

    @property
    def root(self) -> str:
        """The XML element of the body: what the path holds."""
        return "observation" if self.path.endswith("/observations") else "station"


NEW_OBS = {**OBSERVATION, "observed_at": "2024-06-01T00:00:00+00:00"}
OBS_PATH = "/stations/{sid}/observations"
MISSING = "Missing data for required field."
BILLION_LAUGHS = (
    '<?xml version="1.0"?>\n<!DOCTYPE station [\n<!ENTITY lol0 "lol">\n'
    + "".join(f'<!ENTITY lol{n} "{f"&lol{n - 1};" * 10}">\n' for n in range(1, 10))
    + "]>\n<station><name>&lol9;</name></station>"
).encode()
EXTERNAL_ENTITY = (
    b'<?xml version="1.0"?>\n<!DOCTYPE s [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n'
    b"<station><name>&x;</name><latitude>1</latitude><longitude>1</longitude>"
    b"<country>FR</country></station>"
)
STATION_XML = (
    "<station><name>Zürich</name><latitude>47.4</latitude><longitude>8.5</longitude>"
    "<country>CH</country></station>"
)
HUGE = "x" * (1024 * 1024)

# fmt: off
SCHEMA_CASES = {  # each sent in JSON and in XML
    "latitude-string": Bad("POST", "/stations", {**PARIS, "latitude": "north"}, 422,
                           "latitude", "Not a valid number."),
    "latitude-nan": Bad("POST", "/stations", {**PARIS, "latitude": "NaN"}, 422, "latitude"),
    "temperature-true": Bad("POST", OBS_PATH, {**NEW_OBS, "temperature_c": True}, 422,
                            "temperature_c", "Not a valid number."),
    "name-list": Bad("POST", "/stations", {**PARIS, "name": ["Paris", "Lyon"]}, 422, "name",
                     "Not a valid string."),
    "name-null": Bad("POST", "/stations", {**PARIS, "name": None}, 422, "name",
                     "Field may not be null."),
    "latitude-91": Bad("POST", "/stations", {**PARIS, "latitude": 91}, 422, "latitude",
                       "less than or equal to 90"),
    "longitude-181": Bad("POST", "/stations", {**PARIS, "longitude": -181}, 422, "longitude"),
    "country-lowercase": Bad("POST", "/stations", {**PARIS, "country": "fr"}, 422, "country",
                             "ISO 3166-1 alpha-2"),
    "country-3-letters": Bad("POST", "/stations", {**PARIS, "country": "FRA"}, 422, "country"),
    "name-101-chars": Bad("POST", "/stations", {**PARIS, "name": "x" * 101}, 422, "name",
                          "Length must be between 1 and 100."),
    "name-empty": Bad("POST", "/stations", {**PARIS, "name": ""}, 422, "name"),
    "elevation-string": Bad("POST", "/stations", {**PARIS, "elevation_m": "high"}, 422,
                            "elevation_m"),
    "several-wrong": Bad("POST", "/stations", {**PARIS, "latitude": 91, "country": "fr"}, 422,
                         "latitude country"),
    "missing-required": Bad("POST", "/stations", {"name": "Nowhere"}, 422,
                            "latitude longitude country", MISSING),
    "unknown-field": Bad("POST", "/stations", {**PARIS, "altitude": 3}, 422, "altitude",
                         "Unknown field."),
    "id-is-read-only": Bad("POST", "/stations", {**PARIS, "id": 7}, 422, "id",
                           "Unknown field."),
    "temperature-61": Bad("POST", OBS_PATH, {**NEW_OBS, "temperature_c": 61}, 422,
                          "temperature_c"),
    "temperature-missing": Bad("POST", OBS_PATH, {"observed_at": NEW_OBS["observed_at"]}, 422,
                               "temperature_c", MISSING),
    "humidity-negative": Bad("POST", OBS_PATH, {**NEW_OBS, "humidity_pct": -1}, 422,
                             "humidity_pct"),
    "humidity-101": Bad("POST", OBS_PATH, {**NEW_OBS, "humidity_pct": 101}, 422,
                        "humidity_pct"),
    "pressure-799": Bad("POST", OBS_PATH, {**NEW_OBS, "pressure_hpa": 799}, 422,
                        "pressure_hpa"),
    "wind-speed-negative": Bad("POST", OBS_PATH, {**NEW_OBS, "wind_speed_ms": -0.5}, 422,
                               "wind_speed_ms"),
    "wind-direction-361": Bad("POST", OBS_PATH, {**NEW_OBS, "wind_direction_deg": 361}, 422,
                              "wind_direction_deg"),
    "observed-at-naive": Bad("POST", OBS_PATH, {**NEW_OBS, "observed_at": "2024-06-01T00:00:00"},
                             422, "observed_at", "UTC offset"),
    "observed-at-garbage": Bad("POST", OBS_PATH, {**NEW_OBS, "observed_at": "yesterday"}, 422,
                               "observed_at"),
    "observed-at-missing": Bad("POST", OBS_PATH, {"temperature_c": 1}, 422, "observed_at",
                               MISSING),
    "put-missing-fields": Bad("PUT", "/stations/{sid}", {"name": "Renamed"}, 422,
                              "latitude longitude country", MISSING),
    "put-out-of-range": Bad("PUT", "/stations/{sid}", {**PARIS, "latitude": -90.5}, 422,
                            "latitude"),
    "patch-bad-country": Bad("PATCH", "/stations/{sid}", {"country": "fr"}, 422, "country"),
    "patch-null-name": Bad("PATCH", "/stations/{sid}", {"name": None}, 422, "name"),
    "patch-unknown-field": Bad("PATCH", "/stations/{sid}", {"owner": "me"}, 422, "owner"),
    "patch-missing-station": Bad("PATCH", "/stations/999", {"name": "Ghost"}, 404),
    "put-missing-station": Bad("PUT", "/stations/999", PARIS, 404),
    "observation-missing-station": Bad("POST", "/stations/999/observations", NEW_OBS, 404),
    "body-over-1-MiB": Bad("POST", "/stations", {**PARIS, "name": HUGE}, 413),
}

RAW_CASES = {  # each answered in the format Accept asks for, JSON or XML
    "malformed-json": Bad("POST", "/stations", b'{"name": "Paris",', 400, content_type=JSON),
    "json-nan-literal": Bad("POST", "/stations", b'{"name": "P", "latitude": NaN, '
                            b'"longitude": 1, "country": "FR"}', 400, content_type=JSON),
    "json-latin-1": Bad("POST", "/stations", json.dumps({**PARIS, "name": "Zürich"},
                        ensure_ascii=False).encode("latin-1"), 400, content_type=JSON),
    "json-not-an-object": Bad("POST", "/stations", b"[1, 2]", 422, "_schema",
                              content_type=JSON),
    "json-empty-body": Bad("POST", "/stations", b"", 400, content_type=JSON),
    "malformed-xml": Bad("POST", "/stations", b"<station><name>P</station>", 400,
                         content_type=XML),
    "xml-billion-laughs": Bad("POST", "/stations", BILLION_LAUGHS, 400, content_type=XML),
    "xml-external-entity": Bad("POST", "/stations", EXTERNAL_ENTITY, 400, content_type=XML),
    "xml-latin-1-undeclared": Bad("POST", "/stations", STATION_XML.encode("latin-1"), 400,
                                  content_type=XML),
    "xml-repeated-element": Bad("PATCH", "/stations/{sid}",
                                b"<station><name>A</name><name>B</name></station>", 400,
                                content_type=XML),
    "xml-text-for-object": Bad("POST", "/stations", b"<station>Paris</station>", 422,
                               "_schema", content_type=XML),
    "xml-over-1-MiB": Bad("POST", "/stations", STATION_XML.replace("Zürich", HUGE).encode(),
                          413, content_type=XML),
    "text-plain": Bad("POST", "/stations", b"name=Paris", 415, content_type="text/plain"),
    # a form is read, its number typed by the schema: only the missing field is refused
    "form-urlencoded": Bad("POST", OBS_PATH, b"temperature_c=1", 422, "observed_at",
                           content_type="application/x-www-form-urlencoded"),
}
# fmt: on


# -- the tests ------------------------------------------------------------------------------------


class TestSampleAPI:
    """Each test gets a fresh database; subclasses change only how requests reach the site."""

    @pytest.fixture
    def db_path(self, tmp_path: Path) -> Path:
        return tmp_path / "db.sqlite"

    @pytest.fixture
    def site(self, db_path: Path) -> Iterator[Any]:
        """The sample, every response of which must pass httplint with no BAD note."""
        site = Linted(create_site(db_path, api_token=TOKEN))
        yield site
        site.close()
        assert site.problems == []

    @pytest.fixture
    def client(self, site: Any) -> Any:
        return Client(site, headers=AUTHORIZED)

    @pytest.fixture
    def base_url(self) -> str:
        """Where the client reaches the site: absolute URLs in answers start with it."""
        return "http://localhost"

    @pytest.fixture
    def station(self, client: Any) -> dict:
        """A station (Paris), as the API answered its creation."""
        return expect(call(client, "POST", "/stations", JSON, PARIS), 201, JSON)

    @pytest.fixture
    def observation(self, client: Any, station: dict) -> dict:
        """An observation of `station`, as the API answered its creation."""
        path = f"/stations/{station['id']}/observations"
        return expect(call(client, "POST", path, JSON, OBSERVATION), 201, JSON)

    def create_stations(self, client: Any, countries: str) -> list[int]:
        """One station per country code in ``countries`` (``"FR DE"``); their ids."""
        ids = []
        for n, country in enumerate(countries.split()):
            body = {**BREST, "name": f"S{n}", "country": country}
            ids.append(call(client, "POST", "/stations", JSON, body).json["id"])
        return ids

    def same_in_both(self, client: Any, url: str, root: str) -> Any:
        """GET ``url`` in JSON and in XML: the same data, the XML under element ``root``."""
        as_json = expect(call(client, "GET", url, JSON), 200, JSON)
        response = call(client, "GET", url, XML)
        assert local(xml_root(response).tag) == root
        assert expect(response, 200, XML) == as_json
        return as_json

    # -- GET / ------------------------------------------------------------------------------------

    @MEDIA
    def test_root_links_to_the_collections(self, client, base_url, media):
        root = expect(call(client, "GET", "/", media), 200, media)
        assert root["title"] == "Weather stations"
        assert root["version"]
        assert root["links"] == {"self": f"{base_url}/", "stations": f"{base_url}/stations"}
        self.same_in_both(client, "/", "api")
        assert expect(call(client, "GET", root["links"]["stations"], media), 200, media) == []

    @pytest.mark.parametrize("method", ["GET", "HEAD"])
    def test_root_links_to_the_description_and_its_docs(self, client, base_url, method):
        response = client.request(method, "/")
        assert response.status_code == 200
        assert link_urls(response) == {
            "service-desc": f"{base_url}/openapi.json",
            "service-doc": f"{base_url}/docs",
        }
        described = client.get(link_urls(response)["service-desc"])
        assert described.status_code == 200 and described.json["openapi"].startswith("3.1")
        page = client.get(link_urls(response)["service-doc"], headers={"Accept": "text/html"})
        assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")

    # -- POST /stations and GET /stations/{id} ----------------------------------------------------

    @MEDIA
    def test_create_station(self, client, base_url, media):
        before = dt.datetime.now(dt.UTC)
        response = call(client, "POST", "/stations", media, PARIS, root="station")
        created = expect(response, 201, media)
        assert response.headers["Location"] == f"{base_url}/stations/{created['id']}"
        assert isinstance(created["id"], int)
        assert {k: created[k] for k in PARIS} == PARIS
        assert created["created_at"] == created["updated_at"]
        assert before - dt.timedelta(seconds=1) <= aware(created["created_at"]) <= dt.datetime.now(
            dt.UTC
        )
        assert set(created) == {*PARIS, "id", "created_at", "updated_at"}
        assert self.same_in_both(client, response.headers["Location"], "station") == created

    @MEDIA
    def test_optional_elevation_is_null_and_nil(self, client, media):
        response = call(client, "POST", "/stations", media, BREST, root="station")
        created = expect(response, 201, media)
        assert created["elevation_m"] is None
        response = call(client, "GET", f"/stations/{created['id']}", XML)
        assert xml_root(response).find("elevation_m").get(XSI_NIL) == "true"
        explicit = expect(
            call(client, "POST", "/stations", media, {**BREST, "elevation_m": None}, "station"),
            201,
            media,
        )
        assert explicit["elevation_m"] is None

    def test_what_is_posted_as_xml_reads_back_as_json(self, client):
        body = {**PARIS, "name": "Zürich <Fluntern> & co", "latitude": -0.5, "longitude": 180}
        created = expect(call(client, "POST", "/stations", XML, body, "station"), 201, XML)
        as_json = self.same_in_both(client, f"/stations/{created['id']}", "station")
        assert as_json == created
        assert {k: as_json[k] for k in body} == {**body, "longitude": 180.0}

    @MEDIA
    def test_xml_body_with_declared_encoding(self, client, media):
        body = b'<?xml version="1.0" encoding="ISO-8859-1"?>\n' + STATION_XML.encode("latin-1")
        response = client.post(
            "/stations", data=body, headers={"Content-Type": XML, "Accept": media}
        )
        assert expect(response, 201, media)["name"] == "Zürich"

    @MEDIA
    def test_missing_station_is_a_404_problem(self, client, media):
        problem = assert_problem(call(client, "GET", "/stations/999", media), 404, media)
        assert problem["detail"] == "no station 999"
        assert_problem(call(client, "GET", "/stations/paris", media), 404, media)

    # -- GET /stations ----------------------------------------------------------------------------

    @MEDIA
    def test_list_stations(self, client, media):
        empty = call(client, "GET", "/stations", media)
        assert expect(empty, 200, media) == []
        if media == XML:
            assert local(xml_root(empty).tag) == "stations"
        first = expect(call(client, "POST", "/stations", media, PARIS, "station"), 201, media)
        second = expect(call(client, "POST", "/stations", media, BREST, "station"), 201, media)
        response = call(client, "GET", "/stations", media)
        assert expect(response, 200, media) == [first, second]
        if media == XML:
            assert [local(e.tag) for e in xml_root(response)] == ["station", "station"]
        self.same_in_both(client, "/stations", "stations")

    @pytest.mark.parametrize(
        ("params", "window", "rels"),
        [
            ({}, slice(0, 5), {"first": 0, "last": 0}),
            ({"limit": 2}, slice(0, 2), {"first": 0, "next": 2, "last": 4}),
            ({"limit": 2, "offset": 2}, slice(2, 4), {"first": 0, "prev": 0, "next": 4, "last": 4}),
            ({"limit": 2, "offset": 4}, slice(4, 6), {"first": 0, "prev": 2, "last": 4}),
            ({"limit": 2, "offset": 5}, slice(5, 7), {"first": 0, "prev": 3, "last": 4}),
            ({"limit": 1, "offset": 3}, slice(3, 4), {"first": 0, "prev": 2, "next": 4, "last": 4}),
            ({"limit": 100}, slice(0, 100), {"first": 0, "last": 0}),
            ({"offset": 1}, slice(1, 21), {"first": 0, "prev": 0, "last": 0}),
        ],
    )
    @MEDIA
    def test_station_pages(self, client, base_url, media, params, window, rels):
        ids = self.create_stations(client, "FR DE FR IT FR")
        response = call(client, "GET", "/stations" + query(**params), media)
        assert [s["id"] for s in expect(response, 200, media)] == ids[window]
        limit = str(params.get("limit", 20))
        assert links(response) == {
            rel: (f"{base_url}/stations", {"limit": [limit], "offset": [str(offset)]})
            for rel, offset in rels.items()
        }

    @MEDIA
    def test_country_filter(self, client, base_url, media):
        ids = self.create_stations(client, "FR DE FR IT FR")
        response = call(client, "GET", "/stations" + query(country="FR", limit=2), media)
        page = expect(response, 200, media)
        assert [s["id"] for s in page] == [ids[0], ids[2]]
        assert {s["country"] for s in page} == {"FR"}
        assert links(response)["next"] == (
            f"{base_url}/stations", {"country": ["FR"], "limit": ["2"], "offset": ["2"]}
        )
        assert links(response)["last"][1]["offset"] == ["2"]
        rest = expect(call(client, "GET", link_urls(response)["next"], media), 200, media)
        assert [s["id"] for s in rest] == [ids[4]]
        assert expect(call(client, "GET", "/stations?country=IT", media), 200, media)[0]["id"] == (
            ids[3]
        )
        assert expect(call(client, "GET", "/stations?country=JP", media), 200, media) == []

    @pytest.mark.parametrize(
        ("params", "field"),
        [
            ({"limit": 0}, "limit"),
            ({"limit": 101}, "limit"),
            ({"limit": -5}, "limit"),
            ({"limit": "ten"}, "limit"),
            ({"offset": -1}, "offset"),
            ({"offset": "1.5"}, "offset"),
            ({"country": "fr"}, "country"),
        ],
    )
    @MEDIA
    def test_bad_station_query(self, client, media, params, field):
        response = call(client, "GET", "/stations" + query(**params), media)
        assert_problem(response, 400, media, field)

    # -- PUT, PATCH, DELETE /stations/{id} --------------------------------------------------------

    @MEDIA
    def test_put_replaces_every_field(self, client, station, media):
        url = f"/stations/{station['id']}"
        replacement = {"name": "Montsouris", "latitude": 48.82, "longitude": 2.34, "country": "FR"}
        replaced = expect(call(client, "PUT", url, media, replacement, "station"), 200, media)
        assert {k: replaced[k] for k in replacement} == replacement
        assert replaced["elevation_m"] is None  # absent from a PUT: gone
        assert replaced["id"] == station["id"]
        assert replaced["created_at"] == station["created_at"]
        assert aware(replaced["updated_at"]) > aware(station["updated_at"])
        assert self.same_in_both(client, url, "station") == replaced

    @MEDIA
    def test_patch_merges_the_given_fields(self, client, station, db_path, media):
        url = f"/stations/{station['id']}"
        patched = expect(call(client, "PATCH", url, media, {"elevation_m": 80.5}, "station"),
                         200, media)
        assert patched == {**station, "elevation_m": 80.5, "updated_at": patched["updated_at"]}
        assert aware(patched["updated_at"]) > aware(station["updated_at"])
        renamed = expect(call(client, "PATCH", url, media, {"name": "P", "elevation_m": None},
                              "station"), 200, media)
        assert renamed == {**patched, "name": "P", "elevation_m": None,
                           "updated_at": renamed["updated_at"]}
        assert self.same_in_both(client, url, "station") == renamed
        stations, _ = snapshot(db_path)
        assert stations[0][-1] == 3  # version: 1, then one per update

    @MEDIA
    def test_empty_patch_changes_nothing(self, client, station, db_path, media):
        before = snapshot(db_path)
        response = call(client, "PATCH", f"/stations/{station['id']}", media, {}, "station")
        assert expect(response, 200, media) == station
        assert snapshot(db_path) == before

    @MEDIA
    def test_delete_station_and_its_observations(self, client, station, observation, db_path,
                                                 media):
        other = expect(call(client, "POST", "/stations", JSON, BREST), 201, JSON)
        kept = call(client, "POST", f"/stations/{other['id']}/observations", JSON, OBSERVATION)
        url = f"/stations/{station['id']}"
        response = call(client, "DELETE", url, media)
        assert response.status_code == 204
        assert response.body == b""
        for gone in (url, f"{url}/observations", f"{url}/observations/{observation['id']}",
                     f"{url}/weather"):
            assert_problem(call(client, "GET", gone, media), 404, media)
        stations, observations = snapshot(db_path)
        assert [row[0] for row in stations] == [other["id"]]
        assert [row[0] for row in observations] == [kept.json["id"]]
        assert_problem(call(client, "DELETE", url, media), 404, media)

    # -- observations -----------------------------------------------------------------------------

    @MEDIA
    def test_create_observation(self, client, base_url, station, media):
        body = {**OBSERVATION, "observed_at": "2024-05-01T14:30:00.250+02:00"}
        path = f"/stations/{station['id']}/observations"
        response = call(client, "POST", path, media, body, "observation")
        created = expect(response, 201, media)
        assert response.headers["Location"] == f"{base_url}{path}/{created['id']}"
        assert created["station_id"] == station["id"]
        assert aware(created["observed_at"]) == dt.datetime(2024, 5, 1, 12, 30, 0, 250000, dt.UTC)
        assert {k: created[k] for k in OPTIONAL_MEASURES} == {
            k: OBSERVATION[k] for k in OPTIONAL_MEASURES
        }
        assert created["temperature_c"] == 18.5
        assert self.same_in_both(client, response.headers["Location"], "observation") == created

    @MEDIA
    def test_optional_measures_may_be_left_out(self, client, station, media):
        path = f"/stations/{station['id']}/observations"
        body = {"observed_at": "2024-05-01T00:00:00Z", "temperature_c": -89.5}
        created = expect(call(client, "POST", path, media, body, "observation"), 201, media)
        assert created["temperature_c"] == -89.5
        assert {k: created[k] for k in OPTIONAL_MEASURES} == dict.fromkeys(OPTIONAL_MEASURES)

    def post_hours(self, client: Any, station_id: int, hours: list[int]) -> dict[int, int]:
        """Observations at ``T0 + hours``, temperature = hour; their ids by hour."""
        ids = {}
        for hour in hours:
            body = {"observed_at": (T0 + dt.timedelta(hours=hour)).isoformat(),
                    "temperature_c": hour}
            ids[hour] = call(client, "POST", f"/stations/{station_id}/observations", JSON,
                             body).json["id"]
        return ids

    @pytest.mark.parametrize(
        ("params", "hours"),
        [
            ({}, [4, 3, 2, 1, 0]),
            ({"since": "2024-05-01T01:00:00Z"}, [4, 3, 2, 1]),
            ({"since": "2024-05-01T03:00:00+02:00"}, [4, 3, 2, 1]),
            ({"until": "2024-05-01T02:00:00+00:00"}, [2, 1, 0]),
            ({"since": "2024-05-01T01:00:00Z", "until": "2024-05-01T03:00:00Z"}, [3, 2, 1]),
            ({"since": "2024-05-01T00:30:00Z", "until": "2024-05-01T00:45:00Z"}, []),
            ({"limit": 2}, [4, 3]),
            ({"limit": 2, "offset": 2}, [2, 1]),
            ({"limit": 2, "offset": 1, "until": "2024-05-01T03:00:00Z"}, [2, 1]),
        ],
    )
    @MEDIA
    def test_observations_newest_first_in_a_window(self, client, station, media, params, hours):
        ids = self.post_hours(client, station["id"], [3, 1, 4, 0, 2])
        path = f"/stations/{station['id']}/observations"
        response = call(client, "GET", path + query(**params), media)
        page = expect(response, 200, media)
        assert [o["id"] for o in page] == [ids[h] for h in hours]
        assert [o["temperature_c"] for o in page] == [float(h) for h in hours]
        if media == XML:
            assert [local(e.tag) for e in xml_root(response)] == ["observation"] * len(hours)

    def test_observations_export_as_ndjson_and_csv(self, client, station):
        """Every observation in the window, unpaginated, newest first, in both formats."""
        ids = self.post_hours(client, station["id"], [3, 1, 4, 0, 2])
        path = f"/stations/{station['id']}/observations" + query(since="2024-05-01T01:00:00Z",
                                                                 limit=1)
        response = call(client, "GET", path, "application/x-ndjson")
        assert response.status_code == 200, response.body
        assert response.headers["Content-Type"] == "application/x-ndjson"
        lines = [json.loads(line) for line in response.body.splitlines()]
        assert [o["id"] for o in lines] == [ids[h] for h in (4, 3, 2, 1)]
        response = call(client, "GET", path, "text/csv")
        assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
        header, *rows = response.body.decode().splitlines()
        assert header.split(",")[:2] == ["id", "station_id"]
        assert [int(row.split(",")[0]) for row in rows] == [ids[h] for h in (4, 3, 2, 1)]

    def test_observation_page_links_keep_the_window(self, client, base_url, station):
        self.post_hours(client, station["id"], [0, 1, 2, 3, 4])
        path = f"/stations/{station['id']}/observations"
        since = "2024-05-01T01:00:00+00:00"
        response = client.get(path + query(since=since, limit=2))
        assert links(response) == {
            rel: (f"{base_url}{path}", {"since": [since], "limit": ["2"], "offset": [offset]})
            for rel, offset in {"first": "0", "next": "2", "last": "2"}.items()
        }
        following = client.get(link_urls(response)["next"])
        assert [o["temperature_c"] for o in following.json] == [2.0, 1.0]

    @pytest.mark.parametrize(
        ("params", "field", "message"),
        [
            ({"since": "2024-05-01T01:00:00"}, "since", "UTC offset"),
            ({"until": "2024-05-01"}, "until", None),
            ({"since": "soon"}, "since", None),
            ({"since": "2024-05-02T00:00:00Z", "until": "2024-05-01T00:00:00Z"}, "until", None),
            ({"limit": 101}, "limit", None),
            ({"limit": 0}, "limit", None),
        ],
    )
    @MEDIA
    def test_bad_observation_query(self, client, station, media, params, field, message):
        path = f"/stations/{station['id']}/observations" + query(**params)
        problem = assert_problem(call(client, "GET", path, media), 400, media, field)
        if message:
            assert message in problem["errors"][field][0]

    @MEDIA
    def test_observations_of_a_missing_station(self, client, media):
        problem = assert_problem(call(client, "GET", "/stations/42/observations", media), 404,
                                 media)
        assert problem["detail"] == "no station 42"

    @MEDIA
    def test_observation_belongs_to_its_station(self, client, station, observation, media):
        other = call(client, "POST", "/stations", JSON, BREST).json
        ok = f"/stations/{station['id']}/observations/{observation['id']}"
        assert expect(call(client, "GET", ok, media), 200, media) == observation
        for missing in (f"/stations/{other['id']}/observations/{observation['id']}",
                        f"/stations/{station['id']}/observations/999"):
            assert_problem(call(client, "GET", missing, media), 404, media)

    # -- weather ----------------------------------------------------------------------------------

    @MEDIA
    def test_weather_is_the_latest_observation(self, client, station, media):
        url = f"/stations/{station['id']}/weather"
        problem = assert_problem(call(client, "GET", url, media), 404, media)
        assert problem["detail"] == f"station {station['id']} has no observations yet"
        path = f"/stations/{station['id']}/observations"
        newest = call(client, "POST", path, media, OBSERVATION, "observation")
        older = {**OBSERVATION, "observed_at": "2024-04-30T12:00:00Z", "temperature_c": 3}
        expect(call(client, "POST", path, media, older, "observation"), 201, media)
        weather = expect(call(client, "GET", url, media), 200, media)
        assert weather == {**decode(newest), "station_name": PARIS["name"]}
        assert self.same_in_both(client, url, "weather") == weather
        assert_problem(call(client, "GET", "/stations/999/weather", media), 404, media)

    def test_of_observations_at_one_moment_the_list_and_weather_agree(self, client, station):
        path = f"/stations/{station['id']}/observations"
        made = [expect(call(client, "POST", path, JSON, {**OBSERVATION, "temperature_c": t}),
                       201, JSON)["id"] for t in (1, 2, 3)]
        listed = client.get(path).json
        assert [o["id"] for o in listed] == made[::-1]
        weather = client.get(f"/stations/{station['id']}/weather").json
        assert weather["id"] == listed[0]["id"] == made[-1]

    def test_a_trailing_newline_is_no_country_and_no_clean_name(self, client):
        for body in ({"country": "FR\n"}, {"name": "Brest\n"}):
            response = call(client, "POST", "/stations", JSON, {**PARIS, **body})
            assert response.status_code == 422, response.text
            assert set(response.json["errors"]) == set(body)
        assert client.get("/stations?country=FR%0A").status_code == 400

    # -- form bodies, as the browsable page's forms send them without a script -------------------

    def post_form(self, client: Any, path: str, data: dict[str, Any], form: str) -> Any:
        body, content_type = form_encode(data, form)
        headers = {"Content-Type": content_type, "Accept": JSON}
        return client.request("POST", path, data=body, headers=headers)

    def read_back(self, client: Any, created: Any) -> dict:
        """What a 201 created, read back as JSON from its ``Location``."""
        expect(created, 201, JSON)
        return expect(call(client, "GET", created.headers["Location"], JSON), 200, JSON)

    @FORMS
    def test_a_form_creates_what_json_creates(self, client, form):
        if form == MULTIPART:
            pytest.importorskip("multipart")
        made = "id created_at updated_at"
        by_json = self.read_back(client, call(client, "POST", "/stations", JSON, PARIS))
        created = self.post_form(client, "/stations", PARIS, form)
        by_form = self.read_back(client, created)
        assert created.json == by_form
        assert without(by_form, made) == without(by_json, made)
        assert {k: by_form[k] for k in PARIS} == PARIS  # typed: 48.8217, not "48.8217"

        json_path = f"/stations/{by_json['id']}/observations"
        seen_by_json = self.read_back(client, call(client, "POST", json_path, JSON, OBSERVATION))
        form_path = f"/stations/{by_form['id']}/observations"
        seen_by_form = self.read_back(client, self.post_form(client, form_path, OBSERVATION, form))
        made += " station_id"
        assert without(seen_by_form, made) == without(seen_by_json, made)
        assert seen_by_form["temperature_c"] == 18.5

    @FORMS
    @pytest.mark.parametrize(
        ("field", "text"), [("latitude", "north"), ("latitude", "91"), ("longitude", "1,5")]
    )
    def test_a_bad_number_in_a_form_is_422_naming_it(self, client, db_path, form, field, text):
        if form == MULTIPART:
            pytest.importorskip("multipart")
        before = snapshot(db_path)
        response = self.post_form(client, "/stations", {**PARIS, field: text}, form)
        problem = assert_problem(response, 422, JSON, field)
        assert set(problem["errors"]) == {field}
        assert snapshot(db_path) == before

    # -- HEAD, OPTIONS, 405 -----------------------------------------------------------------------

    @pytest.mark.parametrize(
        ("path", "allowed"),
        [
            ("/", "GET HEAD"),
            ("/stations", "GET HEAD POST"),
            ("/stations/{sid}", "GET HEAD PUT PATCH DELETE"),
            ("/stations/{sid}/observations", "GET HEAD POST"),
            ("/stations/{sid}/observations/{oid}", "GET HEAD"),
            ("/stations/{sid}/weather", "GET HEAD"),
        ],
    )
    @MEDIA
    def test_head_options_and_405(self, client, station, observation, db_path, media, path,
                                  allowed):
        path = path.format(sid=station["id"], oid=observation["id"])
        before = snapshot(db_path)
        allowed_methods = {*allowed.split(), "OPTIONS"}
        got = call(client, "GET", path, media)
        head = call(client, "HEAD", path, media)
        assert head.status_code == got.status_code == 200
        assert head.body == b""
        for name in ("Content-Type", "Content-Length", "Vary", "Link", "ETag"):
            assert head.headers.get(name) == got.headers.get(name), name
        options = call(client, "OPTIONS", path, media)
        assert options.status_code in (200, 204)
        assert set(options.headers["Allow"].split(", ")) == allowed_methods
        for method in sorted({"POST", "PUT", "PATCH", "DELETE"} - allowed_methods):
            refused = call(client, method, path, media)
            assert_problem(refused, 405, media)
            assert set(refused.headers["Allow"].split(", ")) == allowed_methods
        assert snapshot(db_path) == before

    # -- bad input --------------------------------------------------------------------------------

    @pytest.mark.parametrize("case", SCHEMA_CASES.values(), ids=SCHEMA_CASES.keys())
    @MEDIA
    def test_bad_input_is_refused(self, client, station, observation, db_path, media, case):
        """Each bad body, sent in ``media``: a problem in ``media``, and nothing stored."""
        body = encode(case.body, media, case.root)
        self.assert_refused(client, station, db_path, case, media, body, media)

    @pytest.mark.parametrize("case", RAW_CASES.values(), ids=RAW_CASES.keys())
    @MEDIA
    def test_bad_bytes_are_refused(self, client, station, observation, db_path, media, case):
        """Each bad raw body; the problem comes in the format ``Accept`` asks for."""
        self.assert_refused(client, station, db_path, case, case.content_type, case.body, media)

    def assert_refused(self, client, station, db_path, case, content_type, body, accept):
        before = snapshot(db_path)
        response = client.request(
            case.method,
            case.path.format(sid=station["id"]),
            data=body,
            headers={"Content-Type": content_type, "Accept": accept},
        )
        fields = case.errors.split()
        problem = assert_problem(response, case.status, accept, *fields[:1])
        if fields:
            assert set(problem["errors"]) == set(fields), problem
        if case.message:
            assert any(case.message in m for m in problem["errors"][fields[0]]), problem
        assert snapshot(db_path) == before

