"""Request bodies and query strings: parsing by Content-Type, validation, limits, hostile input."""

from __future__ import annotations

import itertools
import json
import time
from typing import Any

import pytest
from helpers import NOTE_XML, NoteSchema, assert_problem, notes_site
from marshmallow import Schema, fields, post_load, validate

from resourcekit import Resource, Site, schemas
from resourcekit.schemas import _deterministic
from resourcekit.testing import Client

MiB = 1024 * 1024


class AddressSchema(Schema):
    city = fields.Str(required=True)
    zip = fields.Str(validate=validate.Length(equal=4))


class PersonSchema(Schema):
    name = fields.Str(required=True)
    address = fields.Nested(AddressSchema)
    emails = fields.List(fields.Email())
    scores = fields.Dict(keys=fields.Str(), values=fields.Int())


class SearchQuery(Schema):
    limit = fields.Int(load_default=20, validate=validate.Range(1, 100))
    tag = fields.List(fields.Str())
    done = fields.Bool()
    since = fields.Date()
    order = fields.Str(data_key="sort")


class Recorder:
    """A site whose resources keep what they read: ``recorder.seen`` is the list of values."""

    def __init__(self, **site_options: Any) -> None:
        self.seen: list[Any] = []
        self.site = Site(**site_options)
        self.client = Client(self.site)
        seen = self.seen

        class Notes(Resource):
            schema = NoteSchema

            def post(self, request):
                seen.append(request.validated)

            put = patch = post

        class People(Resource):
            schema = PersonSchema

            def post(self, request):
                seen.append(request.validated)

        class Search(Resource):
            query_schema = SearchQuery

            def get(self, request):
                seen.append(request.query)

        class Anything(Resource):
            def get(self, request):
                seen.append(request.query)

            def post(self, request):
                seen.append(request.validated)

        class Ignore(Resource):
            query_schema = SearchQuery
            schema = NoteSchema

            def get(self, request):
                seen.append("ran")
                return {"title": "untouched"}

            post = get

        for path, resource in [
            ("/notes", Notes),
            ("/people", People),
            ("/search", Search),
            ("/anything", Anything),
            ("/ignore", Ignore),
        ]:
            self.site.add(path, resource)

    def send(self, method: str, path: str, body: bytes | str, content_type: str | None, **kw):
        headers = {"Content-Type": content_type} if content_type is not None else {}
        return self.client.request(method, path, data=body, headers=headers, **kw)


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


# -- JSON and XML through one schema ------------------------------------------------------------

SAME_NOTES = [
    (
        {"title": "Buy milk", "done": True, "tags": ["home"]},
        NOTE_XML,
        {"title": "Buy milk", "done": True, "tags": ["home"]},
    ),
    (
        {"title": 'Zürich <&> "q"', "tags": []},
        '<note><title>Zürich &lt;&amp;&gt; "q"</title><tags/></note>'.encode(),
        {"title": 'Zürich <&> "q"', "done": False, "tags": []},
    ),
    (
        {"title": "t", "done": False, "tags": ["a", "b", ""]},
        b"<note>\n  <title>t</title>\n  <done>false</done>\n"
        b"  <tags><item>a</item><item>b</item><item/></tags>\n</note>",
        {"title": "t", "done": False, "tags": ["a", "b", ""]},
    ),
    (
        {"title": "only"},
        b"<anything><title>only</title></anything>",  # the root's name is not checked
        {"title": "only", "done": False, "tags": []},
    ),
]


@pytest.mark.parametrize(("as_json", "as_xml", "expected"), SAME_NOTES)
def test_json_and_xml_validate_the_same(recorder: Recorder, as_json, as_xml, expected) -> None:
    assert recorder.client.post("/notes", json=as_json).status_code == 204
    assert recorder.send("POST", "/notes", as_xml, "application/xml").status_code == 204
    assert recorder.seen == [expected, expected]


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/json", b'{"title": "x"}'),
        ("application/json; charset=utf-8", b'{"title": "x"}'),
        ("application/json;charset=UTF-8", b'{"title": "x"}'),
        ('application/json; charset="utf-8"', b'{"title": "x"}'),
        ("application/merge-patch+json", b'{"title": "x"}'),  # structured syntax suffix
        ("application/vnd.example.note+json", b'{"title": "x"}'),
        ("Application/JSON", b'{"title": "x"}'),  # media types are case-insensitive
        ("application/json ; charset=utf-8", b'{"title": "x"}'),  # whitespace before ';'
        ("application/xml", b"<note><title>x</title></note>"),
        ("text/xml", b"<note><title>x</title></note>"),
        ("application/xml; charset=utf-8", b"<note><title>x</title></note>"),
        ("application/vnd.example.note+xml", b"<note><title>x</title></note>"),
        ("TEXT/XML", b"<note><title>x</title></note>"),
    ],
)
def test_readable_content_types(recorder: Recorder, content_type: str, body: bytes) -> None:
    response = recorder.send("POST", "/notes", body, content_type)
    assert response.status_code == 204, response.text
    assert recorder.seen == [{"title": "x", "done": False, "tags": []}]


