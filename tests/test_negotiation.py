"""Content negotiation on Accept: representations, problems, and media handlers of one's own."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest
from helpers import assert_problem, media_type_of, notes_site, xml_tree
from marshmallow import Schema

from resourcekit import errors
from resourcekit.media import MediaHandler
from resourcekit.media.json import JSONHandler
from resourcekit.media.xml import XMLHandler
from resourcekit.memo import Memo
from resourcekit.testing import Client

NOTE = {"id": 1, "title": "Buy milk", "done": False, "tags": ["home"]}


@pytest.fixture
def client() -> Client:
    client = Client(notes_site())
    assert client.post("/notes", json={"title": "Buy milk", "tags": ["home"]}).status_code == 201
    return client


def read_note(content_type: str, body: bytes) -> dict[str, Any]:
    """A note from its JSON or XML representation, as plain JSON-like data."""
    if content_type == "application/json":
        return json.loads(body)
    if content_type == "text/html":  # the page embeds its data as JSON for its script
        embedded = body.split(b'<script type="application/json" id="rk-data">', 1)[1]
        return json.loads(embedded.split(b"</script>", 1)[0])
    root = xml_tree(body)
    assert root.tag == "note"
    return {
        "id": int(root.findtext("id")),
        "title": root.findtext("title"),
        "done": {"true": True, "false": False}[root.findtext("done")],
        "tags": [item.text for item in root.find("tags")],
    }


ACCEPTS = [
    (None, "application/json"),
    ("*/*", "application/json"),
    ("application/json", "application/json"),
    ("application/xml", "application/xml"),
    ("text/xml", "text/xml"),
    ("APPLICATION/XML", "application/xml"),
    ("application/json;q=0.5, application/xml", "application/xml"),
    ("application/xml;q=0.5, application/json", "application/json"),
    ("application/xml;q=0.9, application/json;q=0.8", "application/xml"),
    ("application/*", "application/json"),
    ("text/*", "text/xml"),
    ("application/xml, */*", "application/xml"),
    ("*/*, application/xml", "application/xml"),
    ("*/*;q=0.1, text/xml", "text/xml"),
    ("application/json;q=0, */*", "application/xml"),
    ("text/html, application/xhtml+xml, application/xml;q=0.9, */*;q=0.8", "text/html"),
    ("application/xhtml+xml, application/xml;q=0.9, */*;q=0.8", "application/xml"),
    ("image/png, */*;q=0.5", "application/json"),
    # invalid headers are treated as absent
    ("garbage;;;==", "application/json"),
    ("application/xml;q=2", "application/json"),
    ("text/xml;q=abc", "application/json"),
]


@pytest.mark.parametrize(("accept", "content_type"), ACCEPTS)
def test_representation_is_negotiated(
    client: Client, accept: str | None, content_type: str
) -> None:
    headers = {"Accept": accept} if accept is not None else {}
    response = client.get("/notes/1", headers=headers)
    assert response.status_code == 200
    assert media_type_of(response) == content_type
    assert response.headers["Vary"] == "Accept"
    assert read_note(content_type, response.body) == NOTE


@pytest.mark.parametrize("accept", ["application/json", "application/xml"])
def test_collections_are_negotiated(client: Client, accept: str) -> None:
    client.post("/notes", json={"title": "Call Ada", "done": True})
    response = client.get("/notes", headers={"Accept": accept})
    assert media_type_of(response) == accept
    assert response.headers["Vary"] == "Accept"
    if accept == "application/json":
        assert [note["title"] for note in response.json] == ["Buy milk", "Call Ada"]
    else:
        root = xml_tree(response.body)
        assert root.tag == "notes"
        assert [note.tag for note in root] == ["note", "note"]
        assert [note.findtext("title") for note in root] == ["Buy milk", "Call Ada"]
        assert [item.text for item in root[0].find("tags")] == ["home"]  # one item stays a list
        assert list(root[1].find("tags")) == []


@pytest.mark.parametrize(
    "accept",
    [
        "image/png",
        "text/plain",
        "*/*;q=0",
        "application/json;q=0, application/xml;q=0, text/xml;q=0",
        "application/problem+json",
        "text/csv",
    ],
)
def test_nothing_acceptable_is_406(client: Client, accept: str) -> None:
    problem = assert_problem(client.get("/notes/1", headers={"Accept": accept}), 406)
    assert problem["title"] == "Not Acceptable"


def test_406_is_decided_before_the_handler_runs() -> None:
    site = notes_site()
    response = Client(site).post(
        "/notes", json={"title": "never stored"}, headers={"Accept": "image/png"}
    )
    assert_problem(response, 406)
    assert site.notes == {}
    assert site.calls == []


PROBLEM_ACCEPTS = [
    (None, "application/problem+json"),
    ("*/*", "application/problem+json"),
    ("application/json", "application/problem+json"),
    ("application/problem+json", "application/problem+json"),
    ("application/xml", "application/problem+xml"),
    ("text/xml", "application/problem+xml"),
    ("application/problem+xml", "application/problem+xml"),
    ("application/xml;q=0.5, application/json", "application/problem+json"),
    ("application/json;q=0.5, application/xml", "application/problem+xml"),
    ("image/png", "application/problem+json"),  # an error is sent even when nothing fits
    ("garbage;;;==", "application/problem+json"),
]


@pytest.mark.parametrize(("accept", "media_type"), PROBLEM_ACCEPTS)
def test_problems_are_negotiated(client: Client, accept: str | None, media_type: str) -> None:
    headers = {"Accept": accept} if accept is not None else {}
    problem = assert_problem(client.get("/nowhere", headers=headers), 404, media_type=media_type)
    assert set(problem) == {"type", "title", "status", "detail"}
    assert problem["title"] == "Not Found"


def test_xml_problem_is_rfc_9457_appendix_b(client: Client) -> None:
    response = client.get("/notes/99", headers={"Accept": "application/xml"})
    root = xml_tree(response.body)
    namespace = "{urn:ietf:rfc:7807}"
    assert root.tag == f"{namespace}problem"
    assert [child.tag for child in root] == [
        f"{namespace}{name}" for name in ("type", "title", "status", "detail", "request_id")
    ]
    assert root.findtext(f"{namespace}status") == "404"
    assert root.findtext(f"{namespace}detail") == "no note 99"
    assert response.body.startswith(b"<?xml")


def test_406_problem_follows_the_default(client: Client) -> None:
    response = client.get("/notes/1", headers={"Accept": "image/png"})
    assert media_type_of(response) == "application/problem+json"
    assert response.headers["Vary"] == "Accept"


def test_validation_problem_in_xml(client: Client) -> None:
    response = client.post(
        "/notes", json={"title": "", "tags": ["a", 5]}, headers={"Accept": "text/xml"}
    )
    problem = assert_problem(response, 422, media_type="application/problem+xml")
    assert problem["errors"] == {
        "title": ["Length must be between 1 and 200."],
        "tags.1": ["Not a valid string."],
    }


# -- media handlers of one's own ----------------------------------------------------------------


class CSVHandler(MediaHandler):
    """Rows of comma-separated values; renders no problems of its own."""

    media_types = ("text/csv",)

    def render(self, data: Any, schema: Schema | None, many: bool) -> bytes:
        rows = data if many else [data]
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=list(rows[0]) if rows else [])
        writer.writeheader()
        writer.writerows(
            {k: "|".join(v) if isinstance(v, list) else v for k, v in row.items()} for row in rows
        )
        return out.getvalue().encode()

    def parse(self, body: bytes, charset: str | None, schema: Schema | None) -> Any:
        try:
            rows = list(csv.DictReader(io.StringIO(body.decode(charset or "utf-8"))))
        except (UnicodeDecodeError, csv.Error):
            raise errors.BadRequest("malformed CSV") from None
        if len(rows) != 1:
            raise errors.BadRequest("exactly one row, please")
        return {k: v.split("|") if k == "tags" else v for k, v in rows[0].items()}


class TextHandler(MediaHandler):
    media_types = ("text/plain",)
    problem_type = "text/plain"

    def render(self, data: Any, schema: Schema | None, many: bool) -> bytes:
        rows = data if many else [data]
        return "\n".join(f"#{row['id']} {row['title']}" for row in rows).encode()

    def render_problem(self, problem: dict[str, Any]) -> bytes:
        return f"{problem['status']} {problem['title']}: {problem.get('detail')}".encode()

    def parse(self, body: bytes, charset: str | None, schema: Schema | None) -> Any:
        return {"title": body.decode(charset or "utf-8").strip()}


@pytest.fixture
def csv_client() -> Client:
    return Client(notes_site(media=[JSONHandler(), XMLHandler(), CSVHandler()]))


def test_custom_handler_parses_and_renders(csv_client: Client) -> None:
    created = csv_client.post(
        "/notes",
        data="title,done,tags\nBuy milk,true,home|shop\n",
        headers={"Content-Type": "text/csv", "Accept": "text/csv"},
    )
    assert created.status_code == 201, created.text
    assert media_type_of(created) == "text/csv"
    assert created.headers["Vary"] == "Accept"
    assert created.text.splitlines() == ["id,title,done,tags", "1,Buy milk,True,home|shop"]
    # what came in as CSV reads back the same in JSON
    assert csv_client.get("/notes/1").json == {
        "id": 1,
        "title": "Buy milk",
        "done": True,
        "tags": ["home", "shop"],
    }
    listing = csv_client.get("/notes", headers={"Accept": "text/csv;q=1, application/json;q=0.5"})
    assert listing.text.splitlines()[1:] == ["1,Buy milk,True,home|shop"]
    # JSON stays the default; XML is still there
    assert media_type_of(csv_client.get("/notes/1")) == "application/json"
    xml = csv_client.get("/notes/1", headers={"Accept": "application/xml"})
    assert media_type_of(xml) == "application/xml"


def test_custom_handler_body_is_validated(csv_client: Client) -> None:
    response = csv_client.post(
        "/notes", data="title,done\n,maybe\n", headers={"Content-Type": "text/csv"}
    )
    problem = assert_problem(response, 422)
    assert problem["errors"] == {
        "title": ["Length must be between 1 and 200."],
        "done": ["Not a valid boolean."],
    }
    malformed = csv_client.post(
        "/notes", data="title\na\nb\n", headers={"Content-Type": "text/csv"}
    )
    assert_problem(malformed, 400)


def test_handler_without_problem_type_falls_back_for_problems(csv_client: Client) -> None:
    response = csv_client.get("/notes/99", headers={"Accept": "text/csv"})
    assert assert_problem(response, 404)["detail"] == "no note 99"


def test_the_first_handler_is_the_default() -> None:
    client = Client(notes_site(media=[XMLHandler(), JSONHandler()]))
    client.post("/notes", json={"title": "Buy milk", "tags": ["home"]})
    response = client.get("/notes/1")
    assert media_type_of(response) == "application/xml"
    assert read_note("application/xml", response.body) == NOTE
    problem = assert_problem(client.get("/notes/9"), 404, media_type="application/problem+xml")
    assert problem["detail"] == "no note 9"
    assert client.get("/notes/1", headers={"Accept": "application/json"}).json == NOTE


def test_a_site_with_only_a_custom_handler() -> None:
    client = Client(notes_site(media=[TextHandler()]))
    created = client.post("/notes", data="Buy milk\n", headers={"Content-Type": "text/plain"})
    assert created.status_code == 201
    assert media_type_of(created) == "text/plain"
    assert created.text == "#1 Buy milk"
    assert client.get("/notes").text == "#1 Buy milk"
    missing = client.get("/notes/7")
    assert (missing.status_code, media_type_of(missing)) == (404, "text/plain")
    assert missing.text == "404 Not Found: no note 7"
    refused = client.get("/notes/1", headers={"Accept": "application/json"})
    assert refused.status_code == 406
    unreadable = client.post("/notes", json={"title": "x"})
    assert unreadable.status_code == 415


# -- which media types are read as request bodies -------------------------------------------------


@pytest.mark.parametrize("content_type", ["text/plain", "text/html"])
def test_a_415_lists_only_the_media_types_the_site_reads(content_type: str) -> None:
    client = Client(notes_site())  # JSON, XML and the render-only HTML handler
    response = client.post("/notes", data="<p>x</p>", headers={"Content-Type": content_type})
    problem = assert_problem(response, 415)
    assert problem["accepted"] == [
        "application/json", "application/xml", "text/xml",
        "application/x-www-form-urlencoded", "multipart/form-data",
    ]
    assert content_type in problem["detail"]
    assert client.get("/notes").json == []


class ReportHandler(MediaHandler):
    """Renders two media types and reads only one of them."""

    media_types = ("text/csv", "application/vnd.report")
    parses = ("text/csv",)
    parsed: list[bytes] = []

    def render(self, data: Any, schema: Schema | None, many: bool) -> bytes:
        return b"report"

    def parse(self, body: bytes, charset: str | None, schema: Schema | None) -> Any:
        self.parsed.append(body)
        return {"title": body.decode()}


class RenderOnlyHandler(MediaHandler):
    """No `parse`: by default it reads nothing."""

    media_types = ("image/svg+xml",)

    def render(self, data: Any, schema: Schema | None, many: bool) -> bytes:
        return b"<svg/>"


def test_parses_declares_which_rendered_types_are_read() -> None:
    site = notes_site(media=[JSONHandler(), ReportHandler(), RenderOnlyHandler()])
    assert site.negotiator.accepted == ("application/json", "text/csv")
    client = Client(site)
    created = client.post("/notes", data="milk", headers={"Content-Type": "text/csv"})
    assert created.status_code == 201
    for unread in ("application/vnd.report", "image/svg+xml"):
        refused = client.post("/notes", data="milk", headers={"Content-Type": unread})
        assert assert_problem(refused, 415)["accepted"] == ["application/json", "text/csv"]
    assert ReportHandler.parsed == [b"milk"]


def test_readable_types_default_to_every_media_type_of_a_handler_that_parses() -> None:
    assert JSONHandler().readable_types() == JSONHandler.media_types
    assert XMLHandler().readable_types() == ("application/xml", "text/xml")
    assert RenderOnlyHandler().readable_types() == ()
    assert ReportHandler().readable_types() == ("text/csv",)


def test_decisions_are_kept_in_a_memo_that_empties_when_full() -> None:
    memo: Memo[str, int] = Memo(2)
    assert memo.keep("a", 1) == 1
    memo.keep("b", 2)
    memo.keep("c", 3)  # full: forgets a and b first
    assert dict(memo) == {"c": 3}
    with pytest.raises(ValueError, match="at least one"):
        Memo(0)


@pytest.mark.parametrize(("accept", "expected"), [
    ("application/xml; charset=utf-8", "application/xml"),
    ("text/xml;charset=UTF-8", "text/xml"),
    ("application/json; charset=utf-8", "application/json"),
    ("application/xml;charset=UTF-8, */*;q=0.1", "application/xml"),
    ("application/json; charset=utf-8; q=0.2, application/xml; level=1; q=0.9",
     "application/xml"),
])
def test_a_range_with_parameters_matches_its_media_type(accept: str, expected: str) -> None:
    """A client may send back the ``Content-Type`` it got (``; charset=utf-8``) as its
    ``Accept``: the parameters are not compared, the q-values still are."""
    response = Client(notes_site()).get("/notes", headers={"Accept": accept})
    assert response.status_code == 200, response.text
    assert media_type_of(response) == expected
