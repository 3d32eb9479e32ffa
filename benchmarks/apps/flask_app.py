"""The benchmark API in Flask + Flask-RESTful: ``Resource`` classes returning dicts, and an
``application/xml`` representation registered on the ``Api``, Flask-RESTful's own negotiation."""

from __future__ import annotations

from typing import Any

from flask import Flask, make_response, request, url_for
from flask_restful import Api, Resource, abort
from marshmallow import ValidationError

from . import common

__all__ = ["create_app"]


class Hello(Resource):
    def get(self) -> dict[str, str]:
        return {"message": "hello"}


class Items(Resource):
    def get(self) -> Any:
        try:
            limit = common.parse_limit(request.args.get("limit"))
        except ValueError as exc:
            abort(400, message=str(exc))
        return common.ITEM_SCHEMA.dump(common.list_items(limit), many=True)

    def post(self) -> Any:
        try:
            data = common.ITEM_SCHEMA.load(request.get_json())
        except ValidationError as exc:
            return {"errors": exc.messages}, 422
        item = common.create_item(data)
        location = url_for("item", item_id=item["id"], _external=True)
        return common.ITEM_SCHEMA.dump(item), 201, {"Location": location}


class Item(Resource):
    def get(self, item_id: int) -> Any:
        item = common.get_item(item_id)
        if item is None:
            abort(404, message="no such item")
        return common.ITEM_SCHEMA.dump(item)


def output_xml(data: Any, code: int, headers: dict[str, str] | None = None) -> Any:
    response = make_response(common.item_xml(data), code)
    response.headers.extend(headers or {})
    response.headers["Content-Type"] = "application/xml"
    return response


def create_app() -> Flask:
    app = Flask(__name__)
    api = Api(app)
    api.representation("application/xml")(output_xml)
    api.add_resource(Hello, "/hello")
    api.add_resource(Items, "/items")
    api.add_resource(Item, "/items/<int:item_id>", endpoint="item")
    return app