def test_merge_patch_is_read_as_json() -> None:
    site = notes_site()
    client = Client(site)
    client.post("/notes", json={"title": "Buy milk", "tags": ["home"]})
    response = client.patch(
        "/notes/1", data=b'{"done": true}', headers={"Content-Type": "application/merge-patch+json"}
    )
    assert response.status_code == 200, response.text
    assert response.json == {"id": 1, "title": "Buy milk", "done": True, "tags": ["home"]}


@pytest.mark.parametrize(
    ("content_type", "body", "expected"),
    [
        ("application/json", b'{"done": true}', {"done": True}),
        ("application/json", b"{}", {}),
        ("application/json", b'{"tags": ["x"]}', {"tags": ["x"]}),
        ("application/xml", b"<note><done>true</done></note>", {"done": True}),
        ("application/xml", b"<note/>", {}),
    ],
)
def test_patch_loads_partial(recorder: Recorder, content_type, body, expected) -> None:
    response = recorder.send("PATCH", "/notes", body, content_type)
    assert response.status_code == 204, response.text
    assert recorder.seen == [expected]


@pytest.mark.parametrize(
    ("method", "body", "errors"),
    [
        ("PATCH", {"title": ""}, {"title": ["Length must be between 1 and 200."]}),
        ("PATCH", {"colour": "red"}, {"colour": ["Unknown field."]}),
        ("PUT", {"done": True}, {"title": ["Missing data for required field."]}),
        ("POST", {}, {"title": ["Missing data for required field."]}),
    ],
)
def test_partial_still_validates_what_is_given(recorder: Recorder, method, body, errors) -> None:
    problem = assert_problem(recorder.client.request(method, "/notes", json=body), 422)
    assert problem["errors"] == errors
    assert recorder.seen == []


def test_patch_keeps_other_fields() -> None:
    client = Client(notes_site())
    client.post("/notes", json={"title": "Buy milk", "tags": ["home"]})
    assert client.patch("/notes/1", json={"done": True}).json == {
        "id": 1,
        "title": "Buy milk",
        "done": True,
        "tags": ["home"],
    }
    assert client.put("/notes/1", json={"title": "New"}).json == {
        "id": 1,
        "title": "New",
        "done": False,
        "tags": [],
    }


# -- query strings ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", {"limit": 20}),
        ("?limit=5&tag=a&tag=b&done=true", {"limit": 5, "tag": ["a", "b"], "done": True}),
        ("?tag=solo", {"limit": 20, "tag": ["solo"]}),
        ("?done=0&unknown=1", {"limit": 20, "done": False}),  # unknown parameters are ignored
        ("?since=2024-02-29&sort=-date", {"limit": 20, "since": "2024-02-29", "order": "-date"}),
        ("?tag=caf%C3%A9&tag=a+b", {"limit": 20, "tag": ["café", "a b"]}),
    ],
)
def test_query_schema(recorder: Recorder, query: str, expected: dict) -> None:
    assert recorder.client.get("/search" + query).status_code == 204
    (seen,) = recorder.seen
    if "since" in seen:
        seen = {**seen, "since": seen["since"].isoformat()}
    assert seen == expected


@pytest.mark.parametrize(
    ("query", "errors"),
    [
        ("?limit=abc", {"limit": ["Not a valid integer."]}),
        (
            "?limit=0&done=maybe",
            {
                "limit": ["Must be greater than or equal to 1 and less than or equal to 100."],
                "done": ["Not a valid boolean."],
            },
        ),
        ("?since=yesterday", {"since": ["Not a valid date."]}),
    ],
)
def test_invalid_query_is_400(recorder: Recorder, query: str, errors: dict) -> None:
    problem = assert_problem(recorder.client.get("/search" + query), 400)
    assert problem["errors"] == errors
    assert recorder.seen == []


