"""The HTML renderer (contract section 6): the browsable API a browser gets for ``text/html``."""

from __future__ import annotations

import base64
import datetime as dt
import enum
import hashlib
import json
import re
from collections.abc import Iterator
from html.parser import HTMLParser
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from helpers import assert_problem, media_type_of, notes_site, vary
from marshmallow import Schema, fields, validate

from resourcekit import Created, Resource, Site
from resourcekit.media.html import HTMLHandler
from resourcekit.request import Request
from resourcekit.testing import Client
from sample_project.app import create_site

BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
HTML = {"Accept": BROWSER}
TOKEN = "s3cret"
SCRIPT = "<script>alert(1)</script>"
BREAKOUT = '"><img src=x onerror=alert(1)>'


# -- reading pages ------------------------------------------------------------------------------


class Page(HTMLParser):
    """Every element of a page with its attributes, and the text of its script elements."""

    def __init__(self, body: bytes) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str]]] = []
        self.scripts: list[tuple[dict[str, str], str]] = []
        self.styles: list[str] = []
        self.text: list[str] = []
        self._open: tuple[str, dict[str, str]] | None = None
        self.feed(body.decode("utf-8"))
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {name: value or "" for name, value in attrs}
        self.elements.append((tag, found))
        if tag in ("script", "style"):
            self._open = (tag, found)

    def handle_data(self, data: str) -> None:
        if self._open is None:
            self.text.append(data)
        elif self._open[0] == "script":
            self.scripts.append((self._open[1], data))
        else:
            self.styles.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._open = None

    def find(self, tag: str, **wanted: str) -> list[dict[str, str]]:
        wanted = {k.replace("_", "-"): v for k, v in wanted.items()}
        return [
            attrs for name, attrs in self.elements
            if name == tag and all(attrs.get(k) == v for k, v in wanted.items())
        ]

    def one(self, tag: str, **wanted: str) -> dict[str, str]:
        found = self.find(tag, **wanted)
        assert len(found) == 1, (tag, wanted, found)
        return found[0]

    @property
    def data(self) -> Any:
        """The representation the page embeds for its script."""
        (text,) = [text for attrs, text in self.scripts if attrs.get("id") == "rk-data"]
        return json.loads(text)

    def forms(self) -> list[str]:
        return [attrs["data-method"] for attrs in self.find("form") if "data-method" in attrs]

    def control(self, method: str, key: str) -> tuple[str, dict[str, str]]:
        """The element and attributes of the control for ``key`` in the form for ``method``
        (of a list's inputs, the first, which its label names)."""
        labelled = re.compile(rf"rk-{method.lower()}-\d+")
        found = [
            (tag, attrs) for tag, attrs in self.elements
            if attrs.get("data-key") == key and labelled.fullmatch(attrs.get("id", ""))
        ]
        assert len(found) == 1, (method, key, found)
        return found[0]

    def inputs(self, method: str, key: str) -> list[dict[str, str]]:
        """Every input for ``key`` in the form for ``method``: a list has one per item."""
        prefix = f"rk-{method.lower()}-"
        return [attrs for tag, attrs in self.elements
                if attrs.get("data-key") == key and attrs.get("id", "").startswith(prefix)]


def page_of(response: Any, status: int = 200) -> Page:
    assert response.status_code == status, response.body[:300]
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    assert vary(response) in (["Accept"], ["Accept", "API-Version"])
    return Page(response.body)


def form_html(body: str, method: str) -> str:
    """The markup of the form for ``method`` (lower case) on a page."""
    start = body.index(f'<form id="rk-form-{method}"')
    return body[start : body.index("</form>", start)]


def sha256(source: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(source.encode()).digest()).decode() + "'"


@pytest.fixture
def client() -> Client:
    client = Client(notes_site())
    assert client.post("/notes", json={"title": "Buy milk", "tags": ["home"]}).status_code == 201
    return client


