"""The benchmark API in Falcon 4: responder classes, ``resp.media`` for JSON, marshmallow."""

from __future__ import annotations

import falcon
from marshmallow import ValidationError

from . import common

__all__ = ["create_app"]

_OFFERS = ("application/json", "application/xml")


class Hello:
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = {"message": "hello"}


class Items:
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        try:
            limit = common.parse_limit(req.get_param("limit"))
        except ValueError as exc:
            raise falcon.HTTPBadRequest(description=str(exc)) from None
        resp.media = common.ITEM_SCHEMA.dump(common.list_items(limit), many=True)

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        try:
            data = common.ITEM_SCHEMA.load(req.get_media())
        except ValidationError as exc:
            resp.status = falcon.HTTP_422
            resp.media = {"errors": exc.messages}
            return
        item = common.create_item(data)
        resp.status = falcon.HTTP_201
        resp.location = f"{req.prefix}/items/{item['id']}"
        resp.media = common.ITEM_SCHEMA.dump(item)


class Item:
    def on_get(self, req: falcon.Request, resp: falcon.Response, item_id: int) -> None:
        item = common.get_item(item_id)
        if item is None:
            raise falcon.HTTPNotFound()
        data = common.ITEM_SCHEMA.dump(item)
        if req.client_prefers(_OFFERS) == "application/xml":
            resp.content_type = falcon.MEDIA_XML
            resp.data = common.item_xml(data)
        else:
            resp.media = data


def create_app() -> falcon.App:
    app = falcon.App()
    app.add_route("/hello", Hello())
    app.add_route("/items", Items())
    app.add_route("/items/{item_id:int}", Item())
    return app
