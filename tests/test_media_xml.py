"""XMLHandler: the XML mapping must carry exactly what JSON carries, and refuse hostile bodies."""

from __future__ import annotations

import datetime as dt
import time
import xml.etree.ElementTree as ET
from typing import Any

import pytest
from marshmallow import Schema, ValidationError, fields

from resourcekit import errors
from resourcekit.media.json import JSONHandler
from resourcekit.media.xml import MAX_DEPTH, XMLHandler, xml_name, xml_plural

XSI = "http://www.w3.org/2001/XMLSchema-instance"
PROBLEM = "urn:ietf:rfc:7807"
DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>\n'

xml = XMLHandler()


class ReadingSchema(Schema):
    sensor = fields.Str()
    value = fields.Float(allow_none=True)


class StationSchema(Schema):
    name = fields.Str()
    code = fields.Str(allow_none=True)
    elevation = fields.Int()
    temperature = fields.Float()
    active = fields.Bool()
    updated = fields.DateTime()
    tags = fields.List(fields.Str())
    location = fields.Nested(ReadingSchema, allow_none=True)
    readings = fields.List(fields.Nested(ReadingSchema))
    history = fields.Nested(ReadingSchema, many=True)
    labels = fields.Dict(keys=fields.Str(), values=fields.Str())
    counts = fields.Dict(keys=fields.Str(), values=fields.Int())
    first_sensor = fields.Pluck(ReadingSchema, "sensor", data_key="first-sensor")
    sensors = fields.Pluck(ReadingSchema, "sensor", many=True)
    position = fields.Tuple((fields.Float(), fields.Float()))


class WeatherReportSchema(Schema):
    summary = fields.Str()


class BoxSchema(Schema):
    pass


class CitySchema(Schema):
    pass


class DaySchema(Schema):
    pass


class BranchSchema(Schema):
    pass


class HTTPLogSchema(Schema):
    pass


class PersonSchema(Schema):
    class Meta:
        xml_name = "person"
        xml_plural = "people"


class SensorSchema(Schema):
    class Meta:
        xml_name = "probe"


class BadNameSchema(Schema):
    class Meta:
        xml_name = "two words"


def station(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": 'Zürich <Fluntern> & "Co"',
        "code": "",
        "elevation": 556,
        "temperature": -3.25,
        "active": True,
        "updated": dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.UTC),
        "tags": ["alpine", "  spaced  ", ""],
        "location": {"sensor": "gps", "value": None},
        "readings": [{"sensor": "t1", "value": 1.5}, {"sensor": "t2", "value": 1e-07}],
        "history": [{"sensor": "old", "value": 0.0}],
        "labels": {"owner": "MeteoSwiss", "2nd owner": "ETH", "item": "x"},
        "counts": {"rain": 3},
        "first_sensor": {"sensor": "t1"},
        "sensors": [{"sensor": "t1"}, {"sensor": "t2"}],
        "position": (47.378, 8.566),
    }
    data.update(changes)
    return data


def xml_load(schema: Schema, dumped: Any) -> Any:
    return schema.load(xml.parse(xml.render(dumped, schema, False), None, schema))


def json_load(schema: Schema, dumped: Any) -> Any:
    json = JSONHandler()
    return schema.load(json.parse(json.render(dumped, schema, False), None, schema))


def refused(body: bytes, schema: Schema | None = None, charset: str | None = None) -> str:
    with pytest.raises(errors.BadRequest) as info:
        xml.parse(body, charset, schema)
    assert info.value.status == 400
    assert info.value.detail
    return info.value.detail


# -- round trip ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"tags": []},
        {"tags": ["one"]},
        {"tags": ["a", "b", "c"]},
        {"readings": [], "history": [], "labels": {}, "sensors": []},
        {"location": None, "code": None},
        {"name": "", "code": ""},
        {"name": "line\r\nbreak\ttab\n", "temperature": 1e300},
        {"labels": {"item": "the only key"}},
    ],
)
def test_round_trip_loads_like_json(changes: dict[str, Any]) -> None:
    schema = StationSchema()
    dumped = schema.dump(station(**changes))
    assert xml_load(schema, dumped) == json_load(schema, dumped)


def test_none_and_empty_string_stay_apart() -> None:
    schema = StationSchema(only=("name", "code"))
    body = xml.render({"name": "", "code": None}, schema, False)
    root = ET.fromstring(body)
    assert root.find("name").attrib == {}
    assert root.find("code").get(f"{{{XSI}}}nil") == "true"
    assert xml.parse(body, None, schema) == {"name": "", "code": None}


