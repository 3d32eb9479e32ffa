"""Conditional requests (contract section 5, RFC 9110 section 13): validators, 304, 412, 428.

Every resource here reads one in-memory store, so each test can count handler calls (`calls`) and
store loads (`loads`) and check that a refused write left the state as it was. Document 1 starts
at version 3: its JSON tag is ``"v3"``, its XML tag ``"v3-xml"``; ``v2`` is a stale tag.
"""

from __future__ import annotations

import datetime as dt
import re
import xml.etree.ElementTree as ET
from collections import Counter
from types import SimpleNamespace
from typing import Any

import pytest
from helpers import assert_problem
from marshmallow import Schema, fields

from resourcekit import Created, Resource, Site, errors
from resourcekit.testing import Client

BASE = dt.datetime(2024, 1, 2, 12, 0, 0, 500_000, tzinfo=dt.UTC)  # sub-second part on purpose
LM = "Tue, 02 Jan 2024 12:00:00 GMT"  # Last-Modified of document 1, truncated to the second
BEFORE = "Tue, 02 Jan 2024 11:59:59 GMT"
AFTER = "Tue, 02 Jan 2024 12:00:01 GMT"
NEXT_LM = "Wed, 03 Jan 2024 12:00:00 GMT"  # after one write
CACHE = "public, max-age=60"

FORMATS = ["json", "xml"]
ACCEPT = {"json": {}, "xml": {"Accept": "application/xml"}}
PROBLEM = {"json": "application/problem+json", "xml": "application/problem+xml"}
CONTENT = {"json": "application/json", "xml": "application/xml"}


def tag(version: int, fmt: str, prefix: str = "v") -> str:
    return f'"{prefix}{version}{"-xml" if fmt == "xml" else ""}"'


def fill(headers: dict[str, str], fmt: str) -> dict[str, str]:
    """Replace CUR (the current tag) and OLD (a stale one) by the tags of representation ``fmt``."""
    return {
        name: value.replace("CUR", tag(3, fmt)).replace("OLD", tag(2, fmt))
        for name, value in headers.items()
    }


# -- the site -----------------------------------------------------------------------------------


class DocSchema(Schema):
    id = fields.Int(dump_only=True)
    title = fields.Str(required=True)
    version = fields.Int(dump_only=True)


class Store:
    def __init__(self) -> None:
        self.docs: dict[int, dict[str, Any]] = {
            1: {"id": 1, "title": "draft", "version": 3, "modified": BASE}
        }
        self.loads = 0
        self.calls: Counter[str] = Counter()

    def load(self, request, doc_id: int) -> dict[str, Any] | None:
        def fetch() -> dict[str, Any] | None:
            self.loads += 1
            doc = self.docs.get(doc_id)
            return dict(doc) if doc is not None else None

        return request.memo(("doc", doc_id), fetch)

    def save(self, doc_id: int, title: str) -> dict[str, Any]:
        old = self.docs.get(doc_id)
        self.docs[doc_id] = {
            "id": doc_id,
            "title": title,
            "version": old["version"] + 1 if old else 1,
            "modified": old["modified"] + dt.timedelta(days=1) if old else BASE,
        }
        return self.docs[doc_id]


class Stored(Resource):
    schema = DocSchema

    def __init__(self, store: Store) -> None:
        self.store = store

    def get(self, request, doc_id: int):
        self.store.calls["get"] += 1
        doc = self.store.load(request, doc_id)
        if doc is None:
            raise errors.NotFound(f"no document {doc_id}")
        return doc

    def put(self, request, doc_id: int):
        self.store.calls["put"] += 1
        existed = self.store.load(request, doc_id) is not None
        doc = self.store.save(doc_id, request.validated["title"])
        return doc if existed else Created(doc, location=request.url)


class Versioned(Stored):
    """Strong tag from a version counter, Last-Modified, Cache-Control; None when missing."""

    cache_control = CACHE

    def etag(self, request, doc_id: int):
        doc = self.store.load(request, doc_id)
        return f"v{doc['version']}" if doc else None

    def last_modified(self, request, doc_id: int):
        doc = self.store.load(request, doc_id)
        return doc["modified"] if doc else None

    def patch(self, request, doc_id: int):
        self.store.calls["patch"] += 1
        doc = self.store.load(request, doc_id)
        if doc is None:
            raise errors.NotFound(f"no document {doc_id}")
        return self.store.save(doc_id, request.validated.get("title", doc["title"]))

    def delete(self, request, doc_id: int):
        self.store.calls["delete"] += 1
        self.store.docs.pop(doc_id, None)

    def post(self, request, doc_id: int):
        self.store.calls["post"] += 1
        return self.store.load(request, doc_id)


class Guarded(Versioned):
    require_preconditions = True


class Stamped(Stored):
    """Only Last-Modified."""

    cache_control = "max-age=5"

    def last_modified(self, request, doc_id: int):
        doc = self.store.load(request, doc_id)
        return doc["modified"] if doc else None