@pytest.mark.parametrize(
    ("query", "expected"),
    [("", {}), ("?a=1", {"a": "1"}), ("?a=1&b=2&b=3", {"a": "1", "b": ["2", "3"]})],
)
def test_query_without_schema_is_a_dict(recorder: Recorder, query: str, expected: dict) -> None:
    recorder.client.get("/anything" + query)
    assert recorder.seen == [expected]


def test_a_remembered_query_is_a_fresh_copy_each_time(recorder: Recorder) -> None:
    """SearchQuery is marshmallow's own fields and validators: its answers are remembered, but
    a handler that changes what it got changes nothing for the next request."""
    assert _deterministic(SearchQuery())
    for _ in range(3):
        assert recorder.client.get("/search?tag=a&limit=5").status_code == 204
        recorder.seen[-1]["tag"].append("changed")
        recorder.seen[-1]["limit"] = 99
    assert [seen["tag"] for seen in recorder.seen] == [["a", "changed"]] * 3
    assert recorder.seen[0] is not recorder.seen[1]


def test_a_rejected_query_is_rejected_every_time(recorder: Recorder) -> None:
    for _ in range(3):
        assert_problem(recorder.client.get("/search?limit=0"), 400)
    assert recorder.seen == []


_ticks = itertools.count(1)


def tick() -> int:
    """A new value on every call, as a default or hook computed at load time gives."""
    return next(_ticks)


class Moving(Schema):
    """A default computed at load time: the same query string loads to a new value each time."""

    at = fields.Int(load_default=tick)


class HookedQuery(Schema):
    limit = fields.Int()

    @post_load
    def stamp(self, data: dict, **kwargs: Any) -> dict:
        return {**data, "at": tick()}


class CustomValidator(Schema):
    limit = fields.Int(validate=lambda value: value > 0)


class Precise(fields.Int):
    """A subclass may deserialize however it likes."""


@pytest.mark.parametrize(
    ("schema", "deterministic"),
    [
        (SearchQuery(), True),
        (Moving(), False),
        (HookedQuery(), False),
        (CustomValidator(), False),
        (Schema.from_dict({"n": Precise()})(), False),
        (Schema.from_dict({"n": fields.List(Precise())})(), False),
        (Schema.from_dict({"n": fields.Nested(SearchQuery)})(), False),
        (Schema.from_dict({"n": fields.Function(deserialize=lambda v: tick())})(), False),
        (SearchQuery(many=True), False),
    ],
)
def test_only_schemas_whose_answer_cannot_change_are_remembered(
    schema: Schema, deterministic: bool
) -> None:
    assert _deterministic(schema) is deterministic


def test_a_query_schema_with_a_moving_default_loads_anew() -> None:
    class Now(Resource):
        query_schema = Moving

        def get(self, request):
            return {"at": request.query["at"]}

    site = Site()
    site.add("/now", Now)
    client = Client(site)
    seen = {client.get("/now?x=1").json["at"] for _ in range(3)}
    assert len(seen) == 3


def test_remembered_queries_are_bounded(recorder: Recorder, monkeypatch) -> None:
    monkeypatch.setattr(schemas, "_QUERIES", schemas.Memo(8))
    for n in range(1, 40):
        assert recorder.client.get(f"/search?limit={n}").status_code == 204
        assert len(schemas._QUERIES) <= 8
    assert [seen["limit"] for seen in recorder.seen] == list(range(1, 40))
    recorder.client.get("/search?limit=1&tag=" + "x" * 300)  # long query strings: not kept
    assert all(len(query) <= 256 for _, query in schemas._QUERIES)


# -- what cannot be read ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "application/octet-stream",
        "application/json; charset=iso-8859-1",
        "application/json; charset=utf-16",
        None,  # a body without a Content-Type
    ],
)
def test_unreadable_content_type_is_415(recorder: Recorder, content_type: str | None) -> None:
    response = recorder.send("POST", "/notes", b'{"title": "x"}', content_type)
    problem = assert_problem(response, 415)
    assert problem["title"] == "Unsupported Media Type"
    assert recorder.seen == []