@pytest.fixture
def sample(tmp_path: Path) -> Iterator[Client]:
    site = create_site(tmp_path / "db.sqlite", api_token=TOKEN)
    client = Client(site, headers={"Authorization": f"Bearer {TOKEN}"})
    station = {"name": "Oslo", "latitude": 59.9, "longitude": 10.7, "country": "NO"}
    assert client.post("/stations", json=station).status_code == 201
    yield client
    site.close()


# -- negotiation ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("accept", "media_type"),
    [
        (BROWSER, "text/html"),
        ("text/html", "text/html"),
        ("text/html;q=0.9, application/json;q=0.8", "text/html"),
        (None, "application/json"),
        ("*/*", "application/json"),  # curl, wget, most libraries
        ("application/json", "application/json"),
        ("application/json, text/html;q=0.5", "application/json"),
        ("text/*", "text/xml"),  # as before the HTML renderer: XML was offered first
        ("application/xml", "application/xml"),
    ],
)
def test_browsers_get_html_and_everyone_else_keeps_json(
    client: Client, accept: str | None, media_type: str
) -> None:
    headers = {"Accept": accept} if accept is not None else {}
    response = client.get("/notes/1", headers=headers)
    assert response.status_code == 200
    assert media_type_of(response) == media_type
    assert response.headers["Vary"] == "Accept"


def test_html_page_embeds_the_json_representation(client: Client) -> None:
    page = page_of(client.get("/notes/1", headers=HTML))
    assert page.data == client.get("/notes/1").json
    assert "Buy milk" in "".join(page.text)


def test_head_has_the_headers_of_get(client: Client) -> None:
    get, head = client.get("/notes/1", headers=HTML), client.head("/notes/1", headers=HTML)
    assert head.status_code == 200
    assert head.body == b""
    assert head.headers["Content-Type"] == get.headers["Content-Type"]
    assert head.headers["ETag"] == get.headers["ETag"]


def test_etag_differs_from_json_and_xml(client: Client) -> None:
    tags = {
        accept: client.get("/notes/1", headers={"Accept": accept}).headers["ETag"]
        for accept in ("application/json", "application/xml", "text/html")
    }
    assert len(set(tags.values())) == 3
    again = client.get("/notes/1", headers={**HTML, "If-None-Match": tags["text/html"]})
    assert again.status_code == 304
    assert again.headers["ETag"] == tags["text/html"]
    assert client.get("/notes/1", headers={"If-None-Match": tags["text/html"]}).status_code == 200


def test_resource_etags_get_an_html_variant(sample: Client) -> None:
    tags = [
        sample.get("/stations/1", headers={"Accept": a}).headers["ETag"]
        for a in ("application/json", "application/xml", "text/html")
    ]
    assert tags == ['"1"', '"1-xml"', '"1-html"']
    fresh = sample.get("/stations/1", headers={**HTML, "If-None-Match": '"1-html"'})
    assert fresh.status_code == 304


def test_html_is_not_a_request_body_format(client: Client) -> None:
    response = client.post("/notes", data="<p>hi</p>", headers={"Content-Type": "text/html"})
    problem = assert_problem(response, 415)
    assert "text/html" in problem["detail"]
    assert "text/html" not in problem["accepted"]
    assert client.get("/notes").json == [client.get("/notes/1").json]


# -- problems -------------------------------------------------------------------------------------


def test_browsers_get_a_readable_problem_page(client: Client) -> None:
    response = client.get("/notes/99", headers=HTML)
    page = page_of(response, 404)
    text = "".join(page.text)
    assert "404 Not Found" in text
    assert "no note 99" in text
    assert page.data == {
        "type": "about:blank", "title": "Not Found", "status": 404, "detail": "no note 99",
        "request_id": response.headers["X-Request-ID"],
    }
    assert page.find("script", id="rk-data") and len(page.scripts) == 1  # no script to run


@pytest.mark.parametrize("accept", [None, "*/*", "application/json", "image/png"])
def test_other_clients_keep_json_problems(client: Client, accept: str | None) -> None:
    headers = {"Accept": accept} if accept is not None else {}
    assert_problem(client.get("/notes/99", headers=headers), 404)


