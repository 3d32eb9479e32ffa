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
    etag: Callable[..., str | None] | None
    last_modified: Callable[..., Any] | None
    cache_control: str | None
    require_preconditions: bool

    @property
    def has_validators(self) -> bool:
        return self.etag is not None or self.last_modified is not None

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
            etag=_overridden(resource, "etag"),
            last_modified=_overridden(resource, "last_modified"),
            cache_control=resource_class.cache_control,
            require_preconditions=resource_class.require_preconditions,
        )


def _overridden(resource: Resource, name: str) -> Callable[..., Any] | None:
    """The bound method if the subclass defines it, so the site skips what the base says None to."""
    if getattr(type(resource), name) is getattr(Resource, name):
        return None
    return getattr(resource, name)