DEEP = b"[" * 100_000
MALFORMED = [
    ("application/json", b'{"title": '),
    ("application/json", b'{"title": "x"} trailing'),
    ("application/json", b"   "),
    ("application/json", b'{"title": "caf\xe9"}'),  # latin-1, not UTF-8
    ("application/json", b'{"title": "x", "n": NaN}'),
    ("application/json", b'{"title": "x", "n": Infinity}'),
    ("application/json", b'{"title": "x", "n": -Infinity}'),
    ("application/json", DEEP),
    ("application/json", b'{"a":' * 100_000),
    ("application/json", b""),  # an empty body
    (None, b""),
    ("application/xml", b"<note><title>x</title>"),
    ("application/xml", b"not xml at all"),
    ("application/xml", b""),
]


@pytest.mark.parametrize(("content_type", "body"), MALFORMED, ids=lambda v: repr(v)[:40])
def test_malformed_body_is_400(recorder: Recorder, content_type: str | None, body: bytes) -> None:
    started = time.monotonic()
    problem = assert_problem(recorder.send("POST", "/notes", body, content_type), 400)
    assert time.monotonic() - started < 2
    assert problem["title"] == "Bad Request"
    assert recorder.seen == []


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(
            b'<?xml version="1.0"?>\n<!DOCTYPE lolz [\n <!ENTITY lol0 "lol">\n'
            + b"".join(
                f' <!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">\n'.encode() for i in range(1, 10)
            )
            + b"]>\n<note><title>&lol9;</title></note>",
            id="billion-laughs",
        ),
        pytest.param(
            b'<?xml version="1.0"?>\n<!DOCTYPE note [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
            b"<note><title>&xxe;</title></note>",
            id="external-entity",
        ),
        pytest.param(
            b'<!DOCTYPE note SYSTEM "http://127.0.0.1:9/evil.dtd"><note><title>x</title></note>',
            id="external-dtd",
        ),
        pytest.param(
            b'<!DOCTYPE note [<!ENTITY % p SYSTEM "file:///etc/passwd"> %p;]>'
            b"<note><title>x</title></note>",
            id="parameter-entity",
        ),
        pytest.param(
            b"<!DOCTYPE note [<!ELEMENT note ANY>]><note><title>x</title></note>",
            id="plain-dtd",
        ),
    ],
)
def test_hostile_xml_is_400_quickly(recorder: Recorder, body: bytes) -> None:
    started = time.monotonic()
    response = recorder.send("POST", "/notes", body, "application/xml")
    assert time.monotonic() - started < 1
    assert_problem(response, 400)
    assert b"root:" not in response.body
    assert b"lollol" not in response.body
    assert recorder.seen == []


def test_deep_xml_is_400(recorder: Recorder) -> None:
    body = b"<a>" * 100_000 + b"</a>" * 100_000
    assert_problem(recorder.send("POST", "/notes", body, "application/xml"), 400)


# -- what the schema rejects: 422 ---------------------------------------------------------------

INVALID = [
    (
        {"title": "", "done": "maybe", "tags": ["ok", 5]},
        b"<note><title></title><done>maybe</done><tags><item>ok</item><item><x>5</x></item></tags>"
        b"</note>",
        "/notes",
        {
            "title": ["Length must be between 1 and 200."],
            "done": ["Not a valid boolean."],
            "tags.1": ["Not a valid string."],
        },
    ),
    (
        {"title": "x", "colour": "red"},
        b"<note><title>x</title><colour>red</colour></note>",
        "/notes",
        {"colour": ["Unknown field."]},
    ),
    (
        {"title": "x" * 201, "tags": "not a list"},
        b"<note><title>" + b"x" * 201 + b"</title><tags>not a list</tags></note>",
        "/notes",
        {"title": ["Length must be between 1 and 200."], "tags": ["Not a valid list."]},
    ),
    (
        {"address": {"zip": "12"}, "emails": ["nope", "a@b.example"], "scores": {"math": "A"}},
        b"<person><address><zip>12</zip></address>"
        b"<emails><item>nope</item><item>a@b.example</item></emails>"
        b"<scores><math>A</math></scores></person>",
        "/people",
        {
            "name": ["Missing data for required field."],
            "address.city": ["Missing data for required field."],
            "address.zip": ["Length must be 4."],
            "emails.0": ["Not a valid email address."],
            "scores.math.value": ["Not a valid integer."],
        },
    ),
]