def test_validation_problem_page_lists_every_field(client: Client) -> None:
    response = client.post("/notes", json={"title": "", "tags": [5]}, headers=HTML)
    page = page_of(response, 422)
    assert page.data["errors"] == {
        "title": ["Length must be between 1 and 200."], "tags.0": ["Not a valid string."]
    }
    text = "".join(page.text)
    assert "Length must be between 1 and 200." in text
    assert "tags.0" in text


def test_405_and_406_for_browsers() -> None:
    client = Client(notes_site())
    page = page_of(client.request("PUT", "/notes", json={}, headers=HTML), 405)
    assert page.data["status"] == 405
    response = client.get("/notes", headers={"Accept": "text/html;q=0, image/png"})
    assert_problem(response, 406)
    assert "text/html" in response.json["available"]


# -- escaping and injection -----------------------------------------------------------------------

HOSTILE = {
    SCRIPT: BREAKOUT,
    BREAKOUT: [SCRIPT, {"</script><script>alert(2)</script>": "<!--"}],
    "link": 'https://example.com/?q="><svg onload=alert(3)>',
    "amp": "https://example.com/a?b=1&c=2",
    "js": "javascript:alert(4)",
    "nested": {"\u2028": "\u2029", "&lt;": "&amp;"},
}


def hostile_site() -> Site:
    site = Site(title=f"Evil {SCRIPT}")

    @site.route("/things/{name}")
    class Things(Resource):
        def get(self, request: Request, name: Any) -> Any:
            return {**HOSTILE, "name": name}

        def post(self, request: Request, name: Any) -> Any:
            return Created(request.validated, location=BREAKOUT)

        def delete(self, request: Request, name: Any) -> Any:
            return None

    @site.route("/lists")
    class Lists(Resource):
        def get(self, request: Request) -> Any:
            return [HOSTILE, {"id": 2, SCRIPT: BREAKOUT}]

    return site


ALLOWED_TAGS = {
    "html", "head", "meta", "link", "title", "style", "body", "header", "nav", "a", "span",
    "main", "p", "code", "section", "h1", "h2", "h3", "small", "pre", "button", "div", "label",
    "input", "textarea", "form", "table", "thead", "tbody", "tr", "th", "td", "script", "abbr",
    "select", "option", "ul", "li", "time",
}


def assert_inert(page: Page) -> None:
    """Only the page's own elements, no event handler attributes, only its own scripts."""
    assert {tag for tag, _ in page.elements} <= ALLOWED_TAGS
    for _, attrs in page.elements:
        assert not [name for name in attrs if name.startswith("on")], attrs
        for name in ("href", "src", "action"):
            assert not attrs.get(name, "").lower().startswith("javascript:")
    assert page.find("img") == [] and page.find("svg") == []
    data_scripts = page.find("script", type="application/json")
    assert len(data_scripts) == 1
    assert len(page.find("script")) <= 2  # the data and the page's own code
    csp = page.one("meta", http_equiv="Content-Security-Policy")["content"]
    for attrs, text in page.scripts:
        if attrs.get("type") != "application/json":
            assert sha256(text) in csp  # the only code the policy lets run
    for text in page.styles:
        assert sha256(text) in csp
    assert "default-src 'none'" in csp and "unsafe-inline" not in csp


@pytest.mark.parametrize("path", ["/things/x", "/lists"])
def test_hostile_values_and_keys_are_escaped(path: str) -> None:
    client = Client(hostile_site())
    response = client.get(path, headers=HTML)
    page = page_of(response)
    assert_inert(page)
    body = response.body.decode()
    for raw in ("<script>alert", "<img", "<svg", "</script><script>alert", "<!--"):
        assert raw not in body
    assert page.data == client.get(path).json  # the embedded JSON reads back exactly
    text = "".join(page.text)
    assert SCRIPT in text and BREAKOUT in text  # shown as text, not markup


def test_only_absolute_http_urls_become_links() -> None:
    page = page_of(Client(hostile_site()).get("/things/x", headers=HTML))
    hrefs = {attrs["href"] for attrs in page.find("a")}
    assert "https://example.com/a?b=1&c=2" in hrefs
    assert not [h for h in hrefs if "svg" in h or h.startswith("javascript")]


