"""No input makes the site answer 5xx or hang: properties over routing, negotiation and parsers.

Hypothesis generates paths, headers and bodies; whatever arrives, the answer is a success or a
4xx problem, quickly. Oversized and deeply nested input is refused with a 4xx.
"""

from __future__ import annotations

import http.client
import json
import time
from typing import Any
from urllib.parse import quote

import pytest
from helpers import notes_site
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from marshmallow import Schema, fields

from resourcekit import Resource
from resourcekit.testing import Client

SETTINGS = settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


class ReadingSchema(Schema):
    at = fields.AwareDateTime(required=True)
    value = fields.Float(required=True)


class DeviceSchema(Schema):
    id = fields.Int(dump_only=True)
    name = fields.Str(required=True)
    tags = fields.List(fields.Str(), load_default=list)
    readings = fields.List(fields.Nested(ReadingSchema), load_default=list)
    extra = fields.Dict(keys=fields.Str(), values=fields.Str(), load_default=dict)


def _site() -> Any:
    site = notes_site()

    @site.route("/devices/{device_id:int}/{rest:path}")
    class Devices(Resource):
        schema = DeviceSchema

        def get(self, request, device_id, rest):
            return {"name": rest, "tags": [str(device_id)]}

        def put(self, request, device_id, rest):
            return request.validated

    return site


CLIENT = Client(_site())
SEGMENT_CHARACTERS = st.characters(blacklist_categories=["Cs"], blacklist_characters="/?#")
HEADER_TEXT = st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFF), max_size=200)


def _sane(response: Any, elapsed: float, method: str) -> None:
    """A 4xx problem or a success, quickly; 501 only for a method no server knows."""
    assert response.status_code < 500 or (response.status_code, method) == (501, "BREW"), (
        response.text
    )
    assert elapsed < 2.0
    if response.status_code >= 400:
        assert response.headers["Content-Type"].startswith("application/problem+")


def _timed(method: str, path: str, **kwargs: Any) -> None:
    started = time.monotonic()
    response = CLIENT.request(method, path, **kwargs)
    _sane(response, time.monotonic() - started, method)


@SETTINGS
@given(path=st.text(max_size=300))
def test_any_path(path):
    _timed("GET", "/" + path.lstrip("/"))


@SETTINGS
@given(segments=st.lists(st.text(SEGMENT_CHARACTERS, max_size=30)))
def test_any_segments_with_encoded_characters(segments):
    _timed("GET", "/devices/1/" + "/".join(quote(s, safe="") for s in segments))


@SETTINGS
@given(method=st.sampled_from(["GET", "HEAD", "PUT", "OPTIONS", "DELETE", "PATCH", "BREW"]),
       accept=HEADER_TEXT)
def test_any_accept_header(method, accept):
    _timed(method, "/devices/7/a/b", headers={"Accept": accept})


@SETTINGS
@given(content_type=HEADER_TEXT, body=st.binary(max_size=500))
def test_any_content_type_and_body(content_type, body):
    _timed("PUT", "/devices/7/x", data=body, headers={"Content-Type": content_type})


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.floats(allow_nan=False, allow_infinity=False)
    | st.integers() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=10), inner,
                                                                 max_size=5),
    max_leaves=30,
)


@SETTINGS
@given(document=JSON_VALUES)
def test_any_json_document(document):
    _timed("PUT", "/devices/7/x", data=json.dumps(document),
           headers={"Content-Type": "application/json"})


@SETTINGS
@given(body=st.binary(max_size=500))
def test_any_json_bytes(body):
    _timed("PUT", "/devices/7/x", data=body, headers={"Content-Type": "application/json"})


XML_NAMES = st.sampled_from(["device", "name", "tags", "item", "readings", "at", "value",
                             "extra", "entry", "x"])


@st.composite
def xml_documents(draw: st.DrawFn, depth: int = 0) -> str:
    name = draw(XML_NAMES)
    attrs = draw(st.sampled_from(["", ' xsi:nil="true"', ' key="k"', ' xmlns="urn:x"']))
    if depth > 4 or draw(st.booleans()):
        text = draw(st.text(st.characters(blacklist_categories=["Cs"], blacklist_characters="<&"),
                            max_size=20))
        return f"<{name}{attrs}>{text}</{name}>"
    children = draw(st.lists(xml_documents(depth + 1), max_size=4))
    return f"<{name}{attrs}>{''.join(children)}</{name}>"


@SETTINGS
@given(document=xml_documents())
def test_any_xml_document(document):
    body = f'<device xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">{document}</device>'
    _timed("PUT", "/devices/7/x", data=body.encode(), headers={"Content-Type": "application/xml"})


@SETTINGS
@given(body=st.binary(max_size=500))
def test_any_xml_bytes(body):
    _timed("PUT", "/devices/7/x", data=body, headers={"Content-Type": "application/xml"})


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/json", b"[" * 100_000 + b"]" * 100_000),
        ("application/json", b'{"a":' * 50_000 + b"1" + b"}" * 50_000),
        ("application/xml", b"<a>" * 50_000 + b"</a>" * 50_000),
        ("application/xml", b"<device>" + b"<extra>" * 40 + b"</extra>" * 40 + b"</device>"),
    ],
)
def test_deep_nesting_is_refused(content_type, body):
    response = CLIENT.put("/devices/7/x", data=body, headers={"Content-Type": content_type})
    assert response.status_code in (400, 413)
    assert response.json["status"] == response.status_code


def test_oversized_body_is_refused():
    body = b'{"name": "' + b"x" * (2 * 1024 * 1024) + b'"}'
    response = CLIENT.put("/devices/7/x", data=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 413


def test_oversized_headers_are_refused_over_http(live_server):
    with live_server(_site()) as base:
        host, port = base.removeprefix("http://").split(":")
        connection = http.client.HTTPConnection(host, int(port), timeout=10)
        try:
            connection.request("GET", "/devices/1/a", headers={"X-Big": "x" * 300_000})
            response = connection.getresponse()
            response.read()
            assert 400 <= response.status < 500
        finally:
            connection.close()


def test_huge_path_is_refused_over_http(live_server):
    with live_server(_site()) as base:
        host, port = base.removeprefix("http://").split(":")
        connection = http.client.HTTPConnection(host, int(port), timeout=10)
        try:
            connection.request("GET", "/devices/1/" + "a/" * 150_000)
            response = connection.getresponse()
            response.read()
            assert 400 <= response.status < 500
        finally:
            connection.close()
