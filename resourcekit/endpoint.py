"""The per-route dispatch plan, computed once when a resource is registered."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from marshmallow import Schema

from .resource import HANDLER_METHODS, Resource
from .schemas import resolve

__all__ = ["Endpoint"]


@dataclass(frozen=True)
class Endpoint:
    """A resource instance with its handlers by HTTP method, its ``Allow`` header and schemas."""

    resource: Resource
    handlers: dict[str, Callable[..., Any]]
    allow: str
    input_schema: Schema | None
    output_schema: Schema | None
    query_schema: Schema | None

    @classmethod
    def build(cls, resource: type[Resource] | Resource) -> Endpoint:
        """The plan for a resource class (instantiated without arguments) or a ready instance."""
        if isinstance(resource, type) and issubclass(resource, Resource):
            resource = resource()
        if not isinstance(resource, Resource):
            raise TypeError(f"{resource!r} is neither a Resource subclass nor an instance of one")
        resource_class = type(resource)
        handlers = {
            name.upper(): getattr(resource, name)
            for name in HANDLER_METHODS
            if callable(getattr(resource, name, None))
        }
        if not handlers:
            raise TypeError(f"{resource_class.__name__} defines none of {HANDLER_METHODS}")
        if "GET" in handlers:
            handlers["HEAD"] = handlers["GET"]
        allow = ", ".join([*handlers, "OPTIONS"])
        schema = resource_class.schema
        return cls(
            resource=resource,
            handlers=handlers,
            allow=allow,
            input_schema=resolve(resource_class.input_schema or schema),
            output_schema=resolve(resource_class.output_schema or schema),
            query_schema=resolve(resource_class.query_schema),
        )