def test_hostile_path_segments_and_title_are_escaped() -> None:
    path = "/things/%3Cscript%3Ealert(1)%3C%2Fscript%3E"
    response = Client(hostile_site()).get(path, headers=HTML)
    page = page_of(response)
    assert_inert(page)
    assert page.data["name"] == SCRIPT
    assert SCRIPT in "".join(page.text)
    assert "Evil <script>" in "".join(page.text)


def test_hostile_problem_is_escaped() -> None:
    client = Client(notes_site())
    response = client.post("/notes", json={"title": "x", SCRIPT: BREAKOUT}, headers=HTML)
    page = page_of(response, 422)
    assert_inert(page)
    assert page.data["errors"] == {SCRIPT: ["Unknown field."]}
    assert "<script>alert" not in response.body.decode()


def test_created_page_for_a_post_asking_for_html() -> None:
    client = Client(hostile_site())
    response = client.post("/things/x", json={"a": SCRIPT}, headers=HTML)
    page = page_of(response, 201)
    assert_inert(page)
    assert page.forms() == []  # forms belong to GET pages
    assert page.data == {"a": SCRIPT}


# -- forms from the input schema ------------------------------------------------------------------


class Colour(enum.Enum):
    RED = "red"
    BLUE = "blue"


class Inner(Schema):
    x = fields.Int()


class KitchenSinkSchema(Schema):
    id = fields.Int(dump_only=True)
    created = fields.AwareDateTime(dump_only=True)
    title = fields.Str(required=True, validate=validate.Length(min=1, max=80))
    code = fields.Str(validate=validate.Length(equal=2))
    count = fields.Int(validate=validate.Range(min=0, max=10))
    ratio = fields.Float(validate=validate.Range(min=0, max=1, max_inclusive=False))
    price = fields.Decimal()
    active = fields.Bool(load_default=True)
    when = fields.AwareDateTime(required=True)
    naive = fields.NaiveDateTime()
    day = fields.Date()
    email = fields.Email()
    home = fields.Url()
    tags = fields.List(fields.Str())
    scores = fields.List(fields.Float())
    inner = fields.Nested(Inner)
    extra = fields.Dict()
    size = fields.Str(validate=validate.OneOf(["S", "M", "L"]))
    colour = fields.Enum(Colour, by_value=True)
    renamed = fields.Str(data_key="renamedKey")
    maybe = fields.Float(allow_none=True, load_default=None)


def sink_site() -> Site:
    site = Site(title="Sink")
    when = dt.datetime(2024, 5, 1, 12, tzinfo=dt.UTC)
    item = {"id": 1, "title": "old", "tags": ["a", "b"], "inner": {"x": 1}, "active": False,
            "when": when, "count": 3, "renamed": "r", "size": "M"}

    @site.route("/sinks")
    class Sinks(Resource):
        schema = KitchenSinkSchema

        def get(self, request: Request) -> Any:
            return [item]

        def post(self, request: Request) -> Any:
            return Created(item, location="/sinks/1")

    @site.route("/sinks/1")
    class Sink(Resource):
        schema = KitchenSinkSchema

        def get(self, request: Request) -> Any:
            return item

        def put(self, request: Request) -> Any:
            return item

        def patch(self, request: Request) -> Any:
            return item

    @site.route("/readonly")
    class ReadOnly(Resource):
        schema = KitchenSinkSchema

        def get(self, request: Request) -> Any:
            return item

    return site


@pytest.fixture
def sink() -> Page:
    return page_of(Client(sink_site()).get("/sinks", headers=HTML))