class Weak(Stored):
    """A weak tag, shared by JSON and XML."""

    def etag(self, request, doc_id: int):
        doc = self.store.load(request, doc_id)
        return f'W/"w{doc["version"]}"' if doc else None


class Plain(Stored):
    """No validators at all."""


class Strict(Stored):
    """etag() raises 404 for a missing document."""

    def etag(self, request, doc_id: int):
        doc = self.store.load(request, doc_id)
        if doc is None:
            raise errors.NotFound(f"no document {doc_id}")
        return f"v{doc['version']}"


class Spaced(Stored):
    """A plausible etag() with a space in it: ``str(datetime)``."""

    def etag(self, request, doc_id: int):
        doc = self.store.load(request, doc_id)
        return str(doc["modified"]) if doc else None


@pytest.fixture
def api() -> SimpleNamespace:
    store = Store()
    site = Site(title="Conditional", version="1.0.0")
    for prefix, resource in [
        ("docs", Versioned),
        ("guarded", Guarded),
        ("stamped", Stamped),
        ("weak", Weak),
        ("plain", Plain),
        ("strict", Strict),
        ("spaced", Spaced),
    ]:
        site.add(f"/{prefix}/{{doc_id:int}}", resource(store))
    return SimpleNamespace(client=Client(site), store=store, calls=store.calls)


def request(api, method: str, path: str, headers: dict[str, str] | None = None, title="final"):
    body = {"title": title} if method in ("PUT", "PATCH") else None
    return api.client.request(method, path, json=body, headers=headers or {})


def unchanged(api) -> bool:
    return api.store.docs.get(1) == {"id": 1, "title": "draft", "version": 3, "modified": BASE}


def title_of(response, fmt: str) -> str:
    if fmt == "xml":
        return ET.fromstring(response.body).findtext("title")
    return response.json["title"]


def is_strong(etag: str) -> bool:
    return re.fullmatch(r'"[\x21\x23-\x7e]+"', etag) is not None


# -- RFC 9110 section 13.2.2, GET and HEAD -----------------------------------------------------

SAFE_CASES = [
    ("unconditional", {}, 200),
    ("if-match", {"If-Match": "CUR"}, 200),
    ("if-match-stale", {"If-Match": "OLD"}, 412),
    ("if-match-list", {"If-Match": 'OLD, "zzz", CUR'}, 200),
    ("if-match-star", {"If-Match": "*"}, 200),
    ("if-match-weak-never-matches", {"If-Match": "W/CUR"}, 412),
    ("ius-after", {"If-Unmodified-Since": AFTER}, 200),
    ("ius-equal", {"If-Unmodified-Since": LM}, 200),
    ("ius-before", {"If-Unmodified-Since": BEFORE}, 412),
    ("ius-invalid-ignored", {"If-Unmodified-Since": "yesterday"}, 200),
    ("if-match-wins-over-ius", {"If-Match": "CUR", "If-Unmodified-Since": BEFORE}, 200),
    ("if-match-fails-ius-would-pass", {"If-Match": "OLD", "If-Unmodified-Since": AFTER}, 412),
    ("inm-match", {"If-None-Match": "CUR"}, 304),
    ("inm-weak-comparison", {"If-None-Match": "W/CUR"}, 304),
    ("inm-stale", {"If-None-Match": "OLD"}, 200),
    ("inm-list", {"If-None-Match": 'OLD, W/"zzz", CUR'}, 304),
    ("inm-star", {"If-None-Match": "*"}, 304),
    ("ims-equal", {"If-Modified-Since": LM}, 304),
    ("ims-after", {"If-Modified-Since": AFTER}, 304),
    ("ims-before", {"If-Modified-Since": BEFORE}, 200),
    ("ims-invalid-ignored", {"If-Modified-Since": "32 Foo 99999"}, 200),
    ("inm-stale-ims-ignored", {"If-None-Match": "OLD", "If-Modified-Since": AFTER}, 200),
    ("inm-match-ims-ignored", {"If-None-Match": "CUR", "If-Modified-Since": BEFORE}, 304),
    ("im-and-inm-match", {"If-Match": "CUR", "If-None-Match": "CUR"}, 304),
    ("im-pass-inm-stale", {"If-Match": "CUR", "If-None-Match": "OLD"}, 200),
    ("im-fail-checked-first", {"If-Match": "OLD", "If-None-Match": "CUR"}, 412),
    ("ius-fail-checked-first", {"If-Unmodified-Since": BEFORE, "If-None-Match": "CUR"}, 412),
    ("ius-fail-before-ims", {"If-Unmodified-Since": BEFORE, "If-Modified-Since": AFTER}, 412),
]


