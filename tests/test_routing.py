"""Routing: URI templates, typed fields, precedence, registration errors and URL building."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import Any

import pytest
from helpers import assert_problem, notes_site

from resourcekit import Resource, Site
from resourcekit.routing import CONVERTERS, Converter, RouteError, Router
from resourcekit.testing import Client

KEY = uuid.UUID("12345678-1234-5678-1234-567812345678")


def echo(label: str) -> type[Resource]:
    """A resource answering GET with its label and the fields it received, with their types."""

    class Echo(Resource):
        def get(self, request, **uri_fields: Any):
            return {
                "label": label,
                "fields": {k: [type(v).__name__, str(v)] for k, v in uri_fields.items()},
            }

    Echo.__name__ = Echo.__qualname__ = label
    return Echo


TEMPLATES = {
    "Root": "/",
    "NoteList": "/notes",
    "NewNote": "/notes/new",
    "Note": "/notes/{note_id:int}",
    "ItemById": "/items/{item_id:int}",
    "ItemBySlug": "/items/{slug}",
    "Key": "/keys/{key:uuid}",
    "Doc": "/docs/{name}",
    "File": "/files/{rest:path}",
    "Folder": "/tree/{folder}",
    "Subtree": "/tree/{rest:path}",
    "AnyC": "/a/{x}/c",
    "BD": "/a/b/d",
    "Slash": "/slash/",
    "Comment": "/notes/{note_id:int}/comments/{comment_id:int}",
}


@pytest.fixture(scope="module")
def site() -> Site:
    site = Site()
    for name, template in TEMPLATES.items():
        site.add(template, echo(name))
    return site


@pytest.fixture(scope="module")
def client(site: Site) -> Client:
    return Client(site)


@pytest.mark.parametrize(
    ("path", "label", "fields"),
    [
        ("/", "Root", {}),
        ("/notes", "NoteList", {}),
        ("/notes/new", "NewNote", {}),  # a literal beats a field
        ("/notes/42", "Note", {"note_id": ["int", "42"]}),
        ("/notes/3/comments/9", "Comment", {"note_id": ["int", "3"], "comment_id": ["int", "9"]}),
        ("/items/5", "ItemById", {"item_id": ["int", "5"]}),  # int beats str
        ("/items/five", "ItemBySlug", {"slug": ["str", "five"]}),
        ("/items/5a", "ItemBySlug", {"slug": ["str", "5a"]}),
        (f"/keys/{KEY}", "Key", {"key": ["UUID", str(KEY)]}),
        (f"/keys/{str(KEY).upper()}", "Key", {"key": ["UUID", str(KEY)]}),
        ("/docs/readme", "Doc", {"name": ["str", "readme"]}),
        ("/docs/caf%C3%A9", "Doc", {"name": ["str", "café"]}),
        ("/docs/John%20Doe", "Doc", {"name": ["str", "John Doe"]}),
        ("/docs/50%25", "Doc", {"name": ["str", "50%"]}),
        ("/files/report.txt", "File", {"rest": ["str", "report.txt"]}),
        ("/files/a/b/c.txt", "File", {"rest": ["str", "a/b/c.txt"]}),
        ("/files/caf%C3%A9/men%C3%BC", "File", {"rest": ["str", "café/menü"]}),
        ("/files/dir/", "File", {"rest": ["str", "dir/"]}),
        ("/tree/one", "Folder", {"folder": ["str", "one"]}),  # one segment: the str field
        ("/tree/one/two", "Subtree", {"rest": ["str", "one/two"]}),
        ("/a/b/c", "AnyC", {"x": ["str", "b"]}),  # backtracks from the literal /a/b
        ("/a/z/c", "AnyC", {"x": ["str", "z"]}),
        ("/a/b/d", "BD", {}),
        ("/slash/", "Slash", {}),
    ],
)
def test_match_and_convert(client: Client, path: str, label: str, fields: dict) -> None:
    response = client.get(path)
    assert response.status_code == 200, response.text
    assert response.json == {"label": label, "fields": fields}


@pytest.mark.parametrize(
    "path",
    [
        "/notes/abc",  # an int field that does not convert
        "/notes/-1",
        "/notes/4.2",
        "/notes/%C2%B2",  # a superscript two is a digit to str.isdigit, not an int
        "/notes/3/comments/x",
        "/keys/not-a-uuid",
        f"/keys/{KEY.hex}",  # 32 hex digits without dashes
        f"/keys/{KEY}0",
        "/notes/",  # trailing slashes are strict
        "/notes/42/",
        "/slash",
        "/files",
        "/files/",
        "/docs/",
        "/a/b",
        "/a/b/c/d",
        "/nowhere",
    ],
)
def test_no_match_is_a_404_problem(client: Client, path: str) -> None:
    problem = assert_problem(client.get(path), 404)
    assert problem["title"] == "Not Found"


@pytest.mark.parametrize("path", ["/docs/%FF", "/files/caf%E9"])
def test_path_that_is_not_utf8_is_400(client: Client, path: str) -> None:
    assert_problem(client.get(path), 400)


@pytest.mark.parametrize(
    "template",
    [
        "notes",  # no leading slash
        "",
        "/notes/{note_id",
        "/notes/note_id}",
        "/notes/{}",
        "/notes/{1st}",
        "/notes/{note_id:float}",
        "/notes/{note_id:}",
        "/a//b",
        "/notes/x{note_id}",
        "/notes/{note_id}.json",
        "/notes/{a}{b}",
        "/notes/{same}/tags/{same}",
        "/files/{rest:path}/raw",
    ],
)
def test_malformed_template(template: str) -> None:
    with pytest.raises(RouteError):
        Site().add(template, echo("Bad"))


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("/notes", "/notes"),
        ("/", "/"),
        ("/notes/{note_id:int}", "/notes/{note_id:int}"),
        ("/notes/{note_id:int}", "/notes/{other_id:int}"),
        ("/notes/{a}", "/notes/{b}"),
        ("/notes/{a}/x", "/notes/{b}/y"),
        ("/files/{a:path}", "/files/{b:path}"),
    ],
)
def test_conflicting_templates(first: str, second: str) -> None:
    site = Site()
    site.add(first, echo("First"))
    with pytest.raises(RouteError):
        site.add(second, echo("Second"))


def test_duplicate_names() -> None:
    site = Site()
    site.add("/one", echo("Thing"))
    with pytest.raises(RouteError):
        site.add("/two", echo("Thing"))  # another class of the same name
    site.add("/three", echo("Other"), name="custom")
    with pytest.raises(RouteError):
        site.add("/four", echo("Another"), name="custom")
    site.add("/five", echo("Thing"), name="thing-again")  # an explicit name resolves it
    assert site.url_for("thing-again") == "/five"


def test_a_failed_registration_leaves_the_site_working() -> None:
    site = Site()
    site.add("/notes/{a}", echo("First"))
    with pytest.raises(RouteError):
        site.add("/notes/{b}", echo("Second"))
    assert Client(site).get("/notes/x").json == {"label": "First", "fields": {"a": ["str", "x"]}}


# -- url_for ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "fields", "path"),
    [
        ("Root", {}, "/"),
        ("NoteList", {}, "/notes"),
        ("Note", {"note_id": 42}, "/notes/42"),
        ("Comment", {"note_id": 3, "comment_id": 9}, "/notes/3/comments/9"),
        ("Key", {"key": KEY}, f"/keys/{KEY}"),
        ("Key", {"key": str(KEY)}, f"/keys/{KEY}"),
        ("Doc", {"name": "John Doe"}, "/docs/John%20Doe"),
        ("Doc", {"name": "a/b"}, "/docs/a%2Fb"),
        ("Doc", {"name": "café"}, "/docs/caf%C3%A9"),
        ("Doc", {"name": "50%?#"}, "/docs/50%25%3F%23"),
        ("File", {"rest": "a/b c/d.txt"}, "/files/a/b%20c/d.txt"),
        ("Slash", {}, "/slash/"),
    ],
)
def test_url_for(site: Site, client: Client, name: str, fields: dict, path: str) -> None:
    resource_class = next(r.target.resource.__class__ for r in site.routes if r.name == name)
    assert site.url_for(name, **fields) == path
    assert site.url_for(resource_class, **fields) == path


@pytest.mark.parametrize(
    ("name", "fields"),
    [
        ("Doc", {"name": "John Doe"}),
        ("Doc", {"name": "café"}),
        ("Doc", {"name": "50%?#"}),
        ("Doc", {"name": "a/b"}),  # one segment holding a slash, sent as %2F
        ("File", {"rest": "a/b c/d.txt"}),
        ("Note", {"note_id": 7}),
    ],
)
def test_url_for_round_trips(site: Site, client: Client, name: str, fields: dict) -> None:
    """The path url_for builds leads back to the same resource with the same values."""
    response = client.get(site.url_for(name, **fields))
    assert response.status_code == 200, response.text
    assert response.json["label"] == name
    assert {k: v[1] for k, v in response.json["fields"].items()} == {
        k: str(v) for k, v in fields.items()
    }


@pytest.mark.parametrize(
    ("target", "fields", "error"),
    [
        ("Note", {}, LookupError),  # missing field
        ("Comment", {"note_id": 1}, LookupError),
        ("Note", {"note_id": 1, "extra": 2}, LookupError),  # extra field
        ("NoteList", {"page": 2}, LookupError),
        ("Nobody", {}, LookupError),  # unknown route name
        ("Note", {"note_id": "abc"}, ValueError),  # does not convert
        ("Note", {"note_id": -1}, ValueError),
        ("Key", {"key": "not-a-uuid"}, ValueError),
        ("Doc", {"name": ""}, ValueError),
    ],
)
def test_url_for_refuses(site: Site, target: str, fields: dict, error: type) -> None:
    with pytest.raises(error):
        site.url_for(target, **fields)


def test_url_for_unregistered_class(site: Site) -> None:
    with pytest.raises(LookupError):
        site.url_for(echo("Unregistered"))


# -- request.url_for: absolute, as the client reaches the site -----------------------------------


@pytest.mark.parametrize(
    ("url", "headers", "environ", "location"),
    [
        ("/notes", {}, {}, "http://localhost/notes/1"),
        ("/notes", {"Host": "api.example.com"}, {}, "http://api.example.com/notes/1"),
        ("/notes", {"Host": "api.example.com:8443"}, {}, "http://api.example.com:8443/notes/1"),
        ("https://secure.example.org/notes", {}, {}, "https://secure.example.org/notes/1"),
        (
            "/notes",
            {"Host": "example.com"},
            {"SCRIPT_NAME": "/api/v1"},
            "http://example.com/api/v1/notes/1",
        ),
    ],
)
def test_request_url_for_is_absolute(url: str, headers: dict, environ: dict, location: str) -> None:
    client = Client(notes_site())
    response = client.request("POST", url, json={"title": "x"}, headers=headers, environ=environ)
    assert response.status_code == 201, response.text
    assert response.headers["Location"] == location


def test_request_url_for_under_a_mount() -> None:
    """A site mounted below a prefix by a dispatcher that moves it into SCRIPT_NAME."""
    site = notes_site()

    def mount(environ, start_response):
        path = environ["PATH_INFO"]
        if not path.startswith("/api/"):
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"outside"]
        environ["SCRIPT_NAME"] += "/api"
        environ["PATH_INFO"] = path[len("/api") :]
        return site(environ, start_response)

    client = Client(mount)
    response = client.post("http://example.com/api/notes", json={"title": "mounted"})
    assert response.status_code == 201
    assert response.headers["Location"] == "http://example.com/api/notes/1"
    assert client.get("http://example.com/api/notes/1").json["title"] == "mounted"
    assert site.url_for("Note", note_id=1) == "/notes/1"  # the path below the site's root


def test_request_url_for_from_a_handler() -> None:
    site = Site()

    @site.route("/files/{rest:path}")
    class File(Resource):
        def get(self, request, rest):
            return {"self": request.url_for(File, rest=rest), "other": request.url_for("Other")}

    @site.route("/other")
    class Other(Resource):
        def get(self, request):
            return {}

    response = Client(site).get("/files/caf%C3%A9/a%20b", headers={"Host": "h.example"})
    assert response.json == {
        "self": "http://h.example/files/caf%C3%A9/a%20b",
        "other": "http://h.example/other",
    }


# -- registering --------------------------------------------------------------------------------


def test_route_decorator_returns_the_class_and_takes_a_name() -> None:
    site = Site()

    @site.route("/things/{thing_id:int}", name="thing")
    class Thing(Resource):
        def get(self, request, thing_id):
            return {"thing_id": thing_id}

    assert isinstance(Thing, type) and issubclass(Thing, Resource)
    assert site.url_for("thing", thing_id=5) == "/things/5"
    assert site.url_for(Thing, thing_id=5) == "/things/5"
    assert Client(site).get("/things/5").json == {"thing_id": 5}


def test_add_a_class_and_an_instance() -> None:
    class Greeting(Resource):
        def __init__(self, word: str = "hello") -> None:
            self.word = word

        def get(self, request, who):
            return {"greeting": f"{self.word}, {who}"}

    site = Site()
    site.add("/hello/{who}", Greeting)
    site.add("/hola/{who}", Greeting("hola"), name="spanish")
    client = Client(site)
    assert client.get("/hello/ada").json == {"greeting": "hello, ada"}
    assert client.get("/hola/ada").json == {"greeting": "hola, ada"}
    assert site.url_for(Greeting, who="x") == "/hello/x"
    assert site.url_for("spanish", who="x") == "/hola/x"


@pytest.mark.parametrize("target", [object, object(), "not a resource"])
def test_add_refuses_what_is_not_a_resource(target: Any) -> None:
    with pytest.raises(TypeError):
        Site().add("/x", target)


# -- converters of one's own ---------------------------------------------------------------------


def _to_date(segment: str) -> dt.date:
    if len(segment) != 10:
        raise ValueError(segment)
    return dt.date.fromisoformat(segment)


def _to_slug(segment: str) -> str:
    if not segment.isalnum():
        raise ValueError(segment)
    return segment


DATE = Converter("date", _to_date, lambda value: value.isoformat(), rank=1)
SLUG = Converter("slug", _to_slug, str, rank=1)


def test_a_registered_converter_converts_and_builds() -> None:
    router: Router[str] = Router(converters=[DATE])
    route = router.add("/days/{day:date}/notes", "Day", "day")
    assert router.match("/days/2027-01-15/notes") == (route, {"day": dt.date(2027, 1, 15)})
    assert router.match("/days/tomorrow/notes") is None
    assert route.build({"day": dt.date(2027, 1, 15)}) == "/days/2027-01-15/notes"
    assert router.converters["date"] is DATE
    assert set(CONVERTERS) <= set(router.converters)


def test_a_converter_is_tried_by_rank_before_str() -> None:
    router: Router[str] = Router(converters=[DATE])
    by_name = router.add("/days/{name}", "Named", "named")
    by_date = router.add("/days/{day:date}", "Day", "day")
    assert router.match("/days/2027-01-15") == (by_date, {"day": dt.date(2027, 1, 15)})
    assert router.match("/days/monday") == (by_name, {"name": "monday"})


def test_an_unknown_converter_fails_at_registration_naming_the_template() -> None:
    router: Router[str] = Router(converters=[DATE])
    with pytest.raises(RouteError) as info:
        router.add("/weeks/{week:isoweek}", "Week", "week")
    message = str(info.value)
    assert "'/weeks/{week:isoweek}'" in message
    assert "'isoweek'" in message
    assert "date" in message  # what is registered
    with pytest.raises(RouteError, match=re.escape("'/days/{day:date}'")):
        Router().add("/days/{day:date}", "Day", "day")  # registered on another router only


@pytest.mark.parametrize(
    ("converters", "error", "message"),
    [
        ([Converter("int", int, str)], ValueError, "already registered"),
        ([DATE, DATE], ValueError, "already registered"),
        (["date"], TypeError, "not a resourcekit.routing.Converter"),
    ],
)
def test_converter_registration_refuses(converters: list, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        Router(converters=converters)


@pytest.mark.parametrize("name", ["", "two words", "9lives", "a-b"])
def test_a_converter_name_must_be_an_identifier(name: str) -> None:
    with pytest.raises(ValueError, match="Python identifier"):
        Converter(name, str, str)


def test_backtracking_keeps_only_the_matched_routes_fields() -> None:
    router: Router[str] = Router(converters=[SLUG])
    router.add("/t/{number:int}/q", "Number", "number")
    by_slug = router.add("/t/{slug:slug}/z", "Slug", "slug")
    by_text = router.add("/t/{text}/{rest:path}", "Text", "text")
    assert router.match("/t/5/z") == (by_slug, {"slug": "5"})
    assert router.match("/t/5/y/x") == (by_text, {"text": "5", "rest": "y/x"})
    assert router.match("/t/5/") is None  # a path field takes at least one character
