"""The benchmark API in Pyramid: a Configurator, routes, and view callables with the JSON
renderer; XML is picked by an ``accept`` view predicate, Pyramid's own negotiation."""

from __future__ import annotations

from typing import Any

from marshmallow import ValidationError
from pyramid.config import Configurator
from pyramid.httpexceptions import HTTPBadRequest, HTTPNotFound
from pyramid.request import Request
from pyramid.response import Response

from . import common

__all__ = ["create_app"]


def hello(request: Request) -> dict[str, str]:
    return {"message": "hello"}


def _dumped_item(request: Request) -> dict[str, Any]:
    item = common.get_item(int(request.matchdict["item_id"]))
    if item is None:
        raise HTTPNotFound()
    return common.ITEM_SCHEMA.dump(item)


def item_json(request: Request) -> dict[str, Any]:
    return _dumped_item(request)


def item_xml(request: Request) -> Response:
    return Response(body=common.item_xml(_dumped_item(request)), content_type="application/xml")


def list_items(request: Request) -> list[dict[str, Any]]:
    try:
        limit = common.parse_limit(request.GET.get("limit"))
    except ValueError as exc:
        raise HTTPBadRequest(str(exc)) from None
    return common.ITEM_SCHEMA.dump(common.list_items(limit), many=True)


def create_item(request: Request) -> Any:
    try:
        data = common.ITEM_SCHEMA.load(request.json_body)
    except ValidationError as exc:
        request.response.status_int = 422
        return {"errors": exc.messages}
    item = common.create_item(data)
    request.response.status_int = 201
    request.response.location = request.route_url("item", item_id=item["id"])
    return common.ITEM_SCHEMA.dump(item)


def create_app() -> Any:
    with Configurator() as config:
        config.add_route("hello", "/hello")
        config.add_route("items", "/items")
        config.add_route("item", r"/items/{item_id:\d+}")
        config.add_accept_view_order("application/json", weighs_more_than="application/xml")
        config.add_view(hello, route_name="hello", request_method="GET", renderer="json")
        config.add_view(list_items, route_name="items", request_method="GET", renderer="json")
        config.add_view(create_item, route_name="items", request_method="POST", renderer="json")
        view = {"route_name": "item", "request_method": "GET"}
        config.add_view(item_json, accept="application/json", renderer="json", **view)
        config.add_view(item_xml, accept="application/xml", **view)
        return config.make_wsgi_app()