def test_xsi_is_declared_only_when_needed() -> None:
    assert b"xmlns:xsi" not in xml.render({"a": ""}, None, False)
    assert b'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"' in xml.render(
        {"a": None}, None, False
    )


def test_render_shape() -> None:
    data = {"summary": "sunny", "tags": ["a"], "empty": []}
    body = xml.render(data, WeatherReportSchema(), False)
    assert body == (
        DECLARATION + b"<weather_report><summary>sunny</summary>"
        b"<tags><item>a</item></tags><empty /></weather_report>"
    )


def test_scalars_are_spelled_like_json() -> None:
    body = xml.render({"t": True, "f": False, "i": 10**20, "x": 0.1, "y": 2.0}, None, False)
    assert xml.parse(body, None, None) == {
        "t": "true",
        "f": "false",
        "i": "100000000000000000000",
        "x": "0.1",
        "y": "2.0",
    }


@pytest.mark.parametrize(
    ("text", "value"), [("true", True), ("false", False), ("on", "on"), ("True", "True")]
)
def test_xml_booleans_are_only_json_spellings(text: str, value: Any) -> None:
    """Only a form's checkbox says ``on``: in XML it stays text, for the schema to judge."""
    schema = Schema.from_dict({"flag": fields.Boolean()})()
    body = f"<thing><flag>{text}</flag></thing>".encode()
    assert xml.parse(body, None, schema) == {"flag": value}


def test_xml_integer_beyond_the_digit_limit_is_400() -> None:
    schema = Schema.from_dict({"n": fields.Integer()})()
    body = f"<thing><n>{'1' * 5000}</n></thing>".encode()
    with pytest.raises(errors.BadRequest, match=r"an integer has more than [0-9]+ digits"):
        xml.parse(body, None, schema)


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -float("inf")])
def test_non_finite_floats_are_refused(value: float) -> None:
    with pytest.raises(ValueError, match="NaN or Infinity"):
        xml.render({"x": value}, None, False)


def test_schemaless_round_trip() -> None:
    data = {"a": "x", "b": ["1", "2"], "c": {"d": None, "e": [{"f": "g"}]}, "3": "entry"}
    assert xml.parse(xml.render(data, None, False), None, None) == data


# -- names --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("schema", "name", "plural"),
    [
        (None, "response", "responses"),
        (WeatherReportSchema, "weather_report", "weather_reports"),
        (WeatherReportSchema(), "weather_report", "weather_reports"),
        (StationSchema, "station", "stations"),
        (BoxSchema, "box", "boxes"),
        (CitySchema, "city", "cities"),
        (DaySchema, "day", "days"),
        (BranchSchema, "branch", "branches"),
        (HTTPLogSchema, "http_log", "http_logs"),
        (PersonSchema, "person", "people"),
        (SensorSchema, "probe", "probes"),
    ],
)
def test_names(schema: Any, name: str, plural: str) -> None:
    assert (xml_name(schema), xml_plural(schema)) == (name, plural)


def test_meta_name_must_be_an_element_name() -> None:
    with pytest.raises(ValueError, match="not a valid XML element name"):
        xml_name(BadNameSchema)


def test_many_renders_a_named_collection() -> None:
    root = ET.fromstring(xml.render([{}, {}], PersonSchema(), True))
    assert root.tag == "people"
    assert [child.tag for child in root] == ["person", "person"]


def test_empty_collection() -> None:
    assert xml.render([], StationSchema(), True) == DECLARATION + b"<stations />"


def test_invalid_keys_fall_back_to_entry() -> None:
    data = {"2nd": "a", "two words": "b", "x:y": "c", "": "d", "ok": "e"}
    root = ET.fromstring(xml.render(data, None, False))
    assert [(child.tag, child.get("key")) for child in root] == [
        ("entry", "2nd"),
        ("entry", "two words"),
        ("entry", "x:y"),
        ("entry", ""),
        ("ok", None),
    ]
    assert xml.parse(xml.render(data, None, False), None, None) == data


def test_astral_keys_are_written_as_entries() -> None:
    """XML 1.0 allows U+10000 in a name, but expat refuses it: the key goes in an attribute."""
    data = {"\U00010000": 1, "a\U0001f600": 2}
    body = xml.render(data, None, False)
    root = ET.fromstring(body)
    assert [(child.tag, child.get("key")) for child in root] == [
        ("entry", "\U00010000"), ("entry", "a\U0001f600")
    ]
    assert xml.parse(body, None, None) == {"\U00010000": "1", "a\U0001f600": "2"}


