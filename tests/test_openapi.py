"""The OpenAPI document (`Site.openapi`), the docs routes (``docs=True``), ``resourcekit openapi``.

The sample's document must validate as OpenAPI 3.1 and name every route, method, parameter and
media type the site has; the docs page must work with nothing but this site (no other host).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import pytest
import webob
from marshmallow import Schema, fields, validate
from openapi_spec_validator import validate as validate_openapi

from resourcekit import Created, Page, Request, Resource, Site, auth
from resourcekit.docs import ASSETS
from resourcekit.ratelimit import RateLimit
from resourcekit.testing import Client
from sample_project.app import create_site

TOKEN = "openapi-test-token"
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


@pytest.fixture
def sample(tmp_path: Path) -> Iterator[Site]:
    site = create_site(tmp_path / "db.sqlite", api_token=TOKEN)
    yield site
    site.close()


@pytest.fixture
def document(sample: Site) -> dict[str, Any]:
    return sample.openapi()


def resolve(document: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    """Follow a local ``$ref`` (``#/components/...``)."""
    while "$ref" in node:
        target: Any = document
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield path, method, operation


def openapi_path(template: str) -> str:
    return re.sub(r"\{(\w+)(?::\w+)?\}", r"{\1}", template)


def parameter_names(document: dict[str, Any], path: str, method: str) -> dict[str, str]:
    """Each parameter of an operation (its path item's included) by name, with its location."""
    item = document["paths"][path]
    found = [*item.get("parameters", []), *item[method].get("parameters", [])]
    return {resolve(document, p)["name"]: resolve(document, p)["in"] for p in found}


# -- the sample's document ----------------------------------------------------------------------


def test_sample_document_is_valid_openapi_3_1(document: dict[str, Any]) -> None:
    validate_openapi(document)
    assert document["openapi"] == "3.1.0"
    info = document["info"]
    assert {k: info[k] for k in ("title", "version", "license")} == {
        "title": "Weather stations",
        "version": "1.0.0",
        "license": {"name": "MIT", "identifier": "MIT"},
    }
    assert info["description"].startswith(
        "Weather stations and their observations, in JSON and XML.\n\n"
    )  # then the API version this document is of, and the changes between versions
    assert info["x-api-version"] == "2026-11-23"
    assert [c["version"] for c in info["x-changes"]] == ["2027-01-15"]
    json.dumps(document)  # JSON-ready: no marshmallow objects or other Python values left


def test_every_route_and_method_is_documented(sample: Site, document: dict[str, Any]) -> None:
    unlisted = ("openapi", "docs", "docs_assets", "healthz", "readyz", "metrics")
    routes = [r for r in sample.routes if r.name not in unlisted]
    assert set(document["paths"]) == {openapi_path(r.template) for r in routes}
    for route in routes:
        item = document["paths"][openapi_path(route.template)]
        documented = {m.upper() for m in item if m in METHODS}
        assert documented == {*route.target.handlers, "OPTIONS"}, route.template
        assert documented == set(route.target.allow.split(", ")), route.template
    ids = [operation["operationId"] for _, _, operation in operations(document)]
    assert len(ids) == len(set(ids)) == 23
    assert "Stations.post" in ids and "Station.patch" in ids


def test_docs_routes_are_not_in_the_document(document: dict[str, Any]) -> None:
    assert not any(path.startswith(("/docs", "/openapi")) for path in document["paths"])


def test_path_parameters_are_typed(document: dict[str, Any]) -> None:
    item = document["paths"]["/stations/{station_id}/observations/{obs_id}"]
    parameters = {p["name"]: p for p in item["parameters"]}
    assert set(parameters) == {"station_id", "obs_id"}
    for parameter in parameters.values():
        assert parameter["in"] == "path" and parameter["required"] is True
        assert parameter["schema"] == {"type": "integer", "minimum": 0, "maximum": 2**63 - 1}


def test_query_parameters_come_from_the_query_schema(document: dict[str, Any]) -> None:
    for method in ("get", "head"):
        query = {
            p["name"]: p for p in document["paths"]["/stations"][method]["parameters"]
            if p.get("in") == "query"
        }
        assert {"limit", "offset", "country", "sort", "fields", "cursor"} <= set(query)
        assert {"country[gte]", "elevation_m[lt]", "latitude[lte]"} <= set(query)
        assert query["limit"]["schema"] == {
            "type": "integer", "default": 20, "minimum": 1, "maximum": 100
        }
        assert query["offset"]["schema"]["minimum"] == 0
        assert query["country"]["schema"]["type"] == "array"  # country=DE&country=FR: either
        assert query["country"]["schema"]["items"]["pattern"] == "^[A-Z]{2}$(?!\\n)"
    observations = document["paths"]["/stations/{station_id}/observations"]["get"]
    names = {p["name"] for p in observations["parameters"] if p.get("in") == "query"}
    assert {"limit", "offset", "since", "until", "sort", "fields", "cursor"} <= names
    assert {"expand", "observed_at[gte]", "temperature_c[lt]"} <= names
    assert "parameters" not in document["paths"]["/stations"]["post"] or all(
        resolve(document, p)["in"] == "header"
        for p in document["paths"]["/stations"]["post"]["parameters"]
    )


def test_request_headers_where_they_apply(document: dict[str, Any]) -> None:
    assert parameter_names(document, "/stations/{station_id}", "get") == {
        "station_id": "path", "If-None-Match": "header", "If-Modified-Since": "header",
        "API-Version": "header",
    }
    put = parameter_names(document, "/stations/{station_id}", "put")
    assert {"If-Match", "If-None-Match", "If-Unmodified-Since", "Prefer"} <= set(put)
    patch = parameter_names(document, "/stations/{station_id}", "patch")
    assert {"If-Match", "Idempotency-Key", "Prefer"} <= set(patch)
    assert "If-Match" in parameter_names(document, "/stations/{station_id}", "delete")
    post = parameter_names(document, "/stations", "post")
    assert {"Idempotency-Key", "Prefer"} <= set(post)
    assert "If-Match" not in post
    weather = parameter_names(document, "/stations/{station_id}/weather", "get")
    assert "If-Modified-Since" not in weather


def test_bodies_in_every_media_type_the_site_reads(document: dict[str, Any]) -> None:
    readable = {"application/json", "application/xml", "text/xml"}  # forms are the page's
    for path, method, operation in operations(document):
        if method in ("post", "put", "patch"):
            body = operation["requestBody"]
            assert body["required"] is True
            patches = {"application/merge-patch+json", "application/json-patch+json"}
            expected = readable | patches if method == "patch" else readable
            assert set(body["content"]) == expected, (path, method)
    post = document["paths"]["/stations"]["post"]["requestBody"]["content"]
    station = resolve(document, post["application/xml"]["schema"])
    assert station["xml"] == {"name": "station"}
    assert set(station["required"]) == {"name", "latitude", "longitude", "country"}
    assert station["properties"]["id"]["readOnly"] is True
    patch = document["paths"]["/stations/{station_id}"]["patch"]["requestBody"]["content"]
    assert patch["application/json"]["schema"] == {"$ref": "#/components/schemas/StationPatch"}
    partial = resolve(document, patch["application/json"]["schema"])
    assert "required" not in partial
    assert partial["properties"] == station["properties"]
    assert partial["xml"] == {"name": "station"}


def test_responses_in_every_media_type_the_site_renders(
    sample: Site, document: dict[str, Any]
) -> None:
    offers = set(sample.negotiator.offers)
    assert {"application/json", "application/xml", "text/xml"} <= offers
    exports = {"application/x-ndjson", "text/csv"}  # the collections' own, streamed
    collections = {"/stations", "/stations/{station_id}/observations"}
    for path, method, operation in operations(document):
        for status, response in operation["responses"].items():
            response = resolve(document, response)
            if status.startswith("2") and "content" in response:
                expected = offers | exports if path in collections else offers
                assert set(response["content"]) == expected, (path, method, status)


def test_success_statuses_and_headers(document: dict[str, Any]) -> None:
    stations = document["paths"]["/stations"]
    assert {"200", "304"} <= set(stations["get"]["responses"])
    assert "required" not in stations["get"]["responses"]["200"]["headers"]["ETag"]  # exports
    created = stations["post"]["responses"]["201"]
    assert created["headers"]["Location"]["required"] is True
    assert "Idempotent-Replayed" in created["headers"]
    station = document["paths"]["/stations/{station_id}"]
    assert {"200", "204"} <= set(station["put"]["responses"])
    assert "204" in station["delete"]["responses"]
    assert "Last-Modified" in station["get"]["responses"]["200"]["headers"]
    options = station["options"]["responses"]["204"]
    assert options["headers"]["Allow"]["required"] is True
    weather = document["paths"]["/stations/{station_id}/weather"]["get"]["responses"]
    assert weather["200"]["headers"]["Cache-Control"]["required"] is True
    assert weather["304"]["headers"]["Cache-Control"]["required"] is True


def test_the_samples_reads_are_typed(document: dict[str, Any]) -> None:
    def schema(path: str) -> dict[str, Any]:
        content = document["paths"][path]["get"]["responses"]["200"]["content"]
        found: dict[str, Any] = content["application/xml"]["schema"]
        return found

    assert schema("/stations") == {
        "type": "array",
        "items": {"$ref": "#/components/schemas/StationListed"},
        "xml": {"name": "stations", "wrapped": True},
    }
    assert "Link" in document["paths"]["/stations"]["get"]["responses"]["200"]["headers"]
    assert schema("/stations/{station_id}") == {"$ref": "#/components/schemas/Station"}
    assert "Link" not in document["paths"]["/stations/{station_id}"]["get"]["responses"]["200"][
        "headers"
    ]
    assert schema("/stations/{station_id}/observations")["type"] == "array"
    assert schema("/stations/{station_id}/weather") == {"$ref": "#/components/schemas/Weather"}
    assert schema("/") == {"$ref": "#/components/schemas/Root"}
    for _, _, operation in operations(document):
        for response in operation["responses"].values():
            assert "oneOf" not in json.dumps(resolve(document, response))


def test_head_responses_have_no_content(document: dict[str, Any]) -> None:
    heads = [(path, op) for path, method, op in operations(document) if method == "head"]
    assert len(heads) == 6
    for path, operation in heads:
        get = document["paths"][path]["get"]["responses"]
        assert set(operation["responses"]) == set(get), path
        for status, response in operation["responses"].items():
            if not status.startswith("4"):
                assert "content" not in response, (path, status)
                assert response.get("headers") == get[status].get("headers"), (path, status)


def test_problems_are_components_referenced_by_status(document: dict[str, Any]) -> None:
    components = document["components"]["responses"]
    referenced = set()
    for path, method, operation in operations(document):
        for status, response in operation["responses"].items():
            if status.startswith(("4", "5")):
                assert set(response) == {"$ref"}, (path, method, status)
                name = response["$ref"].rpartition("/")[2]
                referenced.add(name)
                assert components[name]["description"]
        if method != "options":
            assert "406" in operation["responses"], (path, method)
        assert "500" in operation["responses"], (path, method)  # any handler may fail
    assert referenced == set(components)  # every component is used, none is missing
    problem = document["components"]["schemas"]["Problem"]
    assert set(problem["properties"]) >= {"type", "title", "status", "detail", "errors"}
    errors = problem["properties"]["errors"]["additionalProperties"]
    assert errors["type"] == "array" and errors["items"]["type"] == "string"
    for response in components.values():
        content = response["content"]
        assert {"application/problem+json", "application/problem+xml"} <= set(content)
        assert content["application/problem+json"]["schema"] == {
            "$ref": "#/components/schemas/Problem"
        }


def test_which_problems_each_operation_can_give(document: dict[str, Any]) -> None:
    def statuses(path: str, method: str) -> set[str]:
        return {s for s in document["paths"][path][method]["responses"] if s >= "400"}

    assert statuses("/", "get") == {"400", "500", "406"}  # 400: an unknown API-Version
    assert statuses("/stations", "get") == {"400", "500", "406"}
    assert statuses("/stations", "post") == {
        "400", "500", "401", "406", "409", "413", "415", "422"
    }
    assert statuses("/stations/{station_id}", "get") == {"400", "500", "404", "406"}
    assert statuses("/stations/{station_id}", "put") == {
        "400", "500", "401", "404", "406", "412", "413", "415", "422"
    }
    assert statuses("/stations/{station_id}", "patch") == {
        "400", "500", "401", "404", "406", "409", "412", "413", "415", "422"
    }
    assert statuses("/stations/{station_id}", "delete") == {
        "400", "500", "401", "404", "406", "412"
    }
    assert statuses("/stations/{station_id}", "options") == {"400", "500", "404"}
    assert statuses("/", "options") == {"400", "500"}
    unauthorized = document["components"]["responses"]["Unauthorized"]
    assert unauthorized["headers"]["WWW-Authenticate"]["required"] is True


def test_security_follows_the_authenticators(document: dict[str, Any]) -> None:
    assert document["components"]["securitySchemes"] == {
        "bearerAuth": {"type": "http", "scheme": "bearer"}
    }
    for path, method, operation in operations(document):
        if method in ("post", "put", "patch", "delete"):
            assert operation["security"] == [{"bearerAuth": []}], (path, method)
        else:  # open to anyone, where other methods are not
            assert operation["security"] == [], (path, method)


def test_summaries_come_from_docstrings(document: dict[str, Any]) -> None:
    post = document["paths"]["/stations"]["post"]
    assert post["summary"].startswith("Add a station")
    listing = document["paths"]["/stations"]["get"]
    assert listing["summary"] == (
        "List stations, by id, a page at a time; Link names the other pages."
    )
    assert listing["description"].startswith("As NDJSON")  # the docstring's next paragraph
    assert document["paths"]["/stations"]["head"]["summary"].startswith("Headers only: ")
    tags = {tag["name"]: tag for tag in document["tags"]}
    assert tags["Stations"]["description"] == "The weather stations."


# -- other sites: what the sample does not show ---------------------------------------------------


class TagSchema(Schema):
    label = fields.Str()


class NoteSchema(Schema):
    id = fields.Int(dump_only=True)
    title = fields.Str(required=True, validate=validate.Length(min=1))
    tags = fields.List(fields.Str())
    labels = fields.List(fields.Nested(TagSchema))
    owner = fields.Nested(TagSchema, allow_none=True)
    extra = fields.Dict(keys=fields.Str(), values=fields.List(fields.Int()))

    class Meta:
        xml_name = "note"
        xml_plural = "notes"


def annotated_site(**options: Any) -> Site:
    site = Site(title="Notes", version="2.0", **options)

    class Notes(Resource):
        schema = NoteSchema

        def get(self, request: Request) -> list[dict[str, Any]]:
            return []

        def post(self, request: Request) -> Created:
            return Created({}, location="/")

    class Pages(Resource):
        schema = NoteSchema

        def get(self, request: Request) -> Page:
            return Page([], limit=10)

    class Note(Resource):
        schema = NoteSchema
        require_preconditions = True

        def etag(self, request: Request, **fields: Any) -> str:
            return "1"

        def get(self, request: Request, key: str, rest: str) -> dict[str, Any]:
            return {}

        def put(self, request: Request, key: str, rest: str) -> dict[str, Any]:
            return {}

    site.add("/notes", Notes)
    site.add("/pages", Pages)
    site.add("/notes/{key:uuid}/{rest:path}", Note)
    return site


def test_return_annotations_decide_object_or_list() -> None:
    document = annotated_site().openapi()
    validate_openapi(document)

    def schema(path: str) -> dict[str, Any]:
        found: dict[str, Any] = document["paths"][path]["get"]["responses"]["200"]["content"][
            "application/json"
        ]["schema"]
        return found

    assert schema("/notes")["type"] == "array"
    assert schema("/notes")["xml"] == {"name": "notes", "wrapped": True}
    assert schema("/pages")["type"] == "array"
    assert schema("/notes/{key}/{rest}") == {"$ref": "#/components/schemas/Note"}
    assert "Link" not in document["paths"]["/notes/{key}/{rest}"]["get"]["responses"]["200"][
        "headers"
    ]


def test_uuid_and_path_fields() -> None:
    document = annotated_site().openapi()
    parameters = {p["name"]: p for p in document["paths"]["/notes/{key}/{rest}"]["parameters"]}
    assert parameters["key"]["schema"] == {"type": "string", "format": "uuid"}
    assert parameters["rest"]["schema"] == {"type": "string", "minLength": 1}
    assert "/" in parameters["rest"]["description"]


def test_require_preconditions_gives_428() -> None:
    document = annotated_site().openapi()
    put = document["paths"]["/notes/{key}/{rest}"]["put"]
    assert {"412", "428"} <= set(put["responses"])
    assert "428" not in document["paths"]["/notes/{key}/{rest}"]["get"]["responses"]


def test_xml_mapping_of_lists_nested_schemas_and_mappings() -> None:
    document = annotated_site().openapi()
    note = document["components"]["schemas"]["Note"]
    assert note["xml"] == {"name": "note"}
    properties = note["properties"]
    assert properties["tags"]["xml"] == {"wrapped": True}
    assert properties["tags"]["items"] == {"type": "string", "xml": {"name": "item"}}
    labels = properties["labels"]["items"]
    assert labels == {"allOf": [{"$ref": "#/components/schemas/Tag"}], "xml": {"name": "item"}}
    owner = properties["owner"]
    assert owner["xml"] == {"name": "owner"}
    assert {"type": "null"} in owner["anyOf"]
    values = properties["extra"]["additionalProperties"]
    assert values["xml"] == {"wrapped": True} and values["items"]["xml"] == {"name": "item"}
    assert document["components"]["schemas"]["Tag"]["xml"] == {"name": "tag"}


def test_authenticators_become_security_schemes() -> None:
    bearer = auth.Bearer(auth.tokens({"t": "me"}))
    basic = auth.Basic(auth.passwords({"u": "p"}))
    key = auth.APIKey(auth.tokens({"k": "me"}), header="X-Key")
    site = annotated_site(authentication={"get": [], "*": [bearer, basic, key]})
    document = site.openapi()
    validate_openapi(document)
    assert document["components"]["securitySchemes"] == {
        "bearerAuth": {"type": "http", "scheme": "bearer"},
        "basicAuth": {"type": "http", "scheme": "basic"},
        "apiKey-X-Key": {"type": "apiKey", "in": "header", "name": "X-Key"},
    }
    post = document["paths"]["/notes"]["post"]
    assert post["security"] == [{"bearerAuth": []}, {"basicAuth": []}, {"apiKey-X-Key": []}]
    assert "401" in post["responses"] and "401" not in document["paths"]["/notes"]["get"][
        "responses"
    ]


def test_permissions_give_403_and_401() -> None:
    class Guarded(Resource):
        permissions = (auth.authenticated,)
        authentication = [auth.Bearer(auth.tokens({"t": "me"}))]

        def get(self, request: Request) -> dict[str, Any]:
            return {}

    site = Site()
    site.add("/guarded", Guarded)
    responses = site.openapi()["paths"]["/guarded"]["get"]["responses"]
    assert {"401", "403"} <= set(responses)


def test_rate_limits_are_documented() -> None:
    document = annotated_site(rate_limit=RateLimit("10/minute")).openapi()
    validate_openapi(document)
    get = document["paths"]["/notes"]["get"]["responses"]
    assert "429" in get
    assert get["200"]["headers"]["RateLimit"]["required"] is True
    assert get["200"]["headers"]["RateLimit-Policy"]["required"] is True
    too_many = document["components"]["responses"]["TooManyRequests"]
    assert too_many["headers"]["Retry-After"]["required"] is True
    assert "429" not in document["paths"]["/notes"]["options"]["responses"]


def test_a_schemaless_resource_is_documented_as_any_content() -> None:
    class Free(Resource):
        def get(self, request: Request) -> dict[str, Any]:
            return {"anything": True}

        def post(self, request: Request) -> Created:
            return Created(request.validated, location="/free")

    site = Site()
    site.add("/free", Free)
    document = site.openapi()
    validate_openapi(document)
    post = document["paths"]["/free"]["post"]
    assert post["requestBody"]["required"] is False
    assert post["requestBody"]["content"]["application/json"] == {}


def query_site() -> Site:
    """A resource with ``QUERY`` beside ``GET``, validators and credentials: every kind of
    component an operation names."""

    class Search(Schema):
        country = fields.String(validate=validate.Length(equal=2))

    class Stations(Resource):
        schema = NoteSchema
        query_schema = Search
        authentication = [auth.Bearer(auth.tokens({"t": "me"}))]

        def last_modified(self, request: Request, **fields: Any) -> None:
            return None

        def get(self, request: Request, key: str) -> dict[str, Any]:
            return {}

        def query(self, request: Request, key: str) -> list[dict[str, Any]]:
            """Search the notes."""
            return []

    site = Site(title="Query")
    site.add("/notes/{key:str}", Stations)
    return site


def test_query_operations_reference_components_as_get_does() -> None:
    document = query_site().openapi()
    validate_openapi(document)
    item = document["paths"]["/notes/{key}"]
    query, get = item["x-query"], item["get"]
    for parameter in query["parameters"]:
        assert isinstance(parameter, dict) and resolve(document, parameter)["in"] == "header"
    headers = [p for p in get["parameters"] if p.get("in") != "query"]
    assert query["parameters"] == headers  # the same $ref objects: If-None-Match, ...
    assert {"$ref": "#/components/parameters/If-Modified-Since"} in query["parameters"]
    for status, response in query["responses"].items():
        assert isinstance(response, dict), status
        resolve(document, response)  # each $ref names a component the document has
    for status in ("401", "404", "406"):
        assert query["responses"][status] == get["responses"][status]
    assert query["responses"]["415"] == {"$ref": "#/components/responses/UnsupportedMediaType"}
    for media in query["requestBody"]["content"].values():
        assert resolve(document, media["schema"])["properties"].keys() == {"country"}


# -- the docs routes ----------------------------------------------------------------------------


def test_openapi_json_is_served(sample: Site) -> None:
    client = Client(sample)
    response = client.get("/openapi.json")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    assert response.json == sample.openapi()
    etag = response.headers["ETag"]
    assert etag.startswith('W/"')
    again = client.get("/openapi.json", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.body == b""
    assert again.headers["Cache-Control"] == "no-cache"
    # the document is JSON whatever the client accepts, and no credentials are needed
    assert client.get("/openapi.json", headers={"Accept": "application/xml"}).json == response.json
    assert client.head("/openapi.json").headers["ETag"] == etag


def test_openapi_json_follows_routes_added_later() -> None:
    site = Site(docs=True)
    client = Client(site)
    assert client.get("/openapi.json").json["paths"] == {}

    class Late(Resource):
        def get(self, request: Request) -> dict[str, Any]:
            return {}

    site.add("/late", Late)
    assert set(client.get("/openapi.json").json["paths"]) == {"/late"}


def test_docs_need_no_credentials_on_a_site_that_requires_them() -> None:
    bearer = auth.Bearer(auth.tokens({"t": "me"}))
    site = annotated_site(authentication=[bearer], docs=True)
    client = Client(site)
    assert client.get("/notes").status_code == 401
    assert client.get("/openapi.json").status_code == 200
    assert client.get("/docs").status_code == 200
    assert client.get("/docs/assets/docs.js").status_code == 200


def test_openapi_json_names_the_mount_point(sample: Site) -> None:
    environ: dict[str, Any] = {"SCRIPT_NAME": "/weather"}
    request = webob.Request.blank("/openapi.json", environ=environ)
    response = request.get_response(sample)
    assert response.status_int == 200
    assert json.loads(response.body)["servers"] == [{"url": "/weather"}]
    assert Client(sample).get("/openapi.json").json["servers"] == [{"url": "/"}]


class _Links(HTMLParser):
    """Every URL an HTML page would load or link: ``src``, ``href`` (and ``data-openapi``)."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.urls += [v for k, v in attrs if k in ("src", "href", "data-openapi") and v]


def test_docs_page_loads_only_from_this_site(sample: Site) -> None:
    client = Client(sample)
    page = client.get("/docs")
    assert page.status_code == 200
    assert page.headers["Content-Type"] == "text/html; charset=utf-8"
    csp = page.headers["Content-Security-Policy"]
    assert "script-src 'self';" in csp and "connect-src 'self';" in csp
    assert "http" not in csp
    links = _Links()
    links.feed(page.text)
    assert len(links.urls) >= 5
    base = "http://localhost/docs"
    for url in links.urls:
        parts = urlsplit(url)
        assert not parts.scheme and not parts.netloc, url  # relative: this host, any mount
        absolute = urljoin(base, url)
        assert urlsplit(absolute).netloc == "localhost"
        loaded = client.get(urlsplit(absolute).path)
        assert loaded.status_code == 200, url
    assert "https://" not in client.get("/docs/assets/docs.js").text
    assert "validatorUrl: null" in client.get("/docs/assets/docs.js").text


@pytest.mark.parametrize("name", sorted(ASSETS))
def test_assets_are_served_for_a_day(sample: Site, name: str) -> None:
    client = Client(sample)
    response = client.get(f"/docs/assets/{name}")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == ASSETS[name]
    assert response.headers["Cache-Control"] == "public, max-age=86400"
    assert len(response.body) > 100
    again = client.get(f"/docs/assets/{name}", headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304
    assert again.headers["Cache-Control"] == "public, max-age=86400"


def test_swagger_ui_reads_openapi_3_1(sample: Site) -> None:
    bundle = Client(sample).get("/docs/assets/swagger-ui-bundle.js").text
    assert "isOAS31" in bundle  # Swagger UI 5: 4.x cannot render an OpenAPI 3.1 document


@pytest.mark.parametrize("name", ["index.html", "../setup.cfg", "swagger-ui.js", "x"])
def test_only_listed_assets_are_served(sample: Site, name: str) -> None:
    response = Client(sample).get(f"/docs/assets/{name}")
    assert response.status_code == 404
    assert response.headers["Content-Type"] == "application/problem+json"


def test_no_docs_routes_unless_asked() -> None:
    site = annotated_site()
    assert Client(site).get("/openapi.json").status_code == 404
    assert Client(site).get("/docs").status_code == 404
    assert site.openapi()["paths"]


# -- the command line ------------------------------------------------------------------------------


def test_cli_prints_the_document(tmp_path: Path) -> None:
    (tmp_path / "weather_app.py").write_text(
        textwrap.dedent(
            """
            from pathlib import Path
            from sample_project.app import create_site
            site = create_site(Path(__file__).with_name("db.sqlite"), api_token="t")
            """
        )
    )
    result = subprocess.run(
        [sys.executable, "-m", "resourcekit", "openapi", "weather_app:site"],
        cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False,
    )
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    validate_openapi(document)
    assert document["info"]["title"] == "Weather stations"
    assert "/stations/{station_id}/weather" in document["paths"]


def test_cli_refuses_what_is_not_a_site(tmp_path: Path) -> None:
    (tmp_path / "not_a_site.py").write_text("site = 42\n")
    result = subprocess.run(
        [sys.executable, "-m", "resourcekit", "openapi", "not_a_site:site"],
        cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False,
    )
    assert result.returncode != 0
    assert "not a resourcekit Site" in result.stderr