@pytest.mark.parametrize("method", ["GET", "HEAD"])
@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize(
    ("headers", "status"), [pytest.param(h, s, id=i) for i, h, s in SAFE_CASES]
)
def test_safe_request_preconditions(api, method, fmt, headers, status):
    response = request(api, method, "/docs/1", {**ACCEPT[fmt], **fill(headers, fmt)})
    assert response.status_code == status, response.body[:300]
    assert api.calls["get"] == (1 if status == 200 else 0)  # 304 and 412 never run the handler
    if status == 412:
        if method == "GET":
            assert_problem(response, 412, media_type=PROBLEM[fmt])
        assert "ETag" not in response.headers and "Cache-Control" not in response.headers
        return
    assert response.headers["ETag"] == tag(3, fmt)
    assert response.headers["Last-Modified"] == LM
    assert response.headers["Cache-Control"] == CACHE
    if status == 304 or method == "HEAD":
        assert response.body == b""
    else:
        assert response.headers["Content-Type"].startswith(CONTENT[fmt])
        assert title_of(response, fmt) == "draft"


# -- RFC 9110 section 13.2.2, unsafe methods ---------------------------------------------------

UNSAFE_CASES = [
    ("unconditional", {}, True),
    ("if-match", {"If-Match": "CUR"}, True),
    ("if-match-stale", {"If-Match": "OLD"}, False),
    ("if-match-list", {"If-Match": 'OLD, "zzz", CUR'}, True),
    ("if-match-star", {"If-Match": "*"}, True),
    ("if-match-weak-never-matches", {"If-Match": "W/CUR"}, False),
    ("ius-after", {"If-Unmodified-Since": AFTER}, True),
    ("ius-equal", {"If-Unmodified-Since": LM}, True),
    ("ius-before", {"If-Unmodified-Since": BEFORE}, False),
    ("ius-invalid-ignored", {"If-Unmodified-Since": "yesterday"}, True),
    ("if-match-wins-over-ius", {"If-Match": "CUR", "If-Unmodified-Since": BEFORE}, True),
    ("if-match-fails-ius-would-pass", {"If-Match": "OLD", "If-Unmodified-Since": AFTER}, False),
    ("inm-match", {"If-None-Match": "CUR"}, False),
    ("inm-weak-comparison", {"If-None-Match": "W/CUR"}, False),
    ("inm-stale", {"If-None-Match": "OLD"}, True),
    ("inm-list", {"If-None-Match": "OLD, CUR"}, False),
    ("inm-star", {"If-None-Match": "*"}, False),
    ("ims-ignored", {"If-Modified-Since": AFTER}, True),
    ("inm-stale-ims-ignored", {"If-None-Match": "OLD", "If-Modified-Since": AFTER}, True),
    ("im-and-inm-match", {"If-Match": "CUR", "If-None-Match": "CUR"}, False),
    ("im-pass-inm-stale", {"If-Match": "CUR", "If-None-Match": "OLD"}, True),
    ("im-fail-inm-pass", {"If-Match": "OLD", "If-None-Match": "OLD"}, False),
]


@pytest.mark.parametrize(("method", "ok"), [("PUT", 200), ("PATCH", 200), ("DELETE", 204)])
@pytest.mark.parametrize("fmt", FORMATS)  # the representation whose tag the client holds
@pytest.mark.parametrize(
    ("headers", "passes"), [pytest.param(h, p, id=i) for i, h, p in UNSAFE_CASES]
)
def test_unsafe_request_preconditions(api, method, ok, fmt, headers, passes):
    response = request(api, method, "/docs/1", fill(headers, fmt))
    if passes:
        assert response.status_code == ok, response.body[:300]
        assert api.calls[method.lower()] == 1
        assert not unchanged(api)
    else:
        assert_problem(response, 412)
        assert api.calls[method.lower()] == 0  # the handler never ran
        assert unchanged(api)  # no lost update
        assert "ETag" not in response.headers


@pytest.mark.parametrize(
    ("method", "headers", "status", "created"),
    [
        ("PUT", {"If-Match": "*"}, 412, False),
        ("DELETE", {"If-Match": "*"}, 412, False),
        ("PUT", {"If-None-Match": "*"}, 201, True),
        ("PUT", {"If-Match": '"v1"'}, 412, False),
        ("PUT", {"If-Unmodified-Since": AFTER}, 201, True),  # no date to compare: ignored
        ("GET", {"If-Match": "*"}, 404, False),  # RFC 9110 13.2.1: the 404 comes first
        ("GET", {"If-None-Match": "*"}, 404, False),
    ],
)
def test_star_on_missing_resource(api, method, headers, status, created):
    response = request(api, method, "/docs/9", headers)
    assert response.status_code == status, response.body[:300]
    assert (9 in api.store.docs) is created
    if status == 412:
        assert_problem(response, 412)
        assert api.calls[method.lower()] == 0
    if created:
        assert response.headers["ETag"] == '"v1"'
        assert response.headers["Last-Modified"] == LM
        again = request(api, "PUT", "/docs/9", {"If-None-Match": "*"})
        assert_problem(again, 412)
        assert api.store.docs[9]["version"] == 1


