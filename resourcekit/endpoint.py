"""The per-route dispatch plan, computed once when a resource is registered."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any, TypeVar

from marshmallow import Schema

from . import hooks
from .declarations import check_resource
from .errors import ConfigurationError
from .methods import HANDLER_METHODS
from .negotiation import Negotiator
from .resource import Authentication, Resource
from .schemas import resolve
from .versioning import RouteVersions, Versions, deprecation_headers

if TYPE_CHECKING:
    from .auth import Authenticator, Permission
    from .hooks import Pair
    from .media import MediaHandler
    from .ratelimit import RateLimit

__all__ = ["Endpoint"]

V = TypeVar("V")


@dataclass(frozen=True)
class Endpoint:
    """A resource instance with its handlers by HTTP method, its ``Allow`` header and schemas."""

    resource: Resource
    handlers: dict[str, Callable[..., Any]]
    allowed: tuple[str, ...]
    """Every method the route answers, ``OPTIONS`` included, in the order of ``Allow``."""
    input_schema: Schema | None
    output_schema: Schema | None
    query_schema: Schema | None
    etag: Callable[..., str | None] | None
    last_modified: Callable[..., Any] | None
    cache_control: str | None
    require_preconditions: bool
    authenticators: dict[str, tuple[Authenticator, ...]]
    permissions: tuple[Permission, ...]
    rate_limit: RateLimit | None
    idempotent: bool
    hooks: tuple[Pair, ...]
    vary_headers: tuple[tuple[str, str], ...]
    """``Vary`` for each representation and its 304s: the request headers it depends on."""
    negotiator: Negotiator
    """Chooses the representation: the site's, or one of the site's formats and the
    resource's own (`Resource.media`) where it has some."""
    versioning: RouteVersions | None = None
    """What API versions change on this route (`resourcekit.versioning`); None: nothing."""
    deprecation: tuple[tuple[str, str], ...] = ()
    """``Deprecation``, ``Sunset`` and ``Link`` for a deprecated resource."""

    @cached_property
    def allow(self) -> str:
        """The ``Allow`` header's value."""
        return ", ".join(self.allowed)

    @cached_property
    def has_validators(self) -> bool:
        return self.etag is not None or self.last_modified is not None

    @cached_property
    def guarded(self) -> frozenset[str]:
        """The methods that pass checks before their handler (rate limit, authentication,
        permissions); the others skip the step."""
        if self.rate_limit is not None or self.permissions:
            return frozenset(self.handlers)
        return frozenset(self.authenticators)

    @cached_property
    def all_authenticators(self) -> tuple[Authenticator, ...]:
        """Every method's authenticators, once each, in the order they were configured."""
        return tuple(dict.fromkeys(a for found in self.authenticators.values() for a in found))

    @classmethod
    def build(
        cls,
        resource: type[Resource] | Resource,
        *,
        authentication: Authentication | None = None,
        rate_limit: RateLimit | None = None,
        idempotent: bool = False,
        fields: Collection[str] = (),
        versions: Versions | None = None,
        negotiator: Negotiator,
    ) -> Endpoint:
        """The plan for a resource class (instantiated without arguments) or a ready instance
        bound to a template with ``fields``; a wrong declaration is a `ConfigurationError`.

        The keyword arguments are the site's defaults, for what the resource leaves as None,
        its ``versions`` and its ``negotiator``.
        """
        if isinstance(resource, type) and issubclass(resource, Resource):
            resource = resource()
        if not isinstance(resource, Resource):
            raise ConfigurationError(
                f"{resource!r} is neither a Resource subclass nor an instance of one"
            )
        resource_class = type(resource)
        resource.bind(tuple(fields))
        check_resource(resource, fields)
        handlers = {
            name.upper(): getattr(resource, name)
            for name in HANDLER_METHODS
            if callable(getattr(resource, name, None))
        }
        if not handlers:
            raise ConfigurationError(
                f"{resource_class.__name__} defines none of {', '.join(HANDLER_METHODS)}"
            )
        if "GET" in handlers:
            handlers["HEAD"] = handlers["GET"]
        schema = resource_class.schema
        input_schema = resolve(resource_class.input_schema or schema)
        output_schema = resolve(resource_class.output_schema or schema)
        versioning = _versioning(resource_class, versions, input_schema, output_schema)
        vary = list(resource_class.vary)
        if versioning is not None and versioning.vary:
            vary.append(versioning.header)
        return cls(
            resource=resource,
            handlers=handlers,
            allowed=(*handlers, "OPTIONS"),
            input_schema=input_schema,
            output_schema=output_schema,
            query_schema=resolve(resource_class.query_schema),
            etag=_overridden(resource, "etag"),
            last_modified=_overridden(resource, "last_modified"),
            cache_control=resource_class.cache_control,
            require_preconditions=resource_class.require_preconditions,
            authenticators=_by_method(
                handlers, _own_or(resource_class.authentication, authentication)
            ),
            permissions=tuple(resource_class.permissions),
            rate_limit=_own_or(resource_class.rate_limit, rate_limit),
            idempotent=_own_or(resource_class.idempotent, idempotent),
            hooks=hooks.resolve(resource_class.hooks),
            vary_headers=(("Vary", ", ".join(vary)),) if vary else (),
            versioning=versioning,
            deprecation=_deprecation(resource_class, versions),
            negotiator=_negotiator(negotiator, resource_class.media),
        )


def _versioning(
    resource_class: type[Resource],
    versions: Versions | None,
    input_schema: Schema | None,
    output_schema: Schema | None,
) -> RouteVersions | None:
    owner = resource_class.__name__
    if versions is None:
        if resource_class.since is not None:
            raise ConfigurationError(
                f"{owner}.since is {resource_class.since!r}, but the site has no versions"
                " (Site(versions=Versions(...)))"
            )
        return None
    return versions.plan(owner, resource_class.since, input_schema, output_schema)


def _deprecation(
    resource_class: type[Resource], versions: Versions | None
) -> tuple[tuple[str, str], ...]:
    if resource_class.deprecated is None:
        return ()
    link = versions.deprecation_link if versions is not None else None
    return deprecation_headers(resource_class.deprecated, resource_class.sunset, link)


def _negotiator(site: Negotiator, own: Sequence[MediaHandler]) -> Negotiator:
    return Negotiator((*site.handlers, *own)) if own else site


def _own_or(own: V | None, site: V) -> V:
    """The resource's setting, or the site's where the resource leaves it as None."""
    return site if own is None else own


def _by_method(
    handlers: dict[str, Any], authentication: Authentication | None
) -> dict[str, tuple[Authenticator, ...]]:
    """Authenticators per handled method; ``HEAD`` as ``GET``. A mapping's ``"*"`` is the rest."""
    if authentication is None:
        return {}
    if not isinstance(authentication, Mapping):
        return {method: tuple(authentication) for method in handlers}
    rest = tuple(authentication.get("*", ()))
    chosen = {m: tuple(authentication.get(m.lower(), rest)) for m in handlers}
    if "GET" in chosen and "head" not in authentication:
        chosen["HEAD"] = chosen["GET"]
    return {method: found for method, found in chosen.items() if found}


def _overridden(resource: Resource, name: str) -> Callable[..., Any] | None:
    """The bound method if the subclass defines it, so the site skips what the base says None to."""
    if getattr(type(resource), name) is getattr(Resource, name):
        return None
    method: Callable[..., Any] = getattr(resource, name)
    return method
