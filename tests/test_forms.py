"""Form bodies: urlencoded and multipart load through the input schema, as JSON does."""

from __future__ import annotations

import re
import urllib.parse
from html.parser import HTMLParser

import pytest
from conftest import served
from marshmallow import Schema, fields, validate

from resourcekit import Resource, Site
from resourcekit.cors import CORS
from resourcekit.testing import Client

FORM = "application/x-www-form-urlencoded"


class Station(Schema):
    id = fields.Integer(dump_only=True)
    name = fields.String(required=True, validate=validate.Length(min=1, max=40))
    elevation = fields.Integer()
    active = fields.Boolean()
    tags = fields.List(fields.String())
    location = fields.Nested(
        Schema.from_dict({"lat": fields.Float(), "lon": fields.Float()})
    )


def make_site() -> Site:
    site = Site("Forms")

    @site.route("/stations")
    class Stations(Resource):
        schema = Station

        def get(self, request):
            return []

        def post(self, request):
            return {"id": 1, **request.validated}

    return site


@pytest.fixture
def client() -> Client:
    return Client(make_site())


def post(client: Client, body: str, content_type: str = FORM, **headers: str):
    return client.post("/stations", data=body, headers={"Content-Type": content_type, **headers})


def test_urlencoded_loads_through_the_schema(client):
    r = post(client, "name=Oslo&elevation=94&active=on&tags=a&tags=b")
    assert r.status_int == 200, r.text
    assert r.json == {"id": 1, "name": "Oslo", "elevation": 94, "active": True, "tags": ["a", "b"]}


def test_a_repeated_single_field_keeps_the_last_value(client):
    assert post(client, "name=a&name=Bergen").json["name"] == "Bergen"


def test_empty_values_are_left_out(client):
    r = post(client, "name=Oslo&elevation=&tags=")
    assert r.json == {"id": 1, "name": "Oslo"}


def test_a_nested_field_reads_json(client):
    r = post(client, "name=Oslo&location=" + urllib.parse.quote('{"lat": 59.9, "lon": 10.7}'))
    assert r.json["location"] == {"lat": 59.9, "lon": 10.7}
    bad = post(client, "name=Oslo&location=%7Bnope")
    assert bad.status_int == 422 and bad.json["errors"] == {"location": ["Not valid JSON."]}


def test_validation_errors_are_422_as_for_json(client):
    r = post(client, "elevation=high&colour=red")
    assert r.status_int == 422
    assert set(r.json["errors"]) == {"name", "elevation", "colour"}


def test_hostile_urlencoded(client):
    assert post(client, "name=%FF%FE").status_int == 400
    assert post(client, "&".join(f"f{i}=1" for i in range(1000))).status_int == 413
    assert post(client, "name=x", f"{FORM}; charset=latin-1").status_int == 415
    assert post(client, "").status_int == 400


def test_a_form_from_another_site_is_refused(client):
    assert post(client, "name=x", Origin="https://evil.example").status_int == 403
    assert post(client, "name=x", **{"Sec-Fetch-Site": "cross-site"}).status_int == 403
    assert post(client, "name=x", Origin="http://localhost").status_int == 200
    assert post(client, "name=x", **{"Sec-Fetch-Site": "same-origin"}).status_int == 200


def test_a_form_from_a_cors_origin_is_allowed():
    site = make_site()
    site.cors = CORS.coerce(["https://app.example"])
    r = post(Client(site), "name=x", Origin="https://app.example")
    assert r.status_int == 200


def test_415_lists_the_form_types(client):
    r = post(client, "x", "text/plain")
    assert r.status_int == 415
    assert FORM in r.json["accepted"] and "multipart/form-data" in r.json["accepted"]


def test_form_types_are_never_offered_as_representations(client):
    r = client.get("/stations", headers={"Accept": FORM})
    assert r.status_int == 406


def test_over_http_under_waitress():
    with served(make_site()) as base:
        import urllib.request

        request = urllib.request.Request(
            base + "/stations", data=b"name=Tromso&tags=x&tags=y", method="POST",
            headers={"Content-Type": FORM},
        )
        with urllib.request.urlopen(request) as response:
            body = response.read()
    assert re.search(rb'"tags":\["x","y"\]', body)