# -- 304 ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["GET", "HEAD"])
@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("header", ["If-None-Match", "If-Modified-Since"])
def test_not_modified_headers(api, method, fmt, header):
    value = tag(3, fmt) if header == "If-None-Match" else LM
    response = request(api, method, "/docs/1", {**ACCEPT[fmt], header: value})
    assert response.status_code == 304
    assert response.headers["ETag"] == tag(3, fmt)
    assert response.headers["Last-Modified"] == LM
    assert response.headers["Cache-Control"] == CACHE
    assert "Accept" in response.headers["Vary"]
    assert response.body == b""
    assert "Content-Type" not in response.headers
    assert "Content-Length" not in response.headers
    assert api.calls["get"] == 0


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize(
    ("path", "cache", "last_modified"),
    [("/plain/1", None, False), ("/stamped/1", "max-age=5", True), ("/weak/1", None, False)],
)
def test_not_modified_headers_of_other_validators(api, fmt, path, cache, last_modified):
    first = request(api, "GET", path, ACCEPT[fmt])
    assert first.status_code == 200
    response = request(api, "GET", path, {**ACCEPT[fmt], "If-None-Match": first.headers["ETag"]})
    assert response.status_code == 304
    assert response.headers["ETag"] == first.headers["ETag"]
    assert response.headers.get("Last-Modified") == (LM if last_modified else None)
    assert response.headers.get("Cache-Control") == cache
    assert "Accept" in response.headers["Vary"]
    assert response.body == b""
    assert "Content-Type" not in response.headers and "Content-Length" not in response.headers


# -- representations ----------------------------------------------------------------------------


def test_each_representation_has_its_own_strong_tag(api):
    json_tag = request(api, "GET", "/docs/1").headers["ETag"]
    xml_tag = request(api, "GET", "/docs/1", ACCEPT["xml"]).headers["ETag"]
    assert (json_tag, xml_tag) == ('"v3"', '"v3-xml"')


def test_json_tag_does_not_validate_the_xml_representation(api):
    response = request(api, "GET", "/docs/1", {**ACCEPT["xml"], "If-None-Match": '"v3"'})
    assert response.status_code == 200
    assert response.headers["ETag"] == '"v3-xml"'
    assert title_of(response, "xml") == "draft"
    refused = request(api, "GET", "/docs/1", {**ACCEPT["xml"], "If-Match": '"v3"'})
    assert_problem(refused, 412, media_type=PROBLEM["xml"])
    assert api.calls["get"] == 1


@pytest.mark.parametrize("accept", FORMATS)
@pytest.mark.parametrize("held", FORMATS)
def test_any_representation_tag_validates_a_write(api, accept, held):
    response = request(api, "PUT", "/docs/1", {**ACCEPT[accept], "If-Match": tag(3, held)})
    assert response.status_code == 200, response.body[:300]
    assert response.headers["ETag"] == tag(4, accept)
    assert title_of(response, accept) == "final"


# -- weak tags ----------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize(
    ("method", "headers", "status"),
    [
        ("GET", {}, 200),
        ("GET", {"If-None-Match": 'W/"w3"'}, 304),
        ("GET", {"If-None-Match": '"w3"'}, 304),  # weak comparison
        ("GET", {"If-None-Match": 'W/"w2"'}, 200),
        ("GET", {"If-Match": 'W/"w3"'}, 412),  # strong comparison: weak tags never match
        ("GET", {"If-Match": '"w3"'}, 412),
        ("GET", {"If-Match": "*"}, 200),
        ("PUT", {"If-Match": 'W/"w3"'}, 412),
        ("PUT", {"If-Match": '"w3"'}, 412),
        ("PUT", {"If-None-Match": '"w3"'}, 412),
        ("PUT", {"If-None-Match": 'W/"w2"'}, 200),
        ("PUT", {"If-Match": "*"}, 200),
    ],
)
def test_weak_etag(api, fmt, method, headers, status):
    response = request(api, method, "/weak/1", {**ACCEPT[fmt], **headers})
    assert response.status_code == status, response.body[:300]
    assert api.calls[method.lower()] == (1 if status == 200 else 0)
    if status == 412:
        assert unchanged(api)
    else:
        version = 4 if method == "PUT" else 3
        assert response.headers["ETag"] == f'W/"w{version}"'  # shared by JSON and XML


