"""The rules `resourcekit.openapi` follows where the routes alone do not say: what a read
returns, who may call, examples, cross-parameter rules, XML nulls, servers and license, and
which routes are documented at all."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import webob
from marshmallow import Schema, fields
from openapi_spec_validator import validate as validate_openapi

from resourcekit import Created, Page, Request, Resource, Site, auth, errors
from resourcekit.openapi.problems import PROBLEMS
from sample_project.app import create_site


class ThingSchema(Schema):
    id = fields.Int(dump_only=True, metadata={"example": 7})
    name = fields.Str(required=True, metadata={"examples": ["lamp", "desk"]})
    note = fields.Str(allow_none=True)

    class Meta:
        description = "A thing."


def _read_schema(annotation: Any, template: str = "/things") -> dict[str, Any]:
    """The ``200`` (or ``204``) responses of ``GET template`` for a handler returning
    ``annotation`` (``"unset"``: no annotation)."""

    def get(self: Resource, request: Request, **fields: Any) -> Any:
        return None

    if annotation == "unset":
        del get.__annotations__["return"]
    else:
        get.__annotations__["return"] = annotation
    resource = type("Things", (Resource,), {"schema": ThingSchema, "get": get})
    site = Site()
    site.add(template, resource)
    document = site.openapi()
    validate_openapi(document)
    path = template.replace(":int", "")
    responses: dict[str, Any] = document["paths"][path]["get"]["responses"]
    return {s: r for s, r in responses.items() if s in ("200", "204")}


ONE = {"$ref": "#/components/schemas/Thing"}
MANY = {"type": "array", "items": ONE, "xml": {"name": "things", "wrapped": True}}


@pytest.mark.parametrize(
    ("annotation", "body"),
    [
        (list[dict[str, Any]], MANY),
        ("list[dict[str, Any]]", MANY),  # a string, as under `from __future__ import annotations`
        ("Sequence[dict[str, Any]]", MANY),
        (Sequence[Any], MANY),
        (tuple, MANY),
        (Page, MANY),
        (dict[str, Any], ONE),
        ("Created", ONE),
        (Any, {"oneOf": [ONE, MANY]}),  # says nothing: the route decides, and /things cannot
        ("NoSuchName", {"oneOf": [ONE, MANY]}),
        ("unset", {"oneOf": [ONE, MANY]}),
        (webob.Response, {"oneOf": [ONE, MANY]}),
        (list[Any] | dict[str, Any], {"oneOf": [ONE, MANY]}),
    ],
)
def test_the_return_annotation_decides(annotation: Any, body: dict[str, Any]) -> None:
    responses = _read_schema(annotation)
    assert set(responses) == {"200"}
    assert responses["200"]["content"]["application/json"]["schema"] == body


@pytest.mark.parametrize("annotation", [None, "None"])
def test_none_is_204_without_content(annotation: Any) -> None:
    responses = _read_schema(annotation)
    assert set(responses) == {"204"}
    assert "content" not in responses["204"]


def test_an_optional_object_is_200_or_204() -> None:
    responses = _read_schema(dict[str, Any] | None)
    assert responses["200"]["content"]["application/json"]["schema"] == ONE
    assert "content" not in responses["204"]


@pytest.mark.parametrize("annotation", ["unset", Any])
def test_without_an_annotation_a_field_at_the_end_names_one_item(annotation: Any) -> None:
    responses = _read_schema(annotation, "/things/{thing_id:int}")
    assert responses["200"]["content"]["application/json"]["schema"] == ONE
    middle = _read_schema(annotation, "/things/{thing_id:int}/parts")
    assert middle["200"]["content"]["application/json"]["schema"] == {"oneOf": [ONE, MANY]}


# -- examples -------------------------------------------------------------------------------------


@pytest.fixture
def sample(tmp_path: Path) -> Iterator[Site]:
    site = create_site(tmp_path / "db.sqlite", api_token="t")
    yield site
    site.close()


def test_field_examples_become_examples() -> None:
    site = Site()
    site.add("/things", type("Things", (Resource,), {"schema": ThingSchema,
                                                      "get": lambda self, request: {}}))
    thing = site.openapi()["components"]["schemas"]["Thing"]
    assert thing["properties"]["id"]["examples"] == [7]
    assert "example" not in thing["properties"]["id"]
    assert thing["properties"]["name"]["examples"] == ["lamp", "desk"]
    assert thing["description"].startswith("A thing.\n\n")


def test_the_samples_examples_fit_their_schemas(sample: Site) -> None:
    document = sample.openapi()
    for name in ("Station", "Observation", "Weather", "Root"):
        schema = document["components"]["schemas"][name]
        for key, prop in schema["properties"].items():
            if "$ref" in json.dumps(prop):
                continue
            assert prop.get("examples"), (name, key)
            for example in prop["examples"]:
                jsonschema.validate(example, prop)


def test_each_problem_has_its_own_example(sample: Site) -> None:
    responses = sample.openapi()["components"]["responses"]
    seen = set()
    for status, problem in PROBLEMS.items():
        if problem.name not in responses:
            continue
        content = responses[problem.name]["content"]
        example = content["application/problem+json"]["example"]
        assert example["status"] == status
        assert example["title"] == errors.HTTPError(status).title
        assert example["detail"]
        assert content["application/problem+xml"]["example"] == example
        seen.add(json.dumps(example))
    assert len(seen) == len(responses) >= 8


# -- descriptions ---------------------------------------------------------------------------------


def test_a_rule_between_query_parameters_is_described(sample: Site) -> None:
    paths = sample.openapi()["paths"]["/stations/{station_id}/observations"]
    for method in ("get", "head"):
        assert "`since` must not be after `until`" in paths[method]["description"]
    assert "since" not in paths["post"].get("description", "")


def test_xml_nulls_are_described_where_a_member_can_be_null(sample: Site) -> None:
    schemas = sample.openapi()["components"]["schemas"]
    assert 'xsi:nil="true"' in schemas["Station"]["description"]  # elevation_m
    assert 'xsi:nil="true"' in schemas["Observation"]["description"]
    assert "xsi:nil" not in schemas["Root"]["description"]


# -- security -------------------------------------------------------------------------------------


class Open(Resource):
    def get(self, request: Request) -> dict[str, Any]:
        return {}

    def post(self, request: Request) -> Created:
        return Created({}, location="/")


def test_no_security_without_authentication() -> None:
    site = Site()
    site.add("/open", Open)
    document = site.openapi()
    assert "securitySchemes" not in document.get("components", {})
    assert all("security" not in op for op in document["paths"]["/open"].values())


class Signed(auth.Authenticator):
    """A custom credential, documenting itself."""

    scheme = "Signature"

    def authenticate(self, request: Request) -> Any | None:
        return None

    def challenge(self, error: str | None = None) -> str:
        return "Signature"

    def openapi_scheme(self) -> tuple[str, dict[str, Any]]:
        return "signed", {"type": "apiKey", "in": "header", "name": "Signature"}


def test_an_authenticator_names_its_own_scheme() -> None:
    site = Site(authentication={"get": [], "*": [Signed()]})
    site.add("/open", Open)
    document = site.openapi()
    validate_openapi(document)
    assert document["components"]["securitySchemes"] == {
        "signed": {"type": "apiKey", "in": "header", "name": "Signature"}
    }
    operations = document["paths"]["/open"]
    assert operations["post"]["security"] == [{"signed": []}]
    assert operations["get"]["security"] == operations["options"]["security"] == []


def test_the_default_scheme_is_the_http_scheme() -> None:
    assert auth.Bearer(auth.tokens({"t": "me"})).openapi_scheme() == (
        "bearerAuth", {"type": "http", "scheme": "bearer"}
    )
    assert auth.Basic(auth.passwords({"u": "p"})).openapi_scheme() == (
        "basicAuth", {"type": "http", "scheme": "basic"}
    )


# -- servers, license, documented routes ----------------------------------------------------------


def test_servers_default_to_this_host_and_license_to_none() -> None:
    site = Site(title="Notes", docs=True)
    site.add("/open", Open)
    document = site.openapi()
    assert document["servers"] == [{"url": "/"}]
    assert "license" not in document["info"]


def test_the_sites_servers_and_license() -> None:
    site = Site(title="Notes", docs=True)
    site.add("/open", Open)
    site.servers = [{"url": "https://api.example.org/v1"}]
    site.license = {"name": "MIT", "identifier": "MIT"}
    document = site.openapi()
    validate_openapi(document)
    assert document["servers"] == [{"url": "https://api.example.org/v1"}]
    assert document["info"]["license"] == {"name": "MIT", "identifier": "MIT"}
    environ: dict[str, Any] = {"SCRIPT_NAME": "/notes"}
    mounted = webob.Request.blank("/openapi.json", environ=environ)
    served = json.loads(mounted.get_response(site).body)
    assert served["servers"] == [{"url": "https://api.example.org/v1"}]  # the site's own


def test_documented_false_keeps_a_route_out() -> None:
    class Hidden(Open):
        documented = False

    site = Site(docs=True)
    site.add("/open", Open)
    site.add("/hidden", Hidden)
    assert set(site.openapi()["paths"]) == {"/open"}
    assert Resource.documented is True
