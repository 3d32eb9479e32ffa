"""The baseline: a hand-written WSGI app doing the same work with no framework at all.

Routing by dict lookup and string operations, the shared marshmallow schemas, ``json.dumps``.
Every other column is read as a multiple of this one.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qs

from marshmallow import ValidationError

from . import common

__all__ = ["create_app"]

Reply = tuple[int, list[tuple[str, str]], bytes]
_STATUS = {
    200: "200 OK",
    201: "201 Created",
    400: "400 Bad Request",
    404: "404 Not Found",
    422: "422 Unprocessable Content",
}
_JSON = ("Content-Type", "application/json")


def _json(status: int, data: Any, *headers: tuple[str, str]) -> Reply:
    return status, [_JSON, *headers], json.dumps(data).encode()


def hello(environ: dict[str, Any]) -> Reply:
    return _json(200, {"message": "hello"})


def get_item(environ: dict[str, Any], item_id: int) -> Reply:
    item = common.get_item(item_id)
    if item is None:
        return _json(404, {"error": "not found"})
    data = common.ITEM_SCHEMA.dump(item)
    if common.prefers_xml(environ.get("HTTP_ACCEPT")):
        return 200, [("Content-Type", "application/xml")], common.item_xml(data)
    return _json(200, data)


def list_items(environ: dict[str, Any]) -> Reply:
    raw = parse_qs(environ.get("QUERY_STRING", "")).get("limit", [None])[0]
    try:
        limit = common.parse_limit(raw)
    except ValueError as exc:
        return _json(400, {"error": str(exc)})
    return _json(200, common.ITEM_SCHEMA.dump(common.list_items(limit), many=True))


def create_item(environ: dict[str, Any]) -> Reply:
    length = int(environ.get("CONTENT_LENGTH") or 0)
    try:
        payload = json.loads(environ["wsgi.input"].read(length))
        data = common.ITEM_SCHEMA.load(payload)
    except ValueError:
        return _json(400, {"error": "malformed JSON"})
    except ValidationError as exc:
        return _json(422, {"errors": exc.messages})
    item = common.create_item(data)
    location = f"{_base_url(environ)}/items/{item['id']}"
    return _json(201, common.ITEM_SCHEMA.dump(item), ("Location", location))


def _base_url(environ: dict[str, Any]) -> str:
    host = environ.get("HTTP_HOST") or f"{environ['SERVER_NAME']}:{environ['SERVER_PORT']}"
    return f"{environ['wsgi.url_scheme']}://{host}{environ.get('SCRIPT_NAME', '')}"


_ROUTES: dict[tuple[str, str], Callable[[dict[str, Any]], Reply]] = {
    ("GET", "/hello"): hello,
    ("GET", "/items"): list_items,
    ("POST", "/items"): create_item,
}


def _route(environ: dict[str, Any]) -> Reply:
    method = environ["REQUEST_METHOD"]
    path = environ.get("PATH_INFO") or "/"
    handler = _ROUTES.get((method, path))
    if handler is not None:
        return handler(environ)
    if method == "GET" and path.startswith("/items/") and path[7:].isdigit():
        return get_item(environ, int(path[7:]))
    return _json(404, {"error": "not found"})


def application(environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
    status, headers, body = _route(environ)
    headers.append(("Content-Length", str(len(body))))
    start_response(_STATUS[status], headers)
    return [body]


def create_app() -> Callable:
    return application