# -- resources without an etag ------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_auto_etag(api, fmt):
    other = "xml" if fmt == "json" else "json"
    first = request(api, "GET", "/plain/1", ACCEPT[fmt])
    etag = first.headers["ETag"]
    assert is_strong(etag)
    assert request(api, "GET", "/plain/1", ACCEPT[fmt]).headers["ETag"] == etag  # stable
    assert request(api, "GET", "/plain/1", ACCEPT[other]).headers["ETag"] != etag
    assert request(api, "HEAD", "/plain/1", ACCEPT[fmt]).headers["ETag"] == etag
    for method in ("GET", "HEAD"):
        response = request(api, method, "/plain/1", {**ACCEPT[fmt], "If-None-Match": etag})
        assert response.status_code == 304
        assert response.body == b""
    crossed = request(api, "GET", "/plain/1", {**ACCEPT[other], "If-None-Match": etag})
    assert crossed.status_code == 200
    assert request(api, "PUT", "/plain/1").status_code == 200
    changed = request(api, "GET", "/plain/1", {**ACCEPT[fmt], "If-None-Match": etag})
    assert changed.status_code == 200
    assert is_strong(changed.headers["ETag"]) and changed.headers["ETag"] != etag
    assert title_of(changed, fmt) == "final"


@pytest.mark.parametrize(
    ("method", "headers", "status"),
    [
        ("PUT", {"If-Match": '"anything"'}, 412),
        ("PUT", {"If-Match": "*"}, 200),
        ("PUT", {}, 200),
        ("PUT", {"If-Unmodified-Since": BEFORE}, 200),  # no date: ignored
        ("GET", {"If-Match": '"anything"'}, 412),
        ("GET", {"If-Match": "*"}, 200),
    ],
)
def test_no_validators(api, method, headers, status):
    response = request(api, method, "/plain/1", headers)
    assert response.status_code == status, response.body[:300]
    if status == 412:
        assert_problem(response, 412)
        assert unchanged(api)
    if method == "PUT":
        assert api.calls["put"] == (1 if status == 200 else 0)
        assert "ETag" not in response.headers  # nothing to say about the new state


@pytest.mark.parametrize(
    ("method", "headers", "status"),
    [
        ("GET", {"If-Modified-Since": LM}, 304),
        ("GET", {"If-Modified-Since": BEFORE}, 200),
        ("GET", {"If-Unmodified-Since": BEFORE}, 412),
        ("PUT", {"If-Unmodified-Since": BEFORE}, 412),
        ("PUT", {"If-Unmodified-Since": LM}, 200),
        ("PUT", {"If-Match": '"v3"'}, 412),  # no tag: nothing matches strongly
        ("PUT", {"If-Match": "*"}, 200),  # it exists: it has a modification date
        ("PUT", {"If-Modified-Since": AFTER}, 200),
    ],
)
def test_last_modified_only(api, method, headers, status):
    response = request(api, method, "/stamped/1", headers)
    assert response.status_code == status, response.body[:300]
    if method == "PUT":
        assert api.calls["put"] == (1 if status == 200 else 0)
        if status == 200:
            assert response.headers["Last-Modified"] == NEXT_LM
            assert "Cache-Control" not in response.headers
        else:
            assert unchanged(api)
    elif status == 304:
        assert response.headers["Last-Modified"] == LM
        assert response.headers["Cache-Control"] == "max-age=5"
        assert is_strong(response.headers["ETag"])
        assert response.body == b""


@pytest.mark.parametrize(
    ("method", "path", "headers", "status"),
    [
        ("GET", "/strict/9", {}, 404),
        ("GET", "/strict/9", {"If-None-Match": "*"}, 404),
        ("PUT", "/strict/9", {"If-Match": "*"}, 404),
        ("PUT", "/strict/9", {"If-None-Match": "*"}, 404),
        ("GET", "/strict/1", {"If-None-Match": '"v3"'}, 304),
        ("PUT", "/strict/1", {"If-Match": '"v2"'}, 412),
        ("PUT", "/strict/1", {"If-Match": '"v3"'}, 200),
    ],
)
def test_etag_raising_not_found(api, method, path, headers, status):
    response = request(api, method, path, headers)
    assert response.status_code == status, response.body[:300]
    if status >= 400:
        assert_problem(response, status)
    assert api.calls[method.lower()] == (1 if status == 200 else 0)
    assert 9 not in api.store.docs


@pytest.mark.parametrize("fmt", FORMATS)
def test_sent_etag_is_valid_and_round_trips(api, fmt):
    """RFC 9110 8.8.3: etagc excludes SP; whatever the server sends, an echo of it must match."""
    etag = request(api, "GET", "/spaced/1", ACCEPT[fmt]).headers["ETag"]
    cached = request(api, "GET", "/spaced/1", {**ACCEPT[fmt], "If-None-Match": etag})
    write = request(api, "PUT", "/spaced/1", {"If-Match": etag})
    assert (cached.status_code, write.status_code) == (304, 200), etag
    assert is_strong(etag), etag