def test_lone_item_key_is_not_read_as_a_list() -> None:
    body = xml.render({"d": {"item": "x"}}, None, False)
    assert b'<entry key="item">x</entry>' in body
    assert xml.parse(body, None, None) == {"d": {"item": "x"}}


def test_illegal_characters_are_replaced() -> None:
    body = xml.render({"s": "a\x00b\x08c\x0bd\ufffee\ud800", "k\x01": ""}, None, False)
    parsed = ET.fromstring(body)  # well-formed despite the input
    assert parsed.find("s").text == "a\ufffdb\ufffdc\ufffdd\ufffde\ufffd"
    assert parsed.find("entry").get("key") == "k\ufffd"


# -- problems -----------------------------------------------------------------------------------


def test_problem_matches_rfc_9457_appendix_b() -> None:
    problem = errors.UnprocessableContent(errors={"title": ["Missing data for required field."]})
    body = xml.render_problem(problem.to_problem())
    assert body == (
        DECLARATION + b'<problem xmlns="urn:ietf:rfc:7807"><type>about:blank</type>'
        b"<title>Unprocessable Content</title><status>422</status>"
        b"<detail>Unprocessable Content</detail><errors><title>"
        b"<i>Missing data for required field.</i></title></errors></problem>"
    )


def test_problem_parses_in_its_namespace() -> None:
    messages = {"tags.0": ["Not a valid string."], "0 bad": ["a", "b"], "_schema": ["c"]}
    root = ET.fromstring(xml.render_problem({"status": 422, "errors": messages}))
    ns = f"{{{PROBLEM}}}"
    assert root.tag == f"{ns}problem"
    assert root.find(f"{ns}status").text == "422"
    found = root.find(f"{ns}errors")
    assert [item.text for item in found.find(f"{ns}tags.0")] == ["Not a valid string."]
    entry = found.find(f"{ns}entry")
    assert entry.get("key") == "0 bad"
    assert [(item.tag, item.text) for item in entry] == [(f"{ns}i", "a"), (f"{ns}i", "b")]
    assert found.find(f"{ns}_schema/{ns}i").text == "c"


# -- parsing ------------------------------------------------------------------------------------


def test_root_name_and_namespace_are_ignored() -> None:
    body = b'<anything xmlns="urn:example"><summary>x</summary></anything>'
    assert xml.parse(body, None, WeatherReportSchema()) == {"summary": "x"}


def test_pretty_printed_input() -> None:
    body = b"<station>\n  <name> Fluntern </name>\n  <tags>\n  </tags>\n</station>\n"
    assert xml.parse(body, None, StationSchema()) == {"name": " Fluntern ", "tags": []}


def test_nil_accepts_one() -> None:
    body = f'<s xmlns:x="{XSI}"><code x:nil="1"/></s>'.encode()
    assert xml.parse(body, None, StationSchema()) == {"code": None}


def test_data_key_is_matched() -> None:
    body = b"<s><first-sensor>t9</first-sensor></s>"
    assert StationSchema().load(xml.parse(body, None, StationSchema())) == {
        "first_sensor": {"sensor": "t9"}
    }


def test_nested_many_accepts_any_item_name() -> None:
    body = b"<s><history><reading><sensor>a</sensor></reading></history></s>"
    assert xml.parse(body, None, StationSchema()) == {"history": [{"sensor": "a"}]}


def test_unknown_element_reaches_the_schema() -> None:
    schema = WeatherReportSchema()
    data = xml.parse(b"<r><summary>x</summary><extra><a>1</a></extra></r>", None, schema)
    assert data == {"summary": "x", "extra": {"a": "1"}}
    with pytest.raises(ValidationError) as info:
        schema.load(data)
    assert "extra" in info.value.messages


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        (b"<s><tags>abc</tags></s>", "tags", "Not a valid list."),
        (b"<s><name><b>x</b></name></s>", "name", "Not a valid string."),
        (b"<s><location>here</location></s>", "location", "Invalid input type."),
    ],
)
def test_wrong_shape_is_a_validation_error(body: bytes, field: str, message: str) -> None:
    schema = StationSchema()
    with pytest.raises(ValidationError) as info:
        schema.load(xml.parse(body, None, schema))
    assert message in str(info.value.messages[field])


def test_charset_parameter_wins_over_declaration() -> None:
    body = '<?xml version="1.0" encoding="UTF-8"?><s><name>Zürich</name></s>'.encode("latin-1")
    assert xml.parse(body, "ISO-8859-1", StationSchema()) == {"name": "Zürich"}