class _Forms(HTMLParser):
    """The page's forms: their attributes, and the name of each control."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: dict[str, dict] = {}
        self.current: dict | None = None

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "form":
            self.current = {"attrs": attributes, "names": [], "buttons": []}
            self.forms[attributes.get("id", "")] = self.current
        elif self.current is not None and tag in ("input", "select", "textarea"):
            self.current["names"].append((attributes.get("name"), attributes.get("type")))
        elif self.current is not None and tag == "button":
            self.current["buttons"].append(attributes)

    def handle_endtag(self, tag):
        if tag == "form":
            self.current = None


def page_forms(client: Client, path: str) -> dict[str, dict]:
    parser = _Forms()
    parser.feed(client.get(path, headers={"Accept": "text/html"}).text)
    return parser.forms


def test_the_page_create_form_submits_without_javascript(client):
    forms = page_forms(client, "/stations")
    create = forms["rk-form-post"]
    assert create["attrs"]["method"] == "post"
    assert create["attrs"]["enctype"] == FORM
    assert "action" not in create["attrs"]  # the page's own address
    assert "disabled" not in create["buttons"][0]
    names = [name for name, _ in create["names"]]
    assert names == ["name", "elevation", "active", "tags", "tags", "tags", "location"]
    # what a browser sends for that form, filled in: a checked box sends its value, and each
    # of a list's inputs its item, an empty one nothing the schema sees
    body = "name=Oslo&elevation=94&active=true&tags=a&tags=b%2Cc&tags=&location="
    r = post(client, body, **{"Origin": "http://localhost", "Accept": "application/json"})
    assert r.status_int == 200, r.text
    assert r.json["name"] == "Oslo" and r.json["tags"] == ["a", "b,c"]


def test_forms_for_other_methods_wait_for_the_script():
    site = Site()

    @site.route("/stations/{sid:int}")
    class Item(Resource):
        schema = Station

        def get(self, request, sid):
            return {"id": sid, "name": "x"}

        def put(self, request, sid):
            return request.validated

        def delete(self, request, sid):
            return None

    forms = page_forms(Client(site), "/stations/1")
    for form in ("rk-form-put", "rk-form-delete"):
        assert "method" not in forms[form]["attrs"]
        assert "disabled" in forms[form]["buttons"][0]


def test_a_schema_with_a_file_gets_a_multipart_form():
    pytest.importorskip("multipart")
    from resourcekit.fields import File

    site = Site()

    @site.route("/photos")
    class Photos(Resource):
        input_schema = Schema.from_dict({"title": fields.String(), "image": File()})

        def get(self, request):
            return []

        def post(self, request):
            return None

    create = page_forms(Client(site), "/photos")["rk-form-post"]
    assert create["attrs"]["enctype"] == "multipart/form-data"
    assert ("image", "file") in create["names"]


# -- form text typed by the schema's fields, so strict fields take forms as they take JSON -------


class _StrictFloat(fields.Float):
    """A float that refuses strings, as the sample's numbers do."""

    def _validated(self, value):
        if isinstance(value, str):
            raise self.make_error("invalid", input=value)
        return super()._validated(value)


class Strict(Schema):
    height = _StrictFloat()
    count = fields.Integer(strict=True)
    active = fields.Boolean(truthy={True}, falsy={False})  # no strings
    scores = fields.List(fields.Integer(strict=True))
    label = fields.String()


def strict_client() -> Client:
    site = Site("Strict forms")

    @site.route("/things")
    class Things(Resource):
        input_schema = Strict

        def post(self, request):
            return request.validated

    return Client(site)


def post_strict(body: str):
    return strict_client().post("/things", data=body, headers={"Content-Type": FORM})


def test_strict_numbers_take_form_text_spelled_as_json_spells_numbers():
    r = post_strict("height=-1.5e2&count=42&label=7")
    assert r.status_int == 200, r.text
    assert r.json == {"height": -150.0, "count": 42, "label": "7"}  # a string field stays text


@pytest.mark.parametrize(
    ("text", "value"), [("true", True), ("false", False), ("on", True)]
)
def test_booleans_from_a_form(text, value):
    r = post_strict(f"active={text}")
    assert r.status_int == 200, r.text
    assert r.json == {"active": value}


def test_a_list_field_types_each_of_its_inputs():
    r = post_strict("scores=3&scores=-1&scores=0")
    assert r.status_int == 200, r.text
    assert r.json == {"scores": [3, -1, 0]}
    bad = post_strict("scores=3&scores=x")
    assert bad.status_int == 422 and set(bad.json["errors"]) == {"scores.1"}  # the second item


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ("height=tall", "height"),
        ("height=1.5.2", "height"),
        ("count=1.5", "count"),
        ("count=007", "count"),  # not as JSON spells a number: left as text, and refused
        ("active=yes", "active"),
        ("active=True", "active"),
    ],
)
def test_text_that_spells_no_value_of_the_field_is_422_naming_it(body, field):
    r = post_strict(body)
    assert r.status_int == 422, r.text
    assert set(r.json["errors"]) == {field}