# -- 428 ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE"])
@pytest.mark.parametrize(
    ("headers", "status"),
    [
        pytest.param({}, 428, id="unconditional"),
        pytest.param({"If-None-Match": '"v2"'}, 428, id="if-none-match-is-not-enough"),
        pytest.param({"If-Modified-Since": BEFORE}, 428, id="if-modified-since-is-not-enough"),
        # RFC 9110 13.1.4: an invalid date is ignored, so the request is unconditional
        pytest.param({"If-Unmodified-Since": "yesterday"}, 428, id="ius-invalid"),
        pytest.param({"If-Match": '"v3"'}, None, id="if-match"),
        pytest.param({"If-Match": "*"}, None, id="if-match-star"),
        pytest.param({"If-Unmodified-Since": LM}, None, id="ius"),
        pytest.param({"If-Match": '"v2"'}, 412, id="if-match-stale"),
        pytest.param({"If-Unmodified-Since": BEFORE}, 412, id="ius-stale"),
    ],
)
def test_require_preconditions(api, method, headers, status):
    response = request(api, method, "/guarded/1", headers)
    if status is None:
        assert response.status_code == (204 if method == "DELETE" else 200), response.body[:300]
        assert api.calls[method.lower()] == 1
        return
    problem = assert_problem(response, status)
    assert api.calls[method.lower()] == 0
    assert unchanged(api)
    if status == 428:
        assert "If-Match" in problem["detail"]


@pytest.mark.parametrize("method", ["GET", "HEAD", "POST"])
def test_require_preconditions_leaves_other_methods_alone(api, method):
    response = request(api, method, "/guarded/1")
    assert response.status_code == 200
    assert api.calls[method.lower() if method != "HEAD" else "get"] == 1


# -- HEAD, Cache-Control, writes, memo -----------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("path", ["/docs/1", "/stamped/1", "/weak/1", "/plain/1", "/strict/1"])
def test_head_has_the_headers_of_get(api, fmt, path):
    names = ("Content-Type", "Content-Length", "ETag", "Last-Modified", "Cache-Control", "Vary")
    get = request(api, "GET", path, ACCEPT[fmt])
    head = request(api, "HEAD", path, ACCEPT[fmt])
    assert get.status_code == head.status_code == 200
    assert {n: head.headers.get(n) for n in names} == {n: get.headers.get(n) for n in names}
    assert head.headers["Content-Length"] == str(len(get.body)) != "0"
    assert "ETag" in head.headers
    assert head.body == b""


@pytest.mark.parametrize(
    ("method", "path", "headers", "status", "cached"),
    [
        ("GET", "/docs/1", {}, 200, True),
        ("HEAD", "/docs/1", {}, 200, True),
        ("GET", "/docs/1", {"If-None-Match": '"v3"'}, 304, True),
        ("PUT", "/docs/1", {}, 200, False),
        ("PATCH", "/docs/1", {}, 200, False),
        ("POST", "/docs/1", {}, 200, False),
        ("DELETE", "/docs/1", {}, 204, False),
        ("GET", "/docs/9", {}, 404, False),
        ("GET", "/docs/1", {"If-Match": '"v2"'}, 412, False),
        ("PUT", "/docs/1", {"If-Match": '"v2"'}, 412, False),
        ("PUT", "/guarded/1", {}, 428, False),
        ("GET", "/docs/1", {"Accept": "image/png"}, 406, False),
    ],
)
def test_cache_control_only_on_successful_reads(api, method, path, headers, status, cached):
    response = request(api, method, path, headers)
    assert response.status_code == status, response.body[:300]
    assert response.headers.get("Cache-Control") == (CACHE if cached else None)


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("method", ["PUT", "PATCH"])
def test_write_sends_the_new_validators(api, fmt, method):
    response = request(api, method, "/docs/1", {**ACCEPT[fmt], "If-Match": tag(3, fmt)})
    assert response.status_code == 200
    assert response.headers["ETag"] == tag(4, fmt)
    assert response.headers["Last-Modified"] == NEXT_LM
    assert title_of(response, fmt) == "final"
    assert api.store.loads == 2  # one before the handler, one for the new validators
    stale = request(api, "PUT", "/docs/1", {"If-Match": tag(3, fmt)}, title="lost")
    assert_problem(stale, 412)
    assert api.store.docs[1]["title"] == "final" and api.store.docs[1]["version"] == 4
    fresh = request(api, "GET", "/docs/1", {**ACCEPT[fmt], "If-None-Match": tag(4, fmt)})
    assert fresh.status_code == 304
    old = request(api, "GET", "/docs/1", {**ACCEPT[fmt], "If-None-Match": tag(3, fmt)})
    assert old.status_code == 200
    assert old.headers["ETag"] == tag(4, fmt)


@pytest.mark.parametrize(
    ("method", "headers", "status", "loads"),
    [
        ("GET", {}, 200, 1),
        ("HEAD", {}, 200, 1),
        ("GET", {"If-None-Match": '"v3"'}, 304, 1),
        ("GET", {"If-Match": '"v2"'}, 412, 1),
        ("POST", {}, 200, 1),
        ("DELETE", {"If-Match": '"v3"'}, 204, 1),
        ("PUT", {"If-Match": '"v2"'}, 412, 1),
    ],
)
def test_validators_and_handler_share_one_load(api, method, headers, status, loads):
    response = request(api, method, "/docs/1", headers)
    assert response.status_code == status
    assert api.store.loads == loads


