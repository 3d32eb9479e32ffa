"""The benchmark API in Django REST Framework: ``APIView`` classes returning ``Response``.

The views use the shared marshmallow schemas, as every app here does, so only the framework
glue differs; XML is a renderer, picked by DRF's own negotiation. No authentication, as in the
other peers.
"""

from __future__ import annotations

from typing import Any

from marshmallow import ValidationError
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from . import common

__all__ = ["Hello", "Item", "Items"]


class XMLRenderer(BaseRenderer):
    media_type = "application/xml"
    format = "xml"

    def render(self, data: Any, accepted_media_type: str | None = None,
               renderer_context: dict[str, Any] | None = None) -> bytes:
        return common.item_xml(data)


class Hello(APIView):
    def get(self, request: Request) -> Response:
        return Response({"message": "hello"})


class Items(APIView):
    def get(self, request: Request) -> Response:
        try:
            limit = common.parse_limit(request.query_params.get("limit"))
        except ValueError as exc:
            return Response({"error": str(exc)}, status=400)
        return Response(common.ITEM_SCHEMA.dump(common.list_items(limit), many=True))

    def post(self, request: Request) -> Response:
        try:
            data = common.ITEM_SCHEMA.load(request.data)
        except ValidationError as exc:
            return Response({"errors": exc.messages}, status=422)
        item = common.create_item(data)
        location = request.build_absolute_uri(f"/items/{item['id']}")
        return Response(common.ITEM_SCHEMA.dump(item), status=201, headers={"Location": location})


class Item(APIView):
    renderer_classes = [JSONRenderer, XMLRenderer]

    def get(self, request: Request, item_id: int) -> Response:
        item = common.get_item(item_id)
        if item is None:
            return Response({"error": "no such item"}, status=404)
        return Response(common.ITEM_SCHEMA.dump(item))
