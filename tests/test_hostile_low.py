"""Cheap attacks that used to cost a 500 or a lot of memory: each answer is now a 4xx or a 200.

Huge integers and floats, deep and wide XML, codecs that are no text encoding, ``?limit=0``
passed to a `Page`, and JSON nested deeper than a renderer can write back.
"""

from __future__ import annotations

import json
import sys
import tracemalloc
import xml.etree.ElementTree as ET
from typing import Any

import pytest
from marshmallow import Schema, fields

from resourcekit import Page, Resource, Site
from resourcekit.media import json as json_media
from resourcekit.media import xml as xml_media
from resourcekit.testing import Client

XML = {"Content-Type": "application/xml"}
JSON = {"Content-Type": "application/json"}
XSI_NIL = "{http://www.w3.org/2001/XMLSchema-instance}nil"


class NumberSchema(Schema):
    n = fields.Int()
    f = fields.Float()


def _site() -> Site:
    site = Site()

    @site.route("/numbers")
    class Numbers(Resource):
        schema = NumberSchema

        def put(self, request):
            return request.validated

    @site.route("/echo")
    class Echo(Resource):
        def put(self, request):
            return request.validated

    @site.route("/floats")
    class Floats(Resource):
        def get(self, request):
            return {"inf": float("inf"), "ninf": float("-inf"), "nan": float("nan"),
                    "huge": 1e308 * 10, "fine": 1.5, "list": [float("inf"), 2.5]}

    @site.route("/page")
    class Pages(Resource):
        def get(self, request):
            limit = int(request.params.get("limit", "10"))
            items = list(range(100))
            if "cursor" in request.params:
                return Page(items[:limit], limit=limit, next_cursor="abc")
            return Page(items[:limit], limit=limit, offset=0, total=len(items))

    return site


CLIENT = Client(_site())