# -- dates and malformed headers ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "header", "value", "status"),
    [
        # RFC 9110 5.6.7: a recipient MUST accept all three HTTP-date formats
        ("GET", "If-Modified-Since", "Tuesday, 02-Jan-24 12:00:00 GMT", 304),
        ("GET", "If-Modified-Since", "Tue Jan  2 12:00:00 2024", 304),
        ("GET", "If-Modified-Since", "Tue Jan  2 11:59:59 2024", 200),
        ("PUT", "If-Unmodified-Since", "Tuesday, 02-Jan-24 11:59:59 GMT", 412),
        ("PUT", "If-Unmodified-Since", "Tue Jan  2 11:59:59 2024", 412),
        ("PUT", "If-Unmodified-Since", "Tue Jan  2 12:00:00 2024", 200),
    ],
)
def test_obsolete_date_formats(api, method, header, value, status):
    response = request(api, method, "/docs/1", {header: value})
    assert response.status_code == status, response.body[:300]
    if status == 412:
        assert unchanged(api)



NOT_HTTP_DATES = [
    # each names a moment a lenient parser finds; compared, it would give 304 or 412
    pytest.param("{d}, Tue, 03 Jan 2024 12:00:00 GMT", id="two-dates"),
    pytest.param("{d},", id="trailing-comma"),
    pytest.param("{d}; length=1234", id="netscape-length"),
    pytest.param("{z} +0000", id="numeric-zone"),
    pytest.param("{z} UTC", id="utc"),
    pytest.param("{z} EST", id="other-zone"),
    pytest.param("{z}", id="no-zone"),
    pytest.param("{z} gmt", id="lower-case-gmt"),
    pytest.param("{lower}", id="lower-case-names"),
    pytest.param("{no_day}", id="no-day-name"),
    pytest.param("{two_digit_year}", id="imf-with-two-digit-year"),
    pytest.param("{one_digit_day}", id="imf-with-one-digit-day"),
    pytest.param("{iso}", id="iso-8601"),
    pytest.param("{d} {d}", id="doubled"),
    pytest.param("{arabic_digits}", id="non-ascii-digits"),
]


def not_a_date(template: str, moment: str) -> str:
    """``template`` filled with forms of ``moment``, an IMF-fixdate on 2 Jan 2024."""
    clock = moment[17:25]
    return template.format(
        d=moment,
        z=moment.removesuffix(" GMT"),
        lower=moment.lower(),
        no_day=moment[5:],
        two_digit_year=moment.replace(" 2024 ", " 24 "),
        one_digit_day=moment.replace(" 02 ", " 2 "),
        iso=f"2024-01-02T{clock}Z",
        arabic_digits=moment.replace("2024", "\u0662\u0660\u0662\u0664"),
    )


@pytest.mark.parametrize("template", NOT_HTTP_DATES)
def test_if_modified_since_that_is_not_an_http_date_is_ignored(api, template):
    assert request(api, "GET", "/docs/1", {"If-Modified-Since": LM}).status_code == 304
    response = request(api, "GET", "/docs/1", {"If-Modified-Since": not_a_date(template, LM)})
    assert response.status_code == 200, response.body[:300]


@pytest.mark.parametrize("template", NOT_HTTP_DATES)
def test_if_unmodified_since_that_is_not_an_http_date_is_ignored(api, template):
    value = not_a_date(template, BEFORE)
    assert request(api, "GET", "/docs/1", {"If-Unmodified-Since": BEFORE}).status_code == 412
    assert request(api, "GET", "/docs/1", {"If-Unmodified-Since": value}).status_code == 200
    response = request(api, "PUT", "/docs/1", {"If-Unmodified-Since": value})
    assert response.status_code == 200, response.body[:300]
    assert api.calls["put"] == 1


@pytest.mark.parametrize(
    ("value", "status"),
    [
        ("Tue, 02 Jan 2024 12:00:00 GMT", 304),
        (" Tue, 02 Jan 2024 12:00:00 GMT\t", 304),  # optional whitespace around a field value
        ("Mon, 01 Jan 2024 23:59:60 GMT", 200),  # a leap second is a second of its minute
        ("Tue, 02 Jan 2024 12:00:61 GMT", 200),
        ("Tue, 02 Jan 2024 24:00:00 GMT", 200),
        ("Tue, 30 Feb 2024 12:00:00 GMT", 200),
        ("Tue, 02 Jan 0000 12:00:00 GMT", 200),
        ("Tue Jan 02 12:00:00 2024", 304),  # asctime's day may be two digits
        ("Tue Jan 2 12:00:00 2024", 200),  # ...or a space and one digit, never one alone
        ("Tue, 02-Jan-24 12:00:00 GMT", 200),  # RFC 850 dates name the whole day
        ("Tuesday, 02 Jan 2024 12:00:00 GMT", 200),
    ],
)
def test_http_date_edges(api, value, status):
    response = request(api, "GET", "/docs/1", {"If-Modified-Since": value})
    assert response.status_code == status, response.body[:300]