@pytest.mark.parametrize("media", ["json", "xml"])
@pytest.mark.parametrize(("as_json", "as_xml", "path", "errors"), INVALID)
def test_rejected_body_is_422_with_every_field(
    recorder: Recorder, media: str, as_json, as_xml, path: str, errors: dict
) -> None:
    if media == "json":
        response = recorder.client.post(path, json=as_json)
    else:
        response = recorder.send("POST", path, as_xml, "application/xml")
    problem = assert_problem(response, 422)
    assert problem["title"] == "Unprocessable Content"
    assert problem["errors"] == errors
    assert recorder.seen == []


@pytest.mark.parametrize("body", [b"[]", b'"a string"', b"null", b"42", b'[{"title": "x"}]'])
def test_body_that_is_not_an_object_is_422(recorder: Recorder, body: bytes) -> None:
    problem = assert_problem(recorder.send("POST", "/notes", body, "application/json"), 422)
    assert set(problem["errors"]) == {"_schema"}
    assert problem["errors"]["_schema"]


def test_without_a_schema_any_parsed_body_is_validated(recorder: Recorder) -> None:
    recorder.client.post("/anything", json=[1, {"a": None}])
    recorder.send("POST", "/anything", b"<x><item>1</item><item>2</item></x>", "application/xml")
    assert recorder.seen == [[1, {"a": None}], ["1", "2"]]


# -- size limits --------------------------------------------------------------------------------


def note_body(size: int) -> bytes:
    """A JSON note of exactly ``size`` bytes."""
    body = json.dumps({"title": ""}).encode()
    return json.dumps({"title": "x" * (size - len(body))}).encode()


@pytest.mark.parametrize(
    ("method", "path"), [("POST", "/notes"), ("PUT", "/notes/1"), ("PATCH", "/notes/1")]
)
def test_body_over_max_body_size_is_413(method: str, path: str) -> None:
    site = notes_site(max_body_size=100)
    problem = assert_problem(
        Client(site).request(
            method, path, data=note_body(101), headers={"Content-Type": "application/json"}
        ),
        413,
    )
    assert problem["title"] == "Content Too Large"
    assert site.calls == []  # the handler never ran


def test_body_at_max_body_size_is_read() -> None:
    site = notes_site(max_body_size=100)
    response = Client(site).post(
        "/notes", data=note_body(100), headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 201
    assert len(site.notes[1]["title"]) == 100 - len(b'{"title": ""}')


@pytest.mark.parametrize("declared", [101, 10**12])
def test_declared_content_length_is_enough_for_413(declared: int) -> None:
    site = notes_site(max_body_size=100)
    response = Client(site).post(
        "/notes", headers={"Content-Type": "application/json", "Content-Length": str(declared)}
    )
    assert_problem(response, 413)
    assert site.calls == []


def test_default_limit_is_one_mebibyte() -> None:
    site = notes_site()
    client = Client(site)
    too_large = client.post(
        "/notes", data=note_body(MiB + 1), headers={"Content-Type": "application/json"}
    )
    assert_problem(too_large, 413)
    assert site.calls == []
    at_limit = client.post(
        "/notes", data=note_body(MiB), headers={"Content-Type": "application/json"}
    )
    problem = assert_problem(at_limit, 422)  # read and validated: the title is too long
    assert problem["errors"] == {"title": ["Length must be between 1 and 200."]}


def test_413_even_where_the_handler_would_not_read_the_body() -> None:
    recorder = Recorder(max_body_size=10)
    assert_problem(recorder.send("POST", "/ignore", b"x" * 11, "text/plain"), 413)
    assert recorder.seen == []


# -- what is never read is never parsed ---------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "body", "content_type"),
    [
        ("POST", "/ignore", b'{"title": ', "application/json"),
        ("POST", "/ignore", b"\xff\xfe", "text/plain"),
        ("POST", "/ignore", b"<!DOCTYPE x [<!ENTITY a 'b'>]><x>&a;</x>", "application/xml"),
        ("POST", "/ignore", b"whatever", None),
        ("GET", "/ignore?limit=abc&done=maybe", None, None),  # a query it never reads
    ],
)
def test_unread_input_is_not_parsed(recorder: Recorder, method, path, body, content_type) -> None:
    response = recorder.send(method, path, body, content_type)
    assert response.status_code == 200, response.text
    assert response.json == {"title": "untouched"}
    assert recorder.seen == ["ran"]