def _problem(response: Any, status: int, detail: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/problem+json")
    problem = response.json
    assert problem["status"] == status
    if detail is not None:
        assert detail in problem["detail"]
    return problem


# -- 1. integers beyond Python's digit limit ----------------------------------------------------


def test_xml_integer_beyond_digit_limit_is_400_like_json():
    digits = "1" * (sys.get_int_max_str_digits() + 700)
    as_json = CLIENT.put("/numbers", data=f'{{"n": {digits}}}', headers=JSON)
    as_xml = CLIENT.put("/numbers", data=f"<number><n>{digits}</n></number>", headers=XML)
    _problem(as_json, 400)
    _problem(as_xml, 400, "digits")
    negative = CLIENT.put("/numbers", data=f"<number><n>-{digits}</n></number>", headers=XML)
    _problem(negative, 400, "digits")


def test_xml_integer_within_digit_limit_is_read():
    digits = "9" * 300
    response = CLIENT.put("/numbers", data=f"<number><n>{digits}</n></number>", headers=XML)
    assert response.status_code == 200, response.text
    assert response.json == {"n": int(digits)}


# -- 2. floats XML cannot spell -----------------------------------------------------------------


def test_non_finite_floats_render_as_nil_in_xml_as_null_in_json():
    as_json = CLIENT.get("/floats")
    assert as_json.status_code == 200
    assert as_json.json == {"inf": None, "ninf": None, "nan": None, "huge": None, "fine": 1.5,
                            "list": [None, 2.5]}
    as_xml = CLIENT.get("/floats", headers={"Accept": "application/xml"})
    assert as_xml.status_code == 200, as_xml.text
    root = ET.fromstring(as_xml.body)
    for name in ("inf", "ninf", "nan", "huge"):
        element = root.find(name)
        assert element is not None
        assert element.get(XSI_NIL) == "true"
        assert not element.text
    assert root.findtext("fine") == "1.5"
    assert [item.get(XSI_NIL) for item in root.find("list")] == ["true", None]


def test_huge_float_in_a_body_echoed_as_xml_is_not_500():
    response = CLIENT.put("/echo", data='{"x": 1e400, "y": [-1e400]}',
                          headers={**JSON, "Accept": "application/xml"})
    assert response.status_code == 200, response.text
    root = ET.fromstring(response.body)
    assert root.find("x").get(XSI_NIL) == "true"
    assert root.find("y")[0].get(XSI_NIL) == "true"


def test_huge_float_for_a_float_field_is_422_in_both_formats():
    as_json = CLIENT.put("/numbers", data='{"f": 1e400}', headers=JSON)
    as_xml = CLIENT.put("/numbers", data="<number><f>1e400</f></number>", headers=XML)
    assert as_json.status_code == as_xml.status_code == 422
    assert as_json.json["errors"] == as_xml.json["errors"]


# -- 3. deep and wide XML, refused while it is parsed -------------------------------------------


def _peak_memory(body: bytes) -> tuple[Any, int]:
    tracemalloc.start()
    try:
        response = CLIENT.put("/echo", data=body, headers=XML)
        return response, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_deep_xml_is_refused_before_the_rest_is_parsed():
    # Unclosed: a parser reading to the end would report it malformed instead.
    body = b"<a>" * (900 * 1024 // 3)
    response, peak = _peak_memory(body)
    _problem(response, 400, f"nested deeper than {xml_media.MAX_DEPTH} levels")
    assert peak < 16 * 1024 * 1024


def test_wide_xml_is_refused_before_the_rest_is_parsed():
    body = b"<a>" + b"<item />" * (1000 * 1024 // 8) + b"</a>"
    response, peak = _peak_memory(body)
    _problem(response, 400, f"more than {xml_media.MAX_ELEMENTS} elements")
    assert peak < 16 * 1024 * 1024


def test_wide_xml_is_refused_even_when_unclosed():
    body = b"<a>" + b"<item />" * (xml_media.MAX_ELEMENTS + 10)
    _problem(CLIENT.put("/echo", data=body, headers=XML), 400, "elements")


def test_xml_at_the_limits_is_read():
    deep = b"<a>" * xml_media.MAX_DEPTH + b"x" + b"</a>" * xml_media.MAX_DEPTH
    assert CLIENT.put("/echo", data=deep, headers=XML).status_code == 200
    wide = b"<a>" + b"<item>1</item>" * (xml_media.MAX_ELEMENTS - 1) + b"</a>"
    response = CLIENT.put("/echo", data=wide, headers=XML)
    assert response.status_code == 200, response.text
    assert response.json == ["1"] * (xml_media.MAX_ELEMENTS - 1)


def test_xml_limits_are_the_handlers_to_change():
    handler = xml_media.XMLHandler()
    handler.max_elements = 3
    assert handler.parse(b"<a><item>1</item><item>2</item></a>", None, None) == ["1", "2"]
    with pytest.raises(Exception, match="more than 3 elements"):
        handler.parse(b"<a><item>1</item><item>2</item><item>3</item></a>", None, None)


# -- 4. charsets that are no text encoding ------------------------------------------------------


@pytest.mark.parametrize(
    "charset", ["unicode_escape", "utf-7", "idna", "raw_unicode_escape", "punycode", "rot13",
                "base64", "utf-8-sig", "klingon"],
)
def test_xml_charset_that_is_no_text_encoding_is_415(charset):
    response = CLIENT.put("/echo", data=b"<a>x</a>",
                          headers={"Content-Type": f"application/xml; charset={charset}"})
    _problem(response, 415, "charset")


@pytest.mark.parametrize(
    ("charset", "encoding"),
    [("utf-8", "utf-8"), ("UTF-8", "utf-8"), ("utf-16", "utf-16"), ("UTF-16LE", "utf-16-le"),
     ("utf-16be", "utf-16-be"), ("utf-32", "utf-32"), ("us-ascii", "ascii"),
     ("ISO-8859-1", "latin-1"), ("iso-8859-15", "iso8859-15"), ("windows-1252", "cp1252"),
     ("windows-1251", "cp1251")],
)
def test_xml_charset_of_a_text_encoding_is_read(charset, encoding):
    body = "<a><item>caf</item><item>x</item></a>".encode(encoding)
    response = CLIENT.put("/echo", data=body,
                          headers={"Content-Type": f"application/xml; charset={charset}"})
    assert response.status_code == 200, response.text
    assert response.json == ["caf", "x"]


# -- 5. Page(limit=0) ---------------------------------------------------------------------------


def test_page_with_limit_zero_is_an_empty_page_linking_only_first():
    response = CLIENT.get("/page?limit=0")
    assert response.status_code == 200, response.text
    assert response.json == []
    assert response.headers["Link"] == (
        '<http://localhost/page?limit=0&offset=0>; rel="first"'
    )


def test_page_by_cursor_with_limit_zero_links_only_first():
    response = CLIENT.get("/page?limit=0&cursor=x")
    assert response.status_code == 200, response.text
    assert response.headers["Link"] == '<http://localhost/page?limit=0>; rel="first"'


def test_page_with_negative_limit_or_offset_is_a_value_error():
    with pytest.raises(ValueError, match="limit >= 0"):
        Page([], limit=-1)
    with pytest.raises(ValueError, match="offset >= 0"):
        Page([], limit=5, offset=-5)


# -- 6. input nested deeper than a renderer can write back ----------------------------------------


@pytest.mark.parametrize("accept", ["application/json", "application/xml"])
@pytest.mark.parametrize(
    "body",
    [
        '{"a":' * 1000 + "1" + "}" * 1000,
        "[" * 1000 + "]" * 1000,
        '{"a":' * 300 + "1" + "}" * 300,  # orjson reads it, and writes no deeper than 254
        "[" * (json_media.MAX_DEPTH + 1) + "]" * (json_media.MAX_DEPTH + 1),
    ],
    ids=["objects-1000", "arrays-1000", "objects-300", "arrays-limit+1"],
)
def test_json_deeper_than_the_limit_is_400(body, accept):
    response = CLIENT.put("/echo", data=body, headers={**JSON, "Accept": accept})
    assert response.status_code == 400, response.text
    assert response.headers["Content-Type"].startswith(accept.replace("/", "/problem+"))


@pytest.mark.parametrize("accept", ["application/json", "application/xml"])
def test_json_at_the_limit_is_echoed_in_either_format(accept):
    depth = json_media.MAX_DEPTH
    document: Any = 1
    for _ in range(depth):
        document = {"a": document}
    response = CLIENT.put("/echo", data=json.dumps(document), headers={**JSON, "Accept": accept})
    assert response.status_code == 200, response.text
    if accept == "application/json":
        assert response.json == document


def test_many_shallow_containers_are_not_deep():
    document = [{"a": [1, {"b": []}]} for _ in range(2000)]
    response = CLIENT.put("/echo", data=json.dumps(document), headers=JSON)
    assert response.status_code == 200
    assert response.json == document


def test_xml_problem_with_a_non_finite_float_is_rendered():
    body = xml_media.XMLHandler().render_problem({"status": 400, "limit": float("inf")})
    assert ET.fromstring(body).find("{urn:ietf:rfc:7807}limit").get(XSI_NIL) == "true"
