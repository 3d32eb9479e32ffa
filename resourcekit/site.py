"""The site: a registry of resources by URI template, and the WSGI application that serves them.

One request takes one path through `Site.__call__`: route, method, negotiation, handler,
representation. Anything raised on the way becomes a problem document (`resourcekit.errors`).
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

import webob
import webob.exc

from . import errors
from .endpoint import Endpoint
from .media import MediaHandler
from .media.json import JSONHandler
from .media.xml import XMLHandler
from .negotiation import Choice, Negotiator
from .request import Request
from .resource import Resource
from .results import Result
from .routing import Route, RouteError, Router

__all__ = ["Site"]

logger = logging.getLogger("resourcekit")

R = TypeVar("R", bound=type[Resource])
Reply = tuple[int, list[tuple[str, str]], bytes]

KNOWN_METHODS = frozenset(
    {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT"}
)
_NO_BODY_STATUSES = frozenset({204, 304})


class Site:
    """A registry of resources and the WSGI application serving them.

    ``debug=True`` puts tracebacks in 500 problems; never in production. ``media`` replaces the
    handlers (JSON then XML by default; the first is the default for clients that accept anything).
    ``max_body_size`` caps request bodies, in bytes (413 beyond it).
    """

    request_class: type[Request] = Request

    def __init__(
        self,
        title: str = "API",
        version: str = "0.1.0",
        *,
        description: str | None = None,
        debug: bool = False,
        media: Sequence[MediaHandler] | None = None,
        max_body_size: int = 1024 * 1024,
    ) -> None:
        self.title = title
        self.version = version
        self.description = description
        self.debug = debug
        self.max_body_size = max_body_size
        self.negotiator = Negotiator(media if media is not None else (JSONHandler(), XMLHandler()))
        self.router: Router[Endpoint] = Router()
        self._by_name: dict[str, Route[Endpoint]] = {}
        self._by_class: dict[type[Resource], Route[Endpoint]] = {}

    # -- registration -------------------------------------------------------------------------

    def route(self, template: str, name: str | None = None) -> Callable[[R], R]:
        """Class decorator: ``@site.route("/notes/{note_id:int}")``."""

        def register(resource_class: R) -> R:
            self.add(template, resource_class, name=name)
            return resource_class

        return register

    def add(
        self, template: str, resource: type[Resource] | Resource, name: str | None = None
    ) -> Route:
        """Bind a resource to ``template``; ``name`` (default: the class name) is for `url_for`.

        ``resource`` is a `Resource` subclass, instantiated once without arguments, or an instance
        built by the caller, which is how a resource receives its dependencies (a database, a
        client): ``site.add("/stations", Stations(store))``. Raises
        `resourcekit.routing.RouteError` for a malformed or conflicting template.
        """
        resource_class = resource if isinstance(resource, type) else type(resource)
        name = name or resource_class.__name__
        if name in self._by_name:
            raise RouteError(
                f"route name {name!r} is taken by {self._by_name[name].template!r}; pass name="
            )
        route = self.router.add(template, name, Endpoint.build(resource))
        self._by_name[name] = route
        self._by_class.setdefault(resource_class, route)
        return route

    @property
    def routes(self) -> list[Route[Endpoint]]:
        return list(self.router.routes)

    def url_for(self, target: type[Resource] | str, /, **fields: Any) -> str:
        """The path of a resource (by class or route name) below the site's root."""
        route = self._by_name.get(target) if isinstance(target, str) else self._by_class.get(target)
        if route is None:
            raise LookupError(f"no route for {target!r}")
        return route.build(fields)

    # -- serving ------------------------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        request = self.request_class(environ)
        request._site = self
        try:
            reply = self._dispatch(request)
        except errors.HTTPError as error:
            if error.status >= 500 and error.status != 501:
                logger.error("%s %s: %s", request.method, request.path_qs, error, exc_info=error)
            reply = self._problem(request, error)
        except webob.exc.HTTPException as exc:
            reply = self._webob_exception(request, exc)
        except Exception as exc:
            reply = self._problem(request, self._unexpected(request, exc))
        if isinstance(reply, webob.Response):
            return reply(environ, start_response)
        status, headers, body = reply
        start_response(errors.STATUS_LINES.get(status) or f"{status} Unknown", headers)
        return [] if environ["REQUEST_METHOD"] == "HEAD" else [body]

    def _dispatch(self, request: Request) -> Reply | webob.Response:
        environ = request.environ
        method = environ["REQUEST_METHOD"]
        if method not in KNOWN_METHODS:
            raise errors.HTTPError(501, f"{method} is not a method this server knows")
        match = self.router.match(_path(environ))
        if match is None:
            raise errors.NotFound("no resource at this address")
        route, params = match
        endpoint = route.target
        request._endpoint = endpoint
        handler = endpoint.handlers.get(method)
        if handler is None:
            if method == "OPTIONS":
                return 204, [("Allow", endpoint.allow)], b""
            raise errors.MethodNotAllowed(
                f"{route.template} does not support {method}", allow=endpoint.allow.split(", ")
            )
        choice = self.negotiator.select(environ.get("HTTP_ACCEPT"))
        if choice is None:
            raise errors.NotAcceptable(
                "none of the media types this resource has is acceptable",
                available=list(self.negotiator.offers),
            )
        self._check_declared_length(request)
        return self._represent(request, endpoint, choice, handler(request, **params))

    def _check_declared_length(self, request: Request) -> None:
        length = request.content_length
        if length is not None and length > self.max_body_size:
            raise errors.PayloadTooLarge(f"the body may be at most {self.max_body_size} bytes")

    def _represent(
        self, request: Request, endpoint: Endpoint, choice: Choice, result: Any
    ) -> Reply | webob.Response:
        if result is None:
            return 204, [], b""
        if isinstance(result, webob.Response):
            return result
        if isinstance(result, Result):
            status, headers, obj, many = (
                result.status, result.headers_for(request), result.obj, result.many
            )
            if obj is None:
                return status, [*headers, ("Content-Length", "0")], b""
        else:
            status, headers, obj, many = 200, [], result, isinstance(result, list | tuple)
        schema = endpoint.output_schema
        data = schema.dump(obj, many=many) if schema is not None else obj
        handler, content_type = choice
        body = handler.render(data, schema, many)
        return status, [
            ("Content-Type", content_type),
            ("Content-Length", str(len(body))),
            ("Vary", "Accept"),
            *headers,
        ], body

    # -- errors -------------------------------------------------------------------------------

    def _problem(self, request: Request, error: errors.HTTPError) -> Reply:
        handler, content_type = self.negotiator.select_problem(
            request.environ.get("HTTP_ACCEPT")
        )
        body = handler.render_problem(error.to_problem())
        return error.status, [
            ("Content-Type", content_type),
            ("Content-Length", str(len(body))),
            ("Vary", "Accept"),
            *error.headers,
        ], body

    def _unexpected(self, request: Request, exc: Exception) -> errors.HTTPError:
        logger.error("unhandled error in %s %s", request.method, request.path_qs, exc_info=exc)
        extra = {"traceback": traceback.format_exception(exc)} if self.debug else {}
        return errors.InternalServerError("the server failed to answer this request", **extra)

    def _webob_exception(
        self, request: Request, exc: webob.exc.HTTPException
    ) -> Reply | webob.Response:
        """webob's HTTP exceptions work too: redirects pass through, errors become problems."""
        if exc.code < 400:
            return exc
        headers = [(k, v) for k, v in exc.headerlist if k.lower() in ("allow", "www-authenticate")]
        return self._problem(
            request, errors.HTTPError(exc.code, exc.detail or exc.explanation, headers=headers)
        )


def _path(environ: dict[str, Any]) -> str:
    """PATH_INFO as text: WSGI hands it over as latin-1 decoded bytes, URLs are UTF-8."""
    path = environ.get("PATH_INFO") or "/"
    if path.isascii():
        return path
    try:
        return path.encode("latin-1").decode("utf-8")
    except UnicodeError:
        raise errors.BadRequest("the path is not valid UTF-8") from None