@pytest.mark.parametrize(
    "body",
    [
        '<?xml version="1.0" encoding="ISO-8859-1"?><s><name>Zürich</name></s>'.encode("latin-1"),
        "<s><name>Zürich</name></s>".encode("utf-16"),
        "\ufeff<s><name>Zürich</name></s>".encode(),
    ],
)
def test_encoding_from_document(body: bytes) -> None:
    assert xml.parse(body, None, StationSchema()) == {"name": "Zürich"}


def test_utf8_charset_with_bom() -> None:
    assert xml.parse("\ufeff<s><name>é</name></s>".encode(), "utf-8", None) == {"name": "é"}


# -- refusals -----------------------------------------------------------------------------------

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<lolz><summary>&lol9;</summary></lolz>"""


def test_billion_laughs_is_refused_fast() -> None:
    start = time.perf_counter()
    assert "DTD" in refused(BILLION_LAUGHS, WeatherReportSchema())
    assert time.perf_counter() - start < 0.2


@pytest.mark.parametrize(
    "body",
    [
        b'<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x><summary>&e;</summary></x>',
        b'<!DOCTYPE x SYSTEM "http://example.invalid/x.dtd"><x/>',
        b"<!DOCTYPE x><x/>",
        b'<!DOCTYPE x [<!ATTLIST x summary CDATA "default">]><x/>',
    ],
)
def test_dtds_are_refused(body: bytes) -> None:
    assert refused(body, WeatherReportSchema()) == "XML with a DTD or entities is not accepted"


@pytest.mark.parametrize(
    "body",
    [
        b"<x><summary>unclosed</x>",
        b"<x>&undefined;</x>",
        b"",
        b'{"summary": "json"}',
        b"\x89PNG\r\n\x1a\n\x00\x00",
        b"<x/><y/>",
        b"<p:x/>",
        b'<?xml version="1.0" encoding="klingon"?><x/>',
        b'<?xml version="1.0" encoding="rot13"?><x/>',
        b'<?xml version="1.0" encoding="shift_jis"?><x/>',
        b'<?xml version="1.0" encoding="idna"?><x>\xe9</x>',
    ],
)
def test_malformed_xml_is_refused(body: bytes) -> None:
    assert refused(body, WeatherReportSchema()).startswith("malformed XML: ")


def test_deep_nesting_is_refused() -> None:
    body = b"<a>" * 10_000 + b"</a>" * 10_000
    assert refused(body) == f"XML is nested deeper than {MAX_DEPTH} levels"


def test_nesting_limit_is_exact() -> None:
    def nested(levels: int) -> bytes:
        return b"<a>" * (levels - 1) + b"<b>x</b>" + b"</a>" * (levels - 1)

    assert xml.parse(nested(MAX_DEPTH), None, None)
    refused(nested(MAX_DEPTH + 1))


def test_repeated_element_is_refused() -> None:
    body = b"<s><name>a</name><name>b</name></s>"
    assert refused(body, StationSchema()) == "element 'name' appears more than once"


def test_repeated_list_wrapper_is_refused() -> None:
    body = b"<s><tags><item>a</item></tags><tags><item>b</item></tags></s>"
    assert refused(body, StationSchema()) == "element 'tags' appears more than once"


def test_repeated_element_without_schema_is_refused() -> None:
    assert "appears more than once" in refused(b"<r><a/><b/><a/></r>")


def test_list_children_must_be_items() -> None:
    body = b"<s><tags><item>a</item><tag>b</tag></tags></s>"
    detail = refused(body, StationSchema())
    assert detail == "list element 'tags' may contain only <item> elements, not <tag>"


def test_mixed_content_is_refused() -> None:
    detail = refused(b"<s><location>near <sensor>x</sensor></location></s>", StationSchema())
    assert detail == "element 'location' mixes text and child elements"


@pytest.mark.parametrize("charset", ["klingon", "rot13", "base64", "utf\x00"])
def test_unknown_charset_is_an_unsupported_media_type(charset: str) -> None:
    with pytest.raises(errors.UnsupportedMediaType) as info:
        xml.parse(b"<x/>", charset, None)
    assert info.value.status == 415
    assert info.value.detail.startswith("unknown charset")


def test_undecodable_body_is_refused() -> None:
    assert refused(b"<x>\xff</x>", charset="utf-8") == "XML body is not valid utf-8 (byte 3)"