INPUTS = [
    ("title", "input", {"type": "text", "data-kind": "string", "minlength": "1", "maxlength": "80",
                        "required": ""}),
    ("code", "input", {"type": "text", "minlength": "2", "maxlength": "2"}),
    ("count", "input", {"type": "number", "data-kind": "integer", "step": "1", "min": "0",
                        "max": "10"}),
    ("ratio", "input", {"type": "number", "data-kind": "number", "step": "any", "min": "0"}),
    ("price", "input", {"type": "number", "data-kind": "number", "step": "any"}),
    ("active", "input", {"type": "checkbox", "data-kind": "boolean", "checked": ""}),
    ("when", "input", {"type": "text", "data-kind": "string", "required": "",
                       "placeholder": "2024-05-01T12:00:00Z"}),
    ("naive", "input", {"type": "text", "placeholder": "2024-05-01T12:00:00Z"}),
    ("day", "input", {"type": "date"}),
    ("email", "input", {"type": "email"}),
    ("home", "input", {"type": "url"}),
    ("tags", "input", {"type": "text", "data-kind": "list"}),
    ("scores", "input", {"type": "text", "data-kind": "list-number"}),
    ("inner", "textarea", {"data-kind": "json"}),
    ("extra", "textarea", {"data-kind": "json"}),
    ("size", "select", {"data-kind": "string"}),
    ("colour", "select", {"data-kind": "string"}),
    ("renamedKey", "input", {"type": "text", "name": "renamedKey"}),
    ("maybe", "input", {"type": "number", "data-nullable": ""}),
]


@pytest.mark.parametrize(("key", "tag", "expected"), INPUTS)
def test_create_form_controls_follow_the_schema(
    sink: Page, key: str, tag: str, expected: dict[str, str]
) -> None:
    found_tag, attrs = sink.control("POST", key)
    assert found_tag == tag
    assert {k: attrs.get(k) for k in expected} == expected


def test_create_form_details(sink: Page) -> None:
    assert sink.forms() == ["POST"]
    keys = [attrs["data-key"] for attrs in sink.find("input") + sink.find("textarea")
            + sink.find("select") if attrs.get("id", "").startswith("rk-post-")]
    assert "id" not in keys and "created" not in keys  # dump_only: the server's to set
    assert "renamed" not in keys
    assert "max" not in sink.control("POST", "ratio")[1]  # exclusive: left to the server
    assert "required" not in sink.control("POST", "active")[1]  # a checkbox is always sent
    labels = "".join(sink.text)
    for hint in ("1 to 80 characters", "exactly 2 characters", "from 0 to 10", "≥ 0 and < 1",
                 "with a UTC offset", "a value per field", "a number per field", "JSON"):
        assert hint in labels
    assert sink.find("abbr", title="required")
    assert sink.find("option", value="M") and sink.find("option", value="red")
    assert sink.one("input", id="rk-token")["type"] == "password"


def test_collection_table_lists_the_items(sink: Page) -> None:
    head = [text.strip() for text in sink.text]
    assert "renamedKey" in head and "title" in head
    assert sink.find("section", id="rk-items")


def test_item_forms_are_prefilled_and_patch_requires_nothing() -> None:
    page = page_of(Client(sink_site()).get("/sinks/1", headers=HTML))
    assert page.forms() == ["PUT", "PATCH"]  # the resource has no post or delete
    for method in ("PUT", "PATCH"):
        assert page.control(method, "title")[1]["value"] == "old"
        assert [i["value"] for i in page.inputs(method, "tags")] == ["a", "b", "", ""]
        assert page.control(method, "count")[1]["value"] == "3"
        assert "checked" not in page.control(method, "active")[1]
        assert page.control(method, "renamedKey")[1]["value"] == "r"
    assert "required" in page.control("PUT", "title")[1]
    assert "required" not in page.control("PATCH", "title")[1]
    body = Client(sink_site()).get("/sinks/1", headers=HTML).body.decode()
    put, patch = form_html(body, "put"), form_html(body, "patch")
    assert put.count('title="required"') == 2  # title and when
    assert 'title="required"' not in patch and " required" not in patch  # PATCH is partial
    assert len(page.find("option", value="M", selected="")) == 2  # PUT and PATCH
    body = Client(sink_site()).get("/sinks/1", headers=HTML).body.decode()
    assert '"x": 1' in body  # the nested value as JSON in its textarea


