"""The benchmark API in resourcekit: what a user would write, through the public API only."""

from __future__ import annotations

import importlib
from typing import Any

from marshmallow import fields

from resourcekit import Created, Resource, Site, errors
from resourcekit.versioning import Change, Versions

from . import common

__all__ = ["AUTH_ENABLED", "create_app"]


class Hello(Resource):
    """S1: no schema, a plain dict rendered as JSON."""

    def get(self, request: Any) -> dict[str, str]:
        return {"message": "hello"}


class Items(Resource):
    """S3 (POST, body loaded by ``schema``) and S5 (GET, ``limit`` loaded by ``query_schema``)."""

    schema = common.ItemSchema
    query_schema = common.QuerySchema

    def get(self, request: Any) -> list[dict[str, Any]]:
        return common.list_items(request.query["limit"])

    def post(self, request: Any) -> Created:
        item = common.create_item(request.validated)
        return Created(item, location=request.url_for(Item, item_id=item["id"]))


class Item(Resource):
    """S2, S4: JSON or XML by ``Accept``; the ``ETag`` is made from the body, as by default."""

    schema = common.ItemSchema

    def get(self, request: Any, item_id: int) -> dict[str, Any]:
        return _load(request, item_id)


class TaggedItem(Resource):
    """F1 (``If-None-Match``: 304 before the handler), F2 (``If-Match`` PUT): the same items
    behind a resource that names its state with ``etag()`` and takes only conditional writes."""

    schema = common.ItemSchema
    require_preconditions = True

    def etag(self, request: Any, item_id: int) -> str:
        return common.item_etag(_load(request, item_id))

    def get(self, request: Any, item_id: int) -> dict[str, Any]:
        return _load(request, item_id)

    def put(self, request: Any, item_id: int) -> dict[str, Any]:
        _load(request, item_id)
        return common.replace_item(item_id, request.validated)


class VersionedItemSchema(common.ItemSchema):
    """An item as the newest version names its members (`common.RENAMED`)."""

    class Meta:
        exclude = tuple(common.RENAMED)

    title = fields.Str()
    cost = fields.Float()
    labels = fields.List(fields.Str())


class VersionedItem(Resource):
    """F3 (the newest version named: no transform) and F4 (the first: three renames back).

    An API with versions keeps its data in the newest shape; the shared store holds the first
    one, so each item is renamed once (again when the store replaces it), not per request:
    F3 against S2 then measures versioning, not a renaming the application would not do."""

    schema = VersionedItemSchema

    def get(self, request: Any, item_id: int) -> dict[str, Any]:
        return _newest(item_id, _load(request, item_id))


_NEWEST: dict[int, tuple[dict[str, Any], dict[str, Any]]] = {}


def _newest(item_id: int, item: dict[str, Any]) -> dict[str, Any]:
    kept = _NEWEST.get(item_id)
    if kept is None or kept[0] is not item:
        renamed = {common.RENAMED.get(key, key): value for key, value in item.items()}
        kept = _NEWEST[item_id] = (item, renamed)
    return kept[1]


def _versions() -> Versions:
    first, *later = common.API_VERSIONS
    changes = [
        Change(version, f"Items call their {old} {new}.", schema=VersionedItemSchema,
               renamed={old: new})
        for version, (old, new) in zip(later, common.RENAMED.items(), strict=True)
    ]
    return Versions(first, *changes)


def _load(request: Any, item_id: int) -> dict[str, Any]:
    """The item, loaded once per request whether `TaggedItem.etag` or the handler asks first."""
    item = request.memo(("item", item_id), lambda: common.get_item(item_id))
    if item is None:
        raise errors.NotFound(f"no item {item_id}")
    return item


def add_authentication(resource: type[Resource]) -> bool:
    """F2's bearer-token check, switched on once resourcekit has authentication (CONTRACT.md 7).

    "Has" means both ``resourcekit.auth`` and the ``Resource.authentication`` setting exist, so
    a half-landed feature is not mistaken for one; the F2 guard then checks that a request
    without a token really is refused. Until then F2 times the ``If-Match`` PUT alone, and the
    report says so. Returns whether authentication is on.
    """
    try:
        auth = importlib.import_module("resourcekit.auth")
    except ImportError:
        return False
    if not hasattr(Resource, "authentication"):
        return False
    # Reads stay open, as in sample_project: only the PUT of F2 needs the token.
    bearer = auth.Bearer(auth.tokens({common.BENCH_TOKEN: "bench-user"}))
    resource.authentication = {"get": [], "*": [bearer]}  # type: ignore[attr-defined]
    return True


AUTH_ENABLED = add_authentication(TaggedItem)


def create_app(compression: bool = False) -> Site:
    site = Site(title="Benchmark", version="1.0.0", versions=_versions(), compression=compression)
    site.add("/hello", Hello)
    site.add("/items", Items)
    site.add("/items/{item_id:int}", Item)
    site.add("/tagged-items/{item_id:int}", TaggedItem)
    site.add("/versioned-items/{item_id:int}", VersionedItem)
    return site
