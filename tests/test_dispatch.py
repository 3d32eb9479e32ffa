"""Dispatch: what handlers return, schemas per direction, HEAD, OPTIONS, 405, 501 and 404."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
import webob
from helpers import NoteSchema, assert_problem, media_type_of, notes_site, xml_tree
from marshmallow import Schema, fields

from resourcekit import Created, Resource, Result, Site
from resourcekit.testing import Client

NOTE = {"id": 1, "title": "Buy milk", "done": False, "tags": ["home"]}
OTHER = {"id": 2, "title": "Call Ada", "done": True, "tags": []}


class SecretNoteSchema(NoteSchema):
    secret = fields.Str(load_only=True)


def returning(value, schema=NoteSchema) -> Client:
    """A client for a site whose one resource, at /thing, returns ``value`` from every method."""
    site = Site()

    class Thing(Resource):
        def get(self, request):
            return value() if callable(value) else value

        post = put = patch = delete = get

    Thing.schema = schema
    site.add("/thing", Thing)
    return Client(site)


# -- return values ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (NOTE, NOTE),
        (SimpleNamespace(**NOTE), NOTE),  # an object: attributes dumped by the schema
        ({**NOTE, "secret": "s3cr3t", "extra": "x"}, NOTE),  # the schema decides what is sent
        ({"title": "only a title"}, {"title": "only a title"}),
        ([NOTE, OTHER], [NOTE, OTHER]),  # a list: many=True
        ((NOTE, OTHER), [NOTE, OTHER]),  # a tuple too
        ([SimpleNamespace(**NOTE)], [NOTE]),
        ([], []),
    ],
)
def test_values_are_dumped(value, expected) -> None:
    response = returning(value, SecretNoteSchema).get("/thing")
    assert response.status_code == 200
    assert media_type_of(response) == "application/json"
    assert response.json == expected
    assert int(response.headers["Content-Length"]) == len(response.body)


def test_collection_in_xml() -> None:
    response = returning((NOTE, OTHER)).get("/thing", headers={"Accept": "application/xml"})
    root = xml_tree(response.body)
    assert root.tag == "notes"
    assert [n.findtext("title") for n in root] == ["Buy milk", "Call Ada"]


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "PATCH", "DELETE"])
def test_none_is_204_without_body_or_content_type(method: str) -> None:
    response = returning(None).request(method, "/thing")
    assert response.status_code == 204
    assert response.body == b""
    assert "Content-Type" not in response.headers
    assert response.headers.get("Content-Length", "0") == "0"


def test_created_has_location_and_body() -> None:
    response = returning(lambda: Created(NOTE, location="http://localhost/notes/1")).post("/thing")
    assert response.status_code == 201
    assert response.headers["Location"] == "http://localhost/notes/1"
    assert response.json == NOTE
    assert response.headers["Vary"] == "Accept"


def test_created_without_body() -> None:
    response = returning(lambda: Created(location="/notes/1")).post("/thing")
    assert response.status_code == 201
    assert response.headers["Location"] == "/notes/1"
    assert response.body == b""


def test_created_by_the_notes_api() -> None:
    site = notes_site()
    client = Client(site)
    response = client.post("/notes", json={"title": "Buy milk", "tags": ["home"]})
    assert response.status_code == 201
    assert response.headers["Location"] == "http://localhost/notes/1"
    assert response.json == NOTE
    assert client.get("/notes/1").json == NOTE
    assert client.get("/notes").json == [NOTE]
    assert site.notes == {1: NOTE}


@pytest.mark.parametrize("accept", ["application/json", "application/xml"])
def test_result_with_status_and_headers(accept: str) -> None:
    client = returning(lambda: Result(NOTE, status=202, headers={"X-Job": "7", "Retry-After": "3"}))
    response = client.post("/thing", headers={"Accept": accept})
    assert response.status_code == 202
    assert response.headers["X-Job"] == "7"
    assert response.headers["Retry-After"] == "3"
    assert media_type_of(response) == accept
    if accept == "application/json":
        assert response.json == NOTE
    else:
        assert xml_tree(response.body).findtext("title") == "Buy milk"


def test_result_headers_as_pairs_and_many() -> None:
    response = returning(lambda: Result([NOTE], headers=[("X-Total", "1")])).get("/thing")
    assert response.status_code == 200
    assert response.headers["X-Total"] == "1"
    assert response.json == [NOTE]


@pytest.mark.parametrize("accept", [None, "application/xml", "image/png"], ids=str)
def test_webob_response_is_sent_as_it_is(accept: str | None) -> None:
    def reply() -> webob.Response:
        response = webob.Response(body=b"\x89PNG raw bytes", content_type="image/png", status=203)
        response.headers["X-Raw"] = "yes"
        return response

    headers = {"Accept": accept} if accept else {}
    response = returning(reply).get("/thing", headers=headers)
    assert response.status_code == 203
    assert response.headers["Content-Type"] == "image/png"
    assert response.headers["X-Raw"] == "yes"
    assert response.body == b"\x89PNG raw bytes"
    assert "Vary" not in response.headers  # nothing was negotiated


# -- schemas per direction ----------------------------------------------------------------------


class GreetingInput(Schema):
    name = fields.Str(required=True)
    shout = fields.Bool(load_default=False)


class GreetingOutput(Schema):
    greeting = fields.Str()
    length = fields.Int()


class Greet(Resource):
    input_schema = GreetingInput
    output_schema = GreetingOutput()  # an instance works as well as a class

    def post(self, request):
        text = f"hello, {request.validated['name']}"
        if request.validated["shout"]:
            text = text.upper()
        return {"greeting": text, "length": len(text), "internal": "not dumped"}


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"name": "Ada"}, {"greeting": "hello, Ada", "length": 10}),
        ({"name": "Ada", "shout": True}, {"greeting": "HELLO, ADA", "length": 10}),
    ],
)
def test_input_and_output_schemas(body: dict, expected: dict) -> None:
    site = Site()
    site.add("/greet", Greet)
    response = Client(site).post("/greet", json=body)
    assert response.status_code == 200
    assert response.json == expected


def test_input_schema_validates() -> None:
    site = Site()
    site.add("/greet", Greet)
    problem = assert_problem(Client(site).post("/greet", json={"greeting": "x"}), 422)
    assert problem["errors"] == {
        "name": ["Missing data for required field."],
        "greeting": ["Unknown field."],
    }


@pytest.mark.parametrize("schema", [NoteSchema, NoteSchema(), NoteSchema(only=("id", "title"))])
def test_schema_as_class_or_instance(schema) -> None:
    site = Site()

    class Echo(Resource):
        def post(self, request):
            return {"id": 5, **request.validated}

    Echo.schema = schema
    site.add("/echo", Echo)
    client = Client(site)
    response = client.post("/echo", json={"title": "t"})
    assert response.status_code == 200
    if isinstance(schema, Schema) and schema.only:
        assert response.json == {"id": 5, "title": "t"}
    else:
        assert response.json == {"id": 5, "title": "t", "done": False, "tags": []}


def test_output_schema_overrides_schema() -> None:
    class Summary(Schema):
        title = fields.Str()

    site = Site()

    class Brief(Resource):
        schema = NoteSchema
        output_schema = Summary

        def get(self, request):
            return NOTE

        def post(self, request):
            return request.validated

    site.add("/brief", Brief)
    client = Client(site)
    assert client.get("/brief").json == {"title": "Buy milk"}
    # bodies still load through `schema` (unknown fields fail), then dump through the output
    assert client.post("/brief", json={"title": "x"}).json == {"title": "x"}
    assert client.post("/brief", json={"title": "x", "colour": "red"}).status_code == 422


def test_without_a_schema_data_is_sent_as_it_is() -> None:
    data = {"a": [1, 2.5, None, True], "b": {"c": "d"}}
    assert returning(data, schema=None).get("/thing").json == data


# -- HEAD -------------------------------------------------------------------------------------


@pytest.fixture
def notes() -> Client:
    client = Client(notes_site())
    client.post("/notes", json={"title": "Buy milk", "tags": ["home"]})
    return client


@pytest.mark.parametrize("path", ["/notes", "/notes/1"])
@pytest.mark.parametrize("accept", [None, "application/json", "application/xml", "text/xml"])
def test_head_has_the_headers_of_get_and_no_body(
    notes: Client, path: str, accept: str | None
) -> None:
    headers = {"Accept": accept} if accept else {}
    get = notes.get(path, headers=headers)
    head = notes.head(path, headers=headers)
    assert head.status_code == get.status_code == 200
    assert head.body == b""
    assert int(head.headers["Content-Length"]) == len(get.body) > 0
    ignore = {"date", "x-request-id"}  # each request its own id
    assert {k.lower(): v for k, v in head.headers.items() if k.lower() not in ignore} == {
        k.lower(): v for k, v in get.headers.items() if k.lower() not in ignore
    }


def test_head_does_not_change_anything() -> None:
    site = notes_site()
    Client(site).head("/notes")
    assert site.calls == ["list"]  # HEAD runs the GET handler, and nothing else


def test_head_on_a_problem_has_no_body(notes: Client) -> None:
    response = notes.head("/notes/99")
    assert response.status_code == 404
    assert response.body == b""
    assert media_type_of(response) == "application/problem+json"


# -- OPTIONS, 405, 501, 404 ---------------------------------------------------------------------


def methods_site() -> Site:
    site = Site()

    def handler(self, request):
        return {"ok": True}

    for path, methods in ALLOWED.items():
        name = path.strip("/").title()
        resource = type(name, (Resource,), dict.fromkeys(methods, handler))
        site.add(path, resource)
    return site


ALLOWED = {
    "/read": ("get",),
    "/collection": ("get", "post"),
    "/inbox": ("post",),
    "/item": ("get", "put", "patch", "delete"),
    "/all": ("get", "post", "put", "patch", "delete"),
    "/trash": ("delete",),
}


def allow_set(response) -> set[str]:
    methods = [m.strip() for m in response.headers["Allow"].split(",")]
    assert len(methods) == len(set(methods)), f"duplicates in {methods}"
    return set(methods)


def expected_allow(methods: tuple[str, ...]) -> set[str]:
    allow = {m.upper() for m in methods} | {"OPTIONS"}
    return allow | {"HEAD"} if "GET" in allow else allow


@pytest.fixture(scope="module")
def methods() -> Client:
    return Client(methods_site())


@pytest.mark.parametrize(("path", "defined"), ALLOWED.items())
def test_options_lists_exactly_the_methods(methods: Client, path: str, defined) -> None:
    response = methods.options(path)
    assert response.status_code in (200, 204)
    assert allow_set(response) == expected_allow(defined)
    if response.status_code == 204:
        assert response.body == b""


@pytest.mark.parametrize(
    ("path", "method"),
    [
        (path, method)
        for path, defined in ALLOWED.items()
        for method in ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "TRACE")
        if method not in expected_allow(defined)
    ],
)
def test_missing_method_is_405_with_allow(methods: Client, path: str, method: str) -> None:
    response = methods.request(method, path)
    assert response.status_code == 405
    assert allow_set(response) == expected_allow(ALLOWED[path])
    if method != "HEAD":
        problem = assert_problem(response, 405)
        assert problem["title"] == "Method Not Allowed"


def test_405_does_not_run_anything() -> None:
    site = notes_site()
    response = Client(site).put("/notes", json={"title": "x"})
    assert_problem(response, 405)
    assert allow_set(response) == {"GET", "HEAD", "POST", "OPTIONS"}
    assert site.calls == []


@pytest.mark.parametrize("method", ["BREW", "PROPFIND", "MKCOL", "get", "FOO-BAR"])
@pytest.mark.parametrize("path", ["/read", "/all", "/nowhere"])
def test_unknown_method_is_501(methods: Client, method: str, path: str) -> None:
    problem = assert_problem(methods.request(method, path), 501)
    assert problem["title"] == "Not Implemented"


@pytest.mark.parametrize("method", ["GET", "HEAD", "POST", "OPTIONS", "DELETE"])
def test_unknown_path_is_404(methods: Client, method: str) -> None:
    response = methods.request(method, "/nowhere")
    assert response.status_code == 404
    if method != "HEAD":
        assert json.loads(response.body)["status"] == 404
        assert_problem(response, 404)