def test_no_forms_for_a_read_only_resource() -> None:
    page = page_of(Client(sink_site()).get("/readonly", headers=HTML))
    assert page.forms() == []
    assert page.find("input", id="rk-token") == []
    assert [a["id"] for a in page.find("p") if a.get("id")] == ["rk-allow"]
    assert "GET" in "".join(page.text) and "PUT" not in "".join(page.text)


def test_allow_drives_the_forms(client: Client) -> None:
    assert page_of(client.get("/notes", headers=HTML)).forms() == ["POST"]
    page = page_of(client.get("/notes/1", headers=HTML))
    assert page.forms() == ["PUT", "PATCH", "DELETE"]
    allow = client.options("/notes/1").headers["Allow"]
    assert "".join(page.text).count("OPTIONS") == 1
    assert all(method in "".join(page.text) for method in allow.split(", "))


def test_resource_without_schema_gets_a_json_body_form() -> None:
    page = page_of(Client(hostile_site()).get("/things/x", headers=HTML))
    assert page.forms() == ["POST", "DELETE"]
    assert page.one("textarea", id="rk-post-0")["data-kind"] == "body"


def test_breadcrumbs_link_every_ancestor(sample: Client) -> None:
    page = page_of(sample.get("/stations/1", headers=HTML))
    nav = [attrs["href"] for attrs in page.find("a")]
    assert nav[:2] == ["/", "/stations"]
    assert page.one("span", aria_current="page")
    assert page.one("form", data_method="DELETE")["data-parent"] == "/stations"
    assert "Weather stations" in "".join(page.text)


def test_breadcrumbs_honour_script_name(client: Client) -> None:
    response = client.get("/notes/1", headers=HTML, environ={"SCRIPT_NAME": "/api"})
    page = page_of(response)
    assert [attrs["href"] for attrs in page.find("a")][:2] == ["/api/", "/api/notes"]


def test_sample_forms_need_credentials_and_offer_a_query(sample: Client) -> None:
    page = page_of(sample.get("/stations?country=NO&limit=5", headers=HTML))
    assert page.forms() == ["POST"]
    assert "needs credentials" in "".join(page.text)
    assert page.one("input", id="rk-token")
    query = {attrs["data-key"]: attrs.get("value") for attrs in page.find("input")
             if attrs.get("id", "").startswith("rk-get-")}
    assert {key: value for key, value in query.items() if value} == {"limit": "5", "country": "NO"}
    assert {"offset", "sort", "fields", "cursor", "elevation_m[gte]"} <= set(query)
    _, country = page.control("POST", "country")
    assert country["required"] == ""


def test_hints_say_what_a_person_can_act_on(sample: Client) -> None:
    """No regular expression and no 64-bit bound as a hint; a pattern's own message instead."""
    response = sample.get("/stations", headers=HTML)
    page, body = page_of(response), response.body.decode()
    text = "".join(page.text)
    assert "matching" not in text and "^[A-Z]{2}$" not in body
    assert "two capital letters, e.g. FR" in text  # the country pattern's message
    assert "must not contain control characters" in text  # the name's
    assert str(2**63 - 1) not in body and "≥ 0" in text  # offset: 0 to 2**63 - 1
    assert "max" not in page.control("GET", "offset")[1]
    assert page.control("GET", "limit")[1]["max"] == "100"
    assert "pattern" not in page.control("POST", "country")[1]


def test_a_default_pattern_message_is_no_hint() -> None:
    class Coded(Schema):
        code = fields.Str(validate=validate.Regexp(r"^[a-z]+$"))
        quoted = fields.Str(validate=validate.Regexp(r"^\d+$", error="must match {regex}"))

    site = Site()

    @site.route("/codes")
    class Codes(Resource):
        schema = Coded

        def get(self, request: Request) -> Any:
            return []

        def post(self, request: Request) -> Any:
            return request.validated

    page = page_of(Client(site).get("/codes", headers=HTML))
    assert page.control("POST", "code")[1]["data-kind"] == "string"
    hints = [t for t in page.text if "match" in t or "pattern" in t]
    assert hints == []


