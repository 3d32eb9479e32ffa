"""QUERY (RFC 10008): a safe, idempotent request whose body is the query."""

from __future__ import annotations

import http.client
import json
import urllib.parse

import pytest
from conftest import served, server_params
from marshmallow import Schema, fields, validate

from resourcekit import Resource, Site
from resourcekit.testing import Client

STATIONS = [{"id": i, "name": f"S{i}", "country": "NO" if i % 2 else "SE"} for i in range(10)]


class Search(Schema):
    country = fields.String(validate=validate.Length(equal=2))
    ids = fields.List(fields.Integer())
    limit = fields.Integer(load_default=5, validate=validate.Range(min=1, max=100))


def make_site() -> Site:
    site = Site("Query")

    @site.route("/stations")
    class Stations(Resource):
        query_schema = Search
        cache_control = "max-age=60"

        def get(self, request):
            return STATIONS[: request.query["limit"]]

        def query(self, request):
            """Search the stations."""
            found = [s for s in STATIONS
                     if s["country"] == request.query.get("country", s["country"])
                     and s["id"] in request.query.get("ids", [s["id"]])]
            return found[: request.query["limit"]]

        def post(self, request):
            return None

    @site.route("/plain")
    class Plain(Resource):
        def get(self, request):
            return {"ok": True}

    return site


@pytest.fixture
def client() -> Client:
    return Client(make_site())


def query(client: Client, body, content_type="application/json", path="/stations", **headers):
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return client.request("QUERY", path, data=data,
                          headers={"Content-Type": content_type, **headers})


def test_the_body_loads_through_query_schema(client):
    r = query(client, {"country": "SE", "limit": 2})
    assert r.status_int == 200, r.text
    assert [s["id"] for s in r.json] == [0, 2]


def test_any_media_type_the_site_reads(client):
    form = query(client, b"country=NO&ids=1&ids=3&ids=4", "application/x-www-form-urlencoded")
    assert [s["id"] for s in form.json] == [1, 3]
    xml = query(client, b"<query><country>NO</country><limit>1</limit></query>",
                "application/xml")
    assert xml.status_int == 200, xml.text
    assert [s["id"] for s in xml.json] == [1]


def test_a_query_that_does_not_validate_is_422(client):
    r = query(client, {"country": "Norway", "limit": 0})
    assert r.status_int == 422
    assert set(r.json["errors"]) == {"country", "limit"}


def test_an_unreadable_body_is_415_with_accept_query(client):
    r = query(client, b"x", "text/plain")
    assert r.status_int == 415
    assert "application/json" in r.headers["Accept-Query"]
    assert query(client, b"{", "application/json").status_int == 400


def test_answered_like_get_with_etag_and_cache_control(client):
    r = query(client, {"country": "SE"})
    assert r.headers["ETag"].startswith('"')
    assert r.headers["Cache-Control"] == "max-age=60"
    again = query(client, {"country": "SE"}, **{"If-None-Match": r.headers["ETag"]})
    assert again.status_int == 304 and again.body == b""
    other = query(client, {"country": "NO"}, **{"If-None-Match": r.headers["ETag"]})
    assert other.status_int == 200  # another query, another representation


def test_negotiated(client):
    r = query(client, {"country": "SE", "limit": 1}, Accept="application/xml")
    assert r.content_type == "application/xml"
    assert query(client, {}, Accept="image/png").status_int == 406


def test_options_lists_accept_query(client):
    r = client.options("/stations")
    assert "QUERY" in r.headers["Allow"].split(", ")
    assert r.headers["Accept-Query"].startswith("application/json, application/xml")
    assert "Accept-Query" not in client.options("/plain").headers


def test_a_resource_without_query_is_405(client):
    r = query(client, {}, path="/plain")
    assert r.status_int == 405
    assert "QUERY" not in r.headers["Allow"]


def test_get_still_reads_the_query_string(client):
    assert len(client.get("/stations?limit=3").json) == 3


def test_openapi_documents_query_as_an_extension():
    from openapi_spec_validator import validate as validate_spec

    document = make_site().openapi()
    validate_spec(document)
    item = document["paths"]["/stations"]
    operation = item["x-query"]
    assert "query" not in item
    assert operation["summary"] == "Search the stations."
    content = operation["requestBody"]["content"]
    assert content["application/json"]["schema"] == {"$ref": "#/components/schemas/Search"}
    assert "200" in operation["responses"] and "304" in operation["responses"]
    assert not any(p.get("in") == "query" for p in operation.get("parameters", [])
                   if isinstance(p, dict))
    assert any(p.get("in") == "query" for p in item["get"]["parameters"] if isinstance(p, dict))


def test_over_http_under_waitress():
    with served(make_site()) as base:
        connection = http.client.HTTPConnection(urllib.parse.urlsplit(base).netloc, timeout=10)
        connection.request("QUERY", "/stations", body=b'{"ids": [4, 5]}',
                           headers={"Content-Type": "application/json"})
        response = connection.getresponse()
        assert response.status == 200
        assert [s["id"] for s in json.loads(response.read())] == [4, 5]
        etag = response.getheader("ETag")
        connection.request("QUERY", "/stations", body=b'{"ids": [4, 5]}',
                           headers={"Content-Type": "application/json", "If-None-Match": etag})
        second = connection.getresponse()
        assert second.status == 304
        second.read()


@pytest.mark.parametrize("server", server_params())
def test_every_supported_server_passes_query_through(server):
    with served(make_site(), threads=2, server=server) as base:
        connection = http.client.HTTPConnection(urllib.parse.urlsplit(base).netloc, timeout=10)
        connection.request("QUERY", "/stations", body=b'{"ids": [3]}',
                           headers={"Content-Type": "application/json"})
        response = connection.getresponse()
        assert (response.status, json.loads(response.read())[0]["id"]) == (200, 3)


def test_a_resource_etag_names_its_get_not_each_query() -> None:
    """An ``etag()`` names the resource's state, which no query body is part of: each QUERY
    answer gets the tag of its own bytes, so one query's tag never validates another's."""
    site = Site("Tagged")

    @site.route("/stations")
    class Tagged(Resource):
        query_schema = Search

        def etag(self, request):
            return "v1"

        def get(self, request):
            return STATIONS

        def query(self, request):
            return [s for s in STATIONS if s["country"] == request.query.get("country")]

    client = Client(site)
    whole = client.get("/stations")
    se, no = query(client, {"country": "SE"}), query(client, {"country": "NO"})
    assert whole.headers["ETag"] == '"v1"'
    assert len({whole.headers["ETag"], se.headers["ETag"], no.headers["ETag"]}) == 3
    for other in (whole, se):
        again = query(client, {"country": "NO"}, **{"If-None-Match": other.headers["ETag"]})
        assert again.status_int == 200 and again.json == no.json
    same = query(client, {"country": "NO"}, **{"If-None-Match": no.headers["ETag"]})
    assert same.status_int == 304 and same.body == b""
