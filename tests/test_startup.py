"""A site imports the HTML page builder and the XML reader when it first needs them, not at start.

Each case runs in a fresh interpreter, the only place where what is imported can be seen.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

_SITE = """
import json, sys
import webob
from marshmallow import Schema, fields
from resourcekit import Site, Resource

class ThingSchema(Schema):
    id = fields.Integer()

class Thing(Resource):
    schema = ThingSchema
    def get(self, request):
        return {"id": 1}
    def post(self, request):
        return request.validated

site = Site()
site.add("/x", Thing)
"""
_DEFERRED = (
    "resourcekit.media.page",
    "resourcekit.media.forms",
    "resourcekit.media.links",
    "resourcekit.media.xmlread",
    "xml.etree.ElementTree",
)
"""Modules a site serving JSON only never imports."""


def _loaded_after(request: str) -> dict[str, bool]:
    """Which of `_DEFERRED` a fresh interpreter holds after building the site and ``request``."""
    code = f"{_SITE}\n{request}\nprint(json.dumps({{m: m in sys.modules for m in {_DEFERRED!r}}}))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded: dict[str, bool] = json.loads(done.stdout)
    return loaded


def test_a_json_site_imports_neither_pages_nor_the_xml_reader() -> None:
    json_request = 'assert webob.Request.blank("/x").get_response(site).status_int == 200'
    assert _loaded_after(json_request) == dict.fromkeys(_DEFERRED, False)


@pytest.mark.parametrize(
    ("request_code", "imported"),
    [
        (
            'r = webob.Request.blank("/x", headers={"Accept": "text/html"})\n'
            'response = r.get_response(site)\n'
            'assert response.status_int == 200, response.status\n'
            'assert "Content-Security-Policy" in response.headers',
            {"resourcekit.media.page", "resourcekit.media.forms", "resourcekit.media.links"},
        ),
        (
            'r = webob.Request.blank("/x", method="POST", body=b"<thing><id>2</id></thing>",'
            ' content_type="application/xml")\n'
            "response = r.get_response(site)\n"
            'assert response.status_int == 200 and response.json == {"id": 2}, response.text',
            {"resourcekit.media.xmlread", "xml.etree.ElementTree"},
        ),
    ],
    ids=["an HTML page", "an XML body"],
)
def test_what_is_deferred_is_imported_once_used(request_code: str, imported: set[str]) -> None:
    loaded = _loaded_after(request_code)
    assert {name for name, present in loaded.items() if present} == imported
