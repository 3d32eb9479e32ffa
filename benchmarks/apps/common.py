"""What every benchmark app shares: the schemas, the item store and the XML shape.

Every framework runs the same marshmallow code on the same data, so the timings differ only by
the framework glue around it. Nothing here may depend on a web framework.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from xml.etree import ElementTree as ET

from marshmallow import Schema, fields, validate

__all__ = [
    "BENCH_TOKEN",
    "ITEM_SCHEMA",
    "NEW_ITEM_ID",
    "QUERY_SCHEMA",
    "ItemSchema",
    "QuerySchema",
    "create_item",
    "get_item",
    "item_etag",
    "item_xml",
    "list_items",
    "new_item",
    "parse_limit",
    "prefers_xml",
    "replace_item",
]

ITEM_COUNT = 100
NEW_ITEM_ID = ITEM_COUNT + 1
"""The id every ``POST /items`` gets: the store is overwritten, not grown, by the benchmark loop."""
BENCH_TOKEN = "bench-token"  # a fixed token for the F2 scenario, not a secret
API_VERSIONS = ("2026-01-01", "2026-02-01", "2026-03-01", "2026-04-01")
"""F3 and F4: resourcekit's dated versions; each later one renames a member of an item."""
RENAMED = {"name": "title", "price": "cost", "tags": "labels"}
"""The members the three changes rename, in order: the newest item has ``title``, ``cost``,
``labels``; the first is shaped as S2's."""
_EPOCH = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)


class ItemSchema(Schema):
    """One item, loaded from a request body (S3, F2) and dumped for every response."""

    id = fields.Int(dump_only=True)
    name = fields.Str(required=True, validate=validate.Length(min=1, max=100))
    price = fields.Float(required=True, validate=validate.Range(min=0))
    tags = fields.List(fields.Str(), load_default=list)
    created_at = fields.DateTime(dump_only=True)


class QuerySchema(Schema):
    """``GET /items?limit=N``: resourcekit loads it as its ``query_schema``."""

    limit = fields.Int(load_default=20, validate=validate.Range(min=1, max=ITEM_COUNT))


ITEM_SCHEMA = ItemSchema()
QUERY_SCHEMA = QuerySchema()


def _make_item(item_id: int) -> dict[str, Any]:
    return {
        "id": item_id,
        "name": f"item {item_id}",
        "price": round(item_id * 1.25, 2),
        "tags": [f"tag{item_id % 5}", "bench"],
        "created_at": _EPOCH + dt.timedelta(hours=item_id),
        "rev": 1,
    }


_ITEMS: dict[int, dict[str, Any]] = {i: _make_item(i) for i in range(1, ITEM_COUNT + 1)}


def get_item(item_id: int) -> dict[str, Any] | None:
    return _ITEMS.get(item_id)


def list_items(limit: int) -> list[dict[str, Any]]:
    """The first ``limit`` items, in id order (dicts keep insertion order)."""
    return [item for item, _ in zip(_ITEMS.values(), range(limit), strict=False)]


def new_item(data: dict[str, Any]) -> dict[str, Any]:
    """The item a POST of ``data`` (already loaded) creates; the checks predict it with this."""
    return {**data, "id": NEW_ITEM_ID, "created_at": _EPOCH, "rev": 1}


def create_item(data: dict[str, Any]) -> dict[str, Any]:
    """Store a new item under `NEW_ITEM_ID`, so thousands of POSTs keep memory flat."""
    item = _ITEMS[NEW_ITEM_ID] = new_item(data)
    return item


def replace_item(item_id: int, data: dict[str, Any]) -> dict[str, Any]:
    """PUT semantics; the revision (and so the ETag) moves only when the content changes, so
    the F2 loop can send the same ``If-Match`` forever."""
    old = _ITEMS[item_id]
    new = {**old, "tags": [], **data}
    if new != old:
        new["rev"] = old["rev"] + 1
    _ITEMS[item_id] = new
    return new


def item_etag(item: dict[str, Any]) -> str:
    """The strong entity tag of an item's state (unquoted; resourcekit quotes it)."""
    return f"item-{item['id']}-r{item['rev']}"


def parse_limit(raw: str | None) -> int:
    """What the peers do instead of a query schema: int() and a range check; ValueError -> 400."""
    if raw is None:
        return 20
    limit = int(raw)
    if not 1 <= limit <= ITEM_COUNT:
        raise ValueError(f"limit must be 1..{ITEM_COUNT}")
    return limit


def prefers_xml(accept: str | None) -> bool:
    """Negotiation for apps whose framework has none (raw WSGI, bottle): enough for S4."""
    return accept is not None and ("application/xml" in accept or "text/xml" in accept)


def _fill(elem: ET.Element, value: Any) -> None:
    if isinstance(value, dict):
        for key, member in value.items():
            _fill(ET.SubElement(elem, key), member)
    elif isinstance(value, list):
        for member in value:
            _fill(ET.SubElement(elem, "item"), member)
    elif value is not None:
        elem.text = str(value)


def item_xml(data: dict[str, Any]) -> bytes:
    """A dumped item as XML with ElementTree, in the shape resourcekit renders it."""
    root = ET.Element("item")
    _fill(root, data)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)
