"""The benchmark API in Bottle: route decorators on an app object, dicts returned as JSON."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urljoin

import bottle
from marshmallow import ValidationError

from . import common

__all__ = ["create_app"]


def hello() -> dict[str, str]:
    return {"message": "hello"}


def get_item(item_id: int) -> Any:
    item = common.get_item(item_id)
    if item is None:
        bottle.abort(404, "no such item")
    data = common.ITEM_SCHEMA.dump(item)
    if common.prefers_xml(bottle.request.get_header("Accept")):
        bottle.response.content_type = "application/xml"
        return common.item_xml(data)
    return data


def list_items() -> Any:
    try:
        limit = common.parse_limit(bottle.request.query.get("limit"))
    except ValueError as exc:
        bottle.abort(400, str(exc))
    # Bottle turns only dicts into JSON, not lists.
    bottle.response.content_type = "application/json"
    return json.dumps(common.ITEM_SCHEMA.dump(common.list_items(limit), many=True))


def create_item() -> dict[str, Any]:
    try:
        data = common.ITEM_SCHEMA.load(bottle.request.json)
    except ValidationError as exc:
        bottle.response.status = 422
        return {"errors": exc.messages}
    item = common.create_item(data)
    bottle.response.status = 201
    bottle.response.set_header("Location", urljoin(bottle.request.url, f"/items/{item['id']}"))
    return common.ITEM_SCHEMA.dump(item)


def create_app() -> bottle.Bottle:
    app = bottle.Bottle()
    app.route("/hello", "GET", hello)
    app.route("/items", "GET", list_items)
    app.route("/items", "POST", create_item)
    app.route("/items/<item_id:int>", "GET", get_item)
    return app