def test_rfc_850_years_are_at_most_fifty_years_ahead(api):
    this_year = dt.datetime.now(dt.UTC).year
    ahead = (this_year + 51) % 100  # the previous century: long before the document changed
    value = f"Tuesday, 02-Jan-{ahead:02d} 12:00:00 GMT"
    assert request(api, "GET", "/docs/1", {"If-Modified-Since": value}).status_code == 200
    assert request(api, "PUT", "/docs/1", {"If-Unmodified-Since": value}).status_code == 412

MALFORMED = [
    ("If-Match", "garbage", 412),
    ("If-Match", "", 412),
    ("If-Match", '"unterminated', 412),
    ("If-Match", "W/", 412),
    ("If-None-Match", '"unterminated', 200),
    ("If-None-Match", "", 200),
    ("If-None-Match", "garbage", 200),
    ("If-None-Match", ",,,", 200),
    ("If-Modified-Since", "32 Foo 99999", 200),
    ("If-Modified-Since", "", 200),
    ("If-Modified-Since", "Tue, 99 Jan 2024 12:00:00 GMT", 200),
    ("If-Unmodified-Since", "32 Foo 99999", 200),
    ("If-Unmodified-Since", "", 200),
    ("If-Unmodified-Since", "\x7f\x00", 200),
    ("If-Modified-Since", "Tue, 02 Jan 99999999999 12:00:00 GMT", 200),
    ("If-Unmodified-Since", "Tue, 02 Jan 99999999999 12:00:00 GMT", 200),
]


@pytest.mark.parametrize("method", ["GET", "PUT"])
@pytest.mark.parametrize(
    ("header", "value", "status"),
    [pytest.param(h, v, s, id=f"{h}={v!r}") for h, v, s in MALFORMED],
)
def test_malformed_headers_never_fail_the_server(api, method, header, value, status):
    response = request(api, method, "/docs/1", {header: value})
    assert response.status_code == status, response.body[:300]
    if status == 412:
        assert_problem(response, 412)
        assert unchanged(api)
        assert api.calls[method.lower()] == 0


@pytest.mark.parametrize("path", ["/docs/1", "/plain/1", "/weak/1", "/stamped/1"])
@pytest.mark.parametrize(
    "headers",
    [
        {"If-None-Match": '*, "v3"'},
        {"If-Match": '"v3" junk, "v3"'},
        {"If-None-Match": 'W/"' + "x" * 10_000},
        {"If-Match": "\u00e9t\u00e9", "If-None-Match": "\u00ff"},
        {"If-Modified-Since": "Tue, 02 Jan 2024 12:00:00 +9999"},
        {"If-Unmodified-Since": "Tue, 02 Jan 10000 12:00:00 GMT"},
    ],
)
def test_odd_headers_never_give_500(api, path, headers):
    for method in ("GET", "HEAD", "PUT"):
        assert request(api, method, path, headers).status_code < 500


def test_a_write_compares_if_match_with_the_tag_its_get_gives_now() -> None:
    """A resource without ``etag`` still answers ``GET`` with a strong tag of its body; a
    write naming that tag in ``If-Match`` runs, one naming an older tag is 412, and
    ``If-None-Match: *`` creates only where ``GET`` finds nothing."""
    store: dict[str, Any] = {}
    site = Site(title="Untagged", compression=True)

    class Doc(Schema):
        title = fields.Str(required=True)

    @site.route("/docs/{name}")
    class Untagged(Resource):
        schema = Doc

        def get(self, request: Any, name: str) -> Any:
            if name not in store:
                raise errors.NotFound("no such doc")
            return store[name]

        def put(self, request: Any, name: str) -> Any:
            store[name] = request.validated
            return store[name]

    client = Client(site)
    made = client.put("/docs/a", json={"title": "one"}, headers={"If-None-Match": "*"})
    assert made.status_code == 200 and store["a"] == {"title": "one"}
    again = client.put("/docs/a", json={"title": "two"}, headers={"If-None-Match": "*"})
    assert again.status_code == 412 and store["a"] == {"title": "one"}
    first = client.get("/docs/a").headers["ETag"]
    assert client.put("/docs/a", json={"title": "two"},
                      headers={"If-Match": first}).status_code == 200
    stale = client.put("/docs/a", json={"title": "three"}, headers={"If-Match": first})
    assert stale.status_code == 412 and store["a"] == {"title": "two"}
    xml = client.get("/docs/a", headers={"Accept": "application/xml"}).headers["ETag"]
    as_xml = client.put("/docs/a", json={"title": "x"},
                        headers={"If-Match": xml, "Accept": "application/xml"})
    assert as_xml.status_code == 200
    missing = client.put("/docs/b", json={"title": "b"}, headers={"If-Match": first})
    assert missing.status_code == 412 and "b" not in store