def test_render_without_a_request_has_no_forms() -> None:
    body = HTMLHandler().render([{"id": 1, "url": "https://example.com/1"}], None, True)
    page = Page(body)
    assert page.forms() == [] and page.find("nav") == []
    assert page.data == [{"id": 1, "url": "https://example.com/1"}]
    assert page.find("a", href="https://example.com/1")
    assert_inert(page)


def test_page_loads_nothing_from_another_host(client: Client) -> None:
    page = page_of(client.get("/notes/1", headers=HTML))
    for _, attrs in page.elements:
        for name in ("src", "href"):
            value = attrs.get(name, "")
            assert not re.match(r"(?i)(https?:)?//", value) or value.startswith("http://localhost")
    assert page.one("link", rel="icon")["href"] == "data:,"


# -- the style and script are package files -----------------------------------------------------


def test_style_and_script_are_the_package_assets(client: Client) -> None:
    assets = resources.files("resourcekit.media").joinpath("assets")
    css = assets.joinpath("browsable.css").read_text(encoding="utf-8")
    js = assets.joinpath("browsable.js").read_text(encoding="utf-8")
    response = client.get("/notes/1", headers=HTML)
    page = page_of(response)
    assert page.styles == [css]
    assert [text for attrs, text in page.scripts if "type" not in attrs] == [js]
    policy = response.headers["Content-Security-Policy"]
    assert f"style-src {sha256(css)}; script-src {sha256(js)};" in policy
    assert policy.endswith("; frame-ancestors 'none'")
    meta = page.one("meta", http_equiv="Content-Security-Policy")["content"]
    assert policy == meta + "; frame-ancestors 'none'"


# -- links from the routes ----------------------------------------------------------------------


def links_of(page: Page) -> list[tuple[str, str]]:
    """The (rel, href) of the links the page offers around its resource."""
    return [(attrs["rel"], attrs["href"]) for attrs in page.find("a")
            if attrs.get("rel") in ("up", "collection", "related")]


def item_links(page: Page) -> list[str]:
    return [attrs["href"] for attrs in page.find("a", rel="item")]


def test_collection_items_link_to_their_resources(sample: Client) -> None:
    sample.post("/stations", json={"name": "Bergen", "latitude": 60.4, "longitude": 5.3,
                                   "country": "NO"})
    page = page_of(sample.get("/stations", headers=HTML))
    assert item_links(page) == ["/stations/1", "/stations/2"]
    assert links_of(page) == [("up", "/")]
    body = sample.get("/stations", headers=HTML).body.decode()
    assert '<td><a rel="item" href="/stations/2">2</a></td>' in body  # the id cell


def test_a_resource_links_to_its_collection_and_sub_resources(sample: Client) -> None:
    page = page_of(sample.get("/stations/1", headers=HTML))
    assert links_of(page) == [
        ("collection", "/stations"),
        ("related", "/stations/1/observations"),
        ("related", "/stations/1/weather"),
    ]  # not /stations/1/observations/{obs_id}: it needs a field this page lacks


def test_sub_resources_link_up_and_to_their_items(sample: Client) -> None:
    observation = {"observed_at": "2024-05-01T12:00:00Z", "temperature_c": 11.5}
    assert sample.post("/stations/1/observations", json=observation).status_code == 201
    page = page_of(sample.get("/stations/1/observations", headers=HTML))
    assert links_of(page) == [("up", "/stations/1")]
    assert item_links(page) == ["/stations/1/observations/1"]  # from "id", not "station_id"
    one = page_of(sample.get("/stations/1/observations/1", headers=HTML))
    assert links_of(one) == [("collection", "/stations/1/observations")]
    weather = page_of(sample.get("/stations/1/weather", headers=HTML))
    assert links_of(weather) == [("up", "/stations/1")]


def test_the_root_links_to_what_is_below_it(sample: Client) -> None:
    page = page_of(sample.get("/", headers=HTML))
    assert links_of(page) == [
        ("related", "/docs"), ("related", "/healthz"), ("related", "/metrics"),
        ("related", "/openapi.json"), ("related", "/readyz"), ("related", "/stations"),
    ]  # not /docs/assets/{name}: it needs a field


