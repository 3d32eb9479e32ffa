"""Hostile requests and hostile values that used to cost a 500, memory, a frame or a leak.

A query string that is not UTF-8 on an HTML page; ``Accept`` (and other header) values too long
to be worth remembering; pages without ``X-Content-Type-Options`` or a framing policy; a
conditional ``PATCH`` retried with its ``Idempotency-Key``; ``.`` and ``..`` as `Site.url_for`
values; query strings in the log lines of server errors.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urljoin

import pytest
import webob
from conftest import served
from helpers import assert_problem, http_request
from marshmallow import Schema, fields

from resourcekit import Created, Resource, Site, errors
from resourcekit import request as request_module
from resourcekit.testing import Client

HTML = {"Accept": "text/html"}


class FilterSchema(Schema):
    title = fields.Str()
    done = fields.Bool()


def _site(**options: Any) -> Site:
    site = Site(title="Items", docs=True, **options)
    site.etag_calls = 0  # type: ignore[attr-defined]
    site.patches = 0  # type: ignore[attr-defined]
    state = {"version": 1, "title": "first"}

    @site.route("/items")
    class Items(Resource):
        query_schema = FilterSchema

        def get(self, request):
            return [{"title": "a"}]  # the query is not read: only the HTML form reads it

        def post(self, request):
            return Created({"title": "made"}, location=request.url_for(Item, name="made"))

    @site.route("/items/{name}")
    class Item(Resource):
        def get(self, request, name):
            return {"name": name}

    @site.route("/links")
    class Links(Resource):
        def get(self, request):
            return {"up": request.url_for(Item, name="..")}

    @site.route("/files/{path:path}")
    class File(Resource):
        def get(self, request, path):
            return {"path": path}

    @site.route("/state")
    class State(Resource):
        idempotent = True

        def etag(self, request):
            site.etag_calls += 1
            return f"v{state['version']}"

        def get(self, request):
            return dict(state)

        def patch(self, request):
            site.patches += 1
            state.update(request.validated)
            state["version"] += 1
            return dict(state)

    @site.route("/fails")
    class Fails(Resource):
        def get(self, request):
            raise RuntimeError("boom")

        def post(self, request):
            raise errors.HTTPError(503, "the store is away")

    @site.route("/raw")
    class Raw(Resource):
        def get(self, request):
            return webob.Response(body=b"raw", content_type="text/plain")

    return site


# -- 1. a query string that is not UTF-8 on an HTML page ----------------------------------------


@pytest.mark.parametrize("environ", [
    {"QUERY_STRING": "title=%ff"},  # percent-encoded
    {"QUERY_STRING": "title=\xff\xfe"},  # raw bytes, as WSGI hands them over (latin-1)
    {"QUERY_STRING": "%c3%28=x"},  # a name that is not UTF-8
])
def test_html_query_form_with_a_query_that_is_not_utf8_is_400(environ: dict[str, str]) -> None:
    request = webob.Request.blank("/items", environ=environ, headers=HTML)
    response = request.get_response(_site())
    assert response.status_int == 400, response.text[:300]
    assert response.content_type == "text/html"
    assert "not valid UTF-8" in response.text


def test_html_query_form_is_still_filled_from_a_utf8_query() -> None:
    response = Client(_site()).get("/items?title=%C3%A9t%C3%A9", headers=HTML)
    assert response.status_code == 200
    assert 'value="été"' in response.text


# -- 2. caches keyed by header values keep no long values ---------------------------------------


def test_long_accept_headers_are_not_remembered() -> None:
    site = _site()
    client = Client(site)
    negotiator = site.negotiator
    short = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    assert client.get("/items", headers={"Accept": short}).status_code == 200
    for i in range(600):  # more than the cache holds, so a cache that clears would be empty too
        long = f"application/json;q=0.{i % 9 + 1}, " + f"text/x-{i}, " * 40
        assert len(long) > 256
        assert client.get("/items", headers={"Accept": long}).status_code == 200
        assert client.get("/nowhere", headers={"Accept": long}).status_code == 404
        if i == 0:
            assert short in negotiator._responses
    assert all(key is None or len(key) <= 256 for key in negotiator._responses)
    assert all(key is None or len(key) <= 256 for key in negotiator._problems)
    assert short in negotiator._responses


def test_long_content_types_and_hosts_are_not_remembered() -> None:
    site = _site()
    client = Client(site)
    request_module._parse_content_type.cache_clear()
    request_module._base_url.cache_clear()
    for i in range(100):
        content_type = "application/json; charset=utf-8; x=" + f"{i}" * 300
        response = client.patch("/state", data=b'{"title": "x"}',
                                headers={"Content-Type": content_type})
        assert response.status_code == 200, response.text
        long_host = f"h{i}" + "x" * 300 + ".example"  # no host name is that long: 400
        assert client.post("/items", headers={"Host": long_host}).status_code == 400
        host = f"h{i}." + "x" * 60 + "." + "y" * 60 + ".example"
        assert client.post("/items", headers={"Host": host}).status_code == 201
    assert request_module._parse_content_type.cache_info().currsize == 0
    assert request_module._base_url.cache_info().currsize <= 64  # hosts of 130 chars, few kept
    client.patch("/state", json={"title": "y"})
    assert request_module._parse_content_type.cache_info().currsize == 1


# -- 3. X-Content-Type-Options on every response; framing refused for HTML pages ---------------


def _every_kind(client: Client) -> dict[str, Any]:
    etag = client.get("/state").headers["ETag"]
    return {
        "200 json": client.get("/items"),
        "200 html": client.get("/items", headers=HTML),
        "200 xml": client.get("/items", headers={"Accept": "application/xml"}),
        "head": client.head("/items"),
        "201": client.post("/items"),
        "304": client.get("/state", headers={"If-None-Match": etag}),
        "400": client.get("/items?title=%ff", headers=HTML),
        "404": client.get("/nowhere"),
        "404 html": client.get("/nowhere", headers=HTML),
        "405": client.delete("/items"),
        "406": client.get("/items", headers={"Accept": "image/png"}),
        "412": client.patch("/state", json={"title": "x"}, headers={"If-Match": '"v0"'}),
        "500": client.get("/fails"),
        "501": client.request("BREW", "/items"),
        "503": client.post("/fails"),
        "options": client.options("/items"),
        "passthrough": client.get("/raw"),
        "docs": client.get("/docs"),
        "openapi": client.get("/openapi.json"),
    }


def test_every_response_says_nosniff_once() -> None:
    responses = _every_kind(Client(_site()))
    statuses = {name: r.status_code for name, r in responses.items()}
    assert statuses["304"] == 304 and statuses["412"] == 412 and statuses["500"] == 500
    for name, response in responses.items():
        assert response.headers.getall("X-Content-Type-Options") == ["nosniff"], name


def test_an_idempotent_replay_says_nosniff_once() -> None:
    client = Client(_site())
    key = {"Idempotency-Key": "k-1"}
    first = client.patch("/state", json={"title": "x"}, headers=key)
    again = client.patch("/state", json={"title": "x"}, headers=key)
    assert again.headers["Idempotent-Replayed"] == "true"
    for response in (first, again):
        assert response.headers.getall("X-Content-Type-Options") == ["nosniff"]


def test_html_pages_refuse_to_be_framed() -> None:
    client = Client(_site())
    for response in (client.get("/items", headers=HTML), client.get("/nowhere", headers=HTML)):
        policy = response.headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in policy
        assert "default-src 'none'" in policy
        assert 'http-equiv="Content-Security-Policy"' in response.text  # kept for saved pages
    assert "Content-Security-Policy" not in client.get("/items").headers  # JSON: nothing to frame
    docs = client.get("/docs").headers["Content-Security-Policy"]
    assert "frame-ancestors 'self'" in docs  # the site's own pages may show its documentation


# -- 4. a conditional PATCH retried with its Idempotency-Key ------------------------------------


def test_conditional_patch_retried_with_its_key_is_replayed() -> None:
    site = _site()
    client = Client(site)
    headers = {"Idempotency-Key": "patch-1", "If-Match": '"v1"'}
    first = client.patch("/state", json={"title": "second"}, headers=headers)
    assert first.status_code == 200, first.text
    assert first.headers["ETag"] == '"v2"'
    calls = site.etag_calls
    again = client.patch("/state", json={"title": "second"}, headers=headers)
    assert again.status_code == 200, again.text
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json == first.json
    assert again.headers["ETag"] == '"v2"'
    assert site.patches == 1
    assert site.etag_calls == calls  # a replay evaluates no preconditions


def test_conditional_patch_evaluates_its_preconditions_once() -> None:
    site = _site()
    client = Client(site)
    response = client.patch("/state", json={"title": "x"},
                            headers={"Idempotency-Key": "once", "If-Match": '"v1"'})
    assert response.status_code == 200
    assert site.etag_calls == 2  # before the handler, and the new tag after it


def test_failed_preconditions_leave_the_key_free() -> None:
    site = _site()
    client = Client(site)
    stale = client.patch("/state", json={"title": "x"},
                         headers={"Idempotency-Key": "k", "If-Match": '"v0"'})
    assert_problem(stale, 412)
    assert site.patches == 0
    fixed = client.patch("/state", json={"title": "x"},
                         headers={"Idempotency-Key": "k", "If-Match": '"v1"'})
    assert fixed.status_code == 200, fixed.text
    assert "Idempotent-Replayed" not in fixed.headers
    assert site.patches == 1


def test_a_key_still_409s_and_422s_before_preconditions() -> None:
    client = Client(_site())
    client.patch("/state", json={"title": "x"}, headers={"Idempotency-Key": "k"})
    other = client.patch("/state", json={"title": "other"},
                         headers={"Idempotency-Key": "k", "If-Match": '"v0"'})
    assert_problem(other, 422)


# -- 5. dot segments in url_for values ----------------------------------------------------------


@pytest.mark.parametrize(("route", "field", "value", "path"), [
    ("Item", "name", "..", "/items/%2E%2E"),
    ("Item", "name", ".", "/items/%2E"),
    ("Item", "name", "...", "/items/..."),
    ("Item", "name", "a..", "/items/a.."),
    ("Item", "name", ".hidden", "/items/.hidden"),
    ("Item", "name", "../x", "/items/..%2Fx"),
    ("File", "path", "..", "/files/%2E%2E"),
    ("File", "path", "a/../b", "/files/a/%2E%2E/b"),
    ("File", "path", "./a/.", "/files/%2E/a/%2E"),
    ("File", "path", "a/.b/c.", "/files/a/.b/c."),
])
def test_dot_segments_are_encoded_in_str_and_path_fields(
    route: str, field: str, value: str, path: str
) -> None:
    site = _site()
    assert site.url_for(route, **{field: value}) == path
    client = Client(site)
    assert client.get(path).json == {field: value}
    assert client.get("http://localhost" + path).json == {field: value}


def test_a_link_made_from_dots_stays_on_its_route() -> None:
    up = Client(_site()).get("/links").json["up"]
    assert up == "http://localhost/items/%2E%2E"
    assert urljoin(up, "") == up  # RFC 3986 resolution keeps the segment


def test_encoded_dot_segments_round_trip_through_a_real_server() -> None:
    site = _site()
    with served(site) as base:
        for name in ("..", "."):
            answer = http_request(base, "GET", site.url_for("Item", name=name))
            assert (answer.status_code, answer.json) == (200, {"name": name})
        answer = http_request(base, "GET", site.url_for("File", path="a/../b"))
        assert (answer.status_code, answer.json) == (200, {"path": "a/../b"})


# -- 6. server errors are logged without the query string ---------------------------------------


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_server_error_log_lines_carry_no_query(caplog, method: str) -> None:
    client = Client(_site())
    with caplog.at_level(logging.ERROR, logger="resourcekit"):
        response = client.request(method, "/fails?token=secret-value&x=1")
    assert response.status_code in (500, 503)
    records = [r for r in caplog.records if r.name == "resourcekit"]
    assert records
    assert "/fails" in caplog.text
    assert "secret" not in caplog.text
    assert all("secret" not in r.getMessage() for r in records)


def test_a_path_value_starting_with_a_slash_never_builds_a_scheme_relative_url() -> None:
    site = Site()

    @site.route("/{rest:path}")
    class Anything(Resource):
        def get(self, request, rest):
            return {"rest": rest}

    url = site.url_for(Anything, rest="/evil.example/x")
    assert url == "/%2Fevil.example/x"
    assert Client(site).get(url).json == {"rest": "/evil.example/x"}
