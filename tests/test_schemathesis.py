"""Schemathesis against the sample API served by waitress, driven by the sample's own document.

Every operation of ``/openapi.json`` gets at least 100 generated cases, valid and invalid
(schemathesis's positive and negative modes), plus its coverage phase (boundary values, missing
and malformed parameters, undeclared methods). Each response must be no server error, and its
status, ``Content-Type``, headers and body must be the ones the document lists.

Every case asks for one of the media types the document offers, chosen from the case itself (so a
replayed case asks for the same one): JSON, XML (both names) and HTML. Schemathesis validates
JSON bodies itself; the XML deserializer below turns XML bodies back into data by the
document's ``xml`` objects, checking each element name on the way, so XML representations and
problems are validated against the same schemas.

The schema is loaded when the module is collected, from ``/openapi.json`` of a sample site in
process (``schemathesis.pytest.from_fixture`` fails under pytest 9), and the first test checks
that the server under test serves the very same document.
"""

from __future__ import annotations

import json
import re
import tempfile
import urllib.request
import xml.etree.ElementTree as ET
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from conftest import served
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from resourcekit.testing import Client
from sample_project.app import create_site

TOKEN = "schemathesis-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
ACCEPT = ("application/json", "application/xml", "text/xml", "text/html")


def _served_document() -> dict[str, Any]:
    """``/openapi.json`` of a throwaway sample site (in process: nothing is listening yet)."""
    with tempfile.TemporaryDirectory() as folder:
        site = create_site(Path(folder) / "db.sqlite", api_token=TOKEN)
        try:
            return Client(site).get("/openapi.json").json
        finally:
            site.close()


DOCUMENT = _served_document()
schema = schemathesis.openapi.from_dict(DOCUMENT)


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The sample on waitress, with three stations and an observation at each to find."""
    site = create_site(tmp_path_factory.mktemp("schemathesis") / "db.sqlite", api_token=TOKEN)
    client = Client(site)
    for n in range(3):
        station = {"name": f"Station {n}", "latitude": 45.0, "longitude": 6.0, "country": "FR"}
        assert client.post("/stations", json=station, headers=AUTH).status_code == 201
        observation = {"observed_at": "2024-05-01T12:00:00Z", "temperature_c": 12.5}
        path = f"/stations/{n + 1}/observations"
        assert client.post(path, json=observation, headers=AUTH).status_code == 201
    with served(site, threads=4) as url:
        yield url
    site.close()


def test_the_server_serves_the_document_under_test(base_url: str) -> None:
    with urllib.request.urlopen(f"{base_url}/openapi.json", timeout=10) as response:
        assert json.load(response) == DOCUMENT


@schema.parametrize()
@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
    ],
)
def test_sample_api_conforms_to_its_document(case: schemathesis.Case, base_url: str) -> None:
    headers = {**AUTH, "Accept": _accept(case)}
    case.call_and_validate(base_url=base_url, headers=headers, checks=CHECKS)


def _accept(case: schemathesis.Case) -> str:
    """A media type the document offers, fixed by the case's content so a replay asks the same."""
    seed = repr((case.method, case.path_parameters, case.query, case.headers, case.body))
    return ACCEPT[zlib.crc32(seed.encode("utf-8", "surrogatepass")) % len(ACCEPT)]


# -- XML bodies back to data, by the document's `xml` objects ------------------------------------

_XSI_NIL = "{http://www.w3.org/2001/XMLSchema-instance}nil"
_PROBLEM = "{urn:ietf:rfc:7807}problem"
_INTEGER = re.compile(r"-?[0-9]+")


@schemathesis.deserializer("application/xml", "text/xml")
def _xml(ctx: Any, response: Any) -> Any:
    """Representations and problems (``application/problem+xml`` is of the same family)."""
    root = ET.fromstring(response.content)
    if root.tag == _PROBLEM:
        return _problem(root)
    documented = _response_schema(ctx.operation, response)
    return _read(root, documented, root=True)


def _resolve(node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        target: Any = DOCUMENT
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def _response_schema(operation: Any, response: Any) -> dict[str, Any]:
    operation_doc = DOCUMENT["paths"][operation.path][operation.method.lower()]
    documented = _resolve(operation_doc["responses"][str(response.status_code)])
    media_type = response.headers["content-type"][0].split(";")[0].strip()
    return documented["content"][media_type]["schema"]


def _merged(schema: dict[str, Any]) -> dict[str, Any]:
    """The schema with ``$ref`` and ``allOf`` folded in; its own ``xml`` wins."""
    schema = _resolve(schema)
    if "allOf" not in schema:
        return schema
    merged: dict[str, Any] = {}
    for part in schema["allOf"]:
        merged.update(_merged(part))
    merged.update({k: v for k, v in schema.items() if k != "allOf"})
    return merged


def _name(schema: dict[str, Any]) -> str | None:
    return _merged(schema).get("xml", {}).get("name")


def _kinds(schema: dict[str, Any]) -> set[str]:
    kinds = schema.get("type", [])
    return {kinds} if isinstance(kinds, str) else set(kinds)


def _read(elem: ET.Element, schema: dict[str, Any], *, root: bool = False) -> Any:
    """The data ``elem`` carries; a root or list item named otherwise than documented fails."""
    schema = _merged(schema)
    branches = schema.get("oneOf") or schema.get("anyOf")
    if branches:
        named = [b for b in branches if _name(b) == elem.tag]
        return _read(elem, named[0] if named else branches[0], root=root)
    if root and elem.tag != _name(schema):
        raise ValueError(f"root element <{elem.tag}>, documented <{_name(schema)}>")
    if elem.get(_XSI_NIL) == "true":
        return None
    kinds = _kinds(schema)
    if "array" in kinds:
        items = schema.get("items", {})
        for child in elem:
            if child.tag != _name(items):
                raise ValueError(f"<{child.tag}> in <{elem.tag}>, documented <{_name(items)}>")
        return [_read(child, items) for child in elem]
    if "object" in kinds or "properties" in schema:
        properties = schema.get("properties", {})
        rest = schema.get("additionalProperties")
        rest = rest if isinstance(rest, dict) else {}
        return {child.tag: _read(child, properties.get(child.tag, rest)) for child in elem}
    return _scalar(elem.text or "", kinds)


def _scalar(text: str, kinds: set[str]) -> Any:
    if "integer" in kinds and _INTEGER.fullmatch(text):
        return int(text)
    if "number" in kinds:
        try:
            return int(text) if _INTEGER.fullmatch(text) else float(text)
        except ValueError:
            return text
    if "boolean" in kinds and text in ("true", "false"):
        return text == "true"
    return text


def _problem(root: ET.Element) -> dict[str, Any]:
    """RFC 9457 appendix B: members in the problem namespace, arrays as ``<i>`` elements."""
    problem = {_local(child.tag): _generic(child) for child in root}
    if "status" in problem:
        problem["status"] = int(problem["status"])
    return problem


def _generic(elem: ET.Element) -> Any:
    children = list(elem)
    if not children:
        return elem.text or ""
    if all(_local(child.tag) == "i" for child in children):
        return [_generic(child) for child in children]
    return {child.get("key") or _local(child.tag): _generic(child) for child in children}


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]