def test_links_honour_script_name(sample: Client) -> None:
    page = page_of(sample.get("/stations", headers=HTML, environ={"SCRIPT_NAME": "/api"}))
    assert links_of(page) == [("up", "/api/")]
    assert item_links(page) == ["/api/stations/1"]


def tree_site() -> Site:
    """Routes to find links in: names as keys, a route without GET, nested static routes."""
    site = Site()
    users = [{"username": "ann", "id": "x"}, {"username": "b/ob"}, {"username": None}]

    @site.route("/users")
    class Users(Resource):
        def get(self, request: Request) -> Any:
            return users

    @site.route("/users/{username}")
    class User(Resource):
        def get(self, request: Request, username: Any) -> Any:
            return {"username": username}

    @site.route("/users/{username}/inbox")
    class Inbox(Resource):
        def post(self, request: Request, username: Any) -> Any:  # nothing to follow: no GET
            return None

    @site.route("/users/{username}/settings")
    class Settings(Resource):
        def get(self, request: Request, username: Any) -> Any:
            return {}

    @site.route("/users/{username}/settings/mail")
    class Mail(Resource):
        def get(self, request: Request, username: Any) -> Any:
            return {}

    @site.route("/codes")
    class Codes(Resource):
        def get(self, request: Request) -> Any:
            return [{"code_id": 7}, {"code_id": "seven"}, {"id": 8}, {"code_id": True}]

    @site.route("/codes/{code_id:int}")
    class Code(Resource):
        def get(self, request: Request, code_id: Any) -> Any:
            return {"code_id": code_id}

    return site


def test_items_link_by_the_key_named_like_the_field() -> None:
    page = page_of(Client(tree_site()).get("/users", headers=HTML))
    assert item_links(page) == ["/users/ann", "/users/b%2Fob"]  # encoded; a null is no link
    page = page_of(Client(tree_site()).get("/codes", headers=HTML))
    assert item_links(page) == ["/codes/7", "/codes/8"]  # "seven" is no int, True no number


def test_related_are_the_nearest_routes_with_a_get() -> None:
    client = Client(tree_site())
    page = page_of(client.get("/users/ann", headers=HTML))
    assert links_of(page) == [("collection", "/users"), ("related", "/users/ann/settings")]
    mail = page_of(client.get("/users/ann/settings/mail", headers=HTML))
    assert links_of(mail) == [("up", "/users/ann/settings")]


def test_hostile_field_values_make_escaped_links() -> None:
    page = page_of(Client(tree_site()).get("/users/%22%3E%3Cscript%3E", headers=HTML))
    assert_inert(page)
    assert ("related", '/users/%22%3E%3Cscript%3E/settings') in links_of(page)


def test_problem_pages_have_no_links(sample: Client) -> None:
    page = page_of(sample.get("/stations/99", headers=HTML), 404)
    assert links_of(page) == [] and page.find("nav") == []


# -- timestamps ---------------------------------------------------------------------------------


def test_timestamps_in_tables_do_not_wrap(sample: Client) -> None:
    response = sample.get("/stations", headers=HTML)
    page = page_of(response)
    created = sample.get("/stations/1").json["created_at"]
    body = response.body.decode()
    assert f"<td><time>{created}</time></td>" in body
    assert "time{white-space:nowrap}" in "".join(page.styles)
    assert "<td><time>NO</time></td>" not in body and "<td>NO</td>" in body


@pytest.mark.parametrize(("value", "is_time"), [
    ("2024-05-01T12:00:00Z", True),
    ("2024-05-01T12:00:00.123456+02:00", True),
    ("2024-05-01", True),
    ("2024-13-01", False),  # the shape, but no month 13
    ("2024-05-01T12:00:00Z and more", False),
    ("12345", False),
])
def test_what_counts_as_a_timestamp(value: str, is_time: bool) -> None:
    body = HTMLHandler().render([{"at": value}], None, True).decode()
    assert (f"<td><time>{value}</time></td>" in body) is is_time
