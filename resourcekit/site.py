"""The site: a registry of resources by URI template, and the WSGI application that serves them.

One request takes one path through `Site.__call__`: route, method, negotiation, handler,
representation. Anything raised on the way becomes a problem document (`resourcekit.errors`).
"""

from __future__ import annotations

import logging
import time
import traceback
from collections.abc import Callable, Iterable, Sequence
from email.utils import formatdate
from typing import Any, TypeVar
from urllib.parse import unquote, urlsplit

import webob
import webob.exc

from . import errors
from .conditional import (
    SAFE_METHODS,
    ETag,
    Validators,
    auto_etag,
    evaluate,
    parse_etag,
    precondition_failed,
    require_precondition,
    variant,
)
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
_NO_STATE = Validators()  # a resource without validators: no tags, assumed to exist


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
        self._tag_suffixes = tuple(set(self.negotiator.tag_suffixes.values()))
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
        headers.append(("Date", _now()))
        start_response(errors.STATUS_LINES.get(status) or f"{status} Unknown", headers)
        return [] if environ["REQUEST_METHOD"] == "HEAD" else [body]

    def _dispatch(self, request: Request) -> Reply | webob.Response:
        environ = request.environ
        method = environ["REQUEST_METHOD"]
        if method not in KNOWN_METHODS:
            raise errors.HTTPError(501, f"{method} is not a method this server knows")
        match = self.router.match(_path(environ), _raw_segments(environ))
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
            return self._unacceptable(request, handler, params)
        self._check_declared_length(request)
        validators = self._preconditions(request, endpoint, params)
        if validators is not None and method in SAFE_METHODS and validators.etag is not None:
            etag = self._variant(validators, choice)
            stop = evaluate(method, environ, validators.selecting(etag))
            if stop is not None:
                return self._stop(stop, endpoint, validators, etag)
        reply = self._represent(request, endpoint, choice, handler(request, **params))
        if isinstance(reply, webob.Response) or not 200 <= reply[0] < 300:
            return reply
        if method in SAFE_METHODS:
            return self._cacheable(request, endpoint, choice, validators, reply)
        if method in ("PUT", "PATCH") and endpoint.has_validators:
            request._memo = None
            fresh = self._validators(request, endpoint, params)
            return reply[0], [*reply[1], *fresh.headers(self._variant(fresh, choice))], reply[2]
        return reply

    def _unacceptable(
        self, request: Request, handler: Callable[..., Any], params: dict[str, Any]
    ) -> webob.Response:
        """406, unless a safe handler answers with a ``webob.Response`` of its own media type.

        An unsafe handler never runs when its answer cannot be represented.
        """
        if request.method in SAFE_METHODS:
            result = handler(request, **params)
            if isinstance(result, webob.Response):
                return result
        raise errors.NotAcceptable(
            "none of the media types this resource has is acceptable",
            available=list(self.negotiator.offers),
        )

    def _preconditions(
        self, request: Request, endpoint: Endpoint, params: dict[str, Any]
    ) -> Validators | None:
        """Check the conditions of an unsafe request; the validators of a safe one, if any.

        Unsafe methods are checked here, before the handler; safe ones whose resource has an
        ``etag`` are checked by the caller; safe ones without wait for the body's own tag.
        """
        environ = request.environ
        method = environ["REQUEST_METHOD"]
        if endpoint.require_preconditions and method in ("PUT", "PATCH", "DELETE"):
            require_precondition(environ)
        validators = None
        if endpoint.has_validators:
            validators = self._validators(request, endpoint, params)
        if method not in SAFE_METHODS and evaluate(method, environ, validators or _NO_STATE):
            raise precondition_failed()
        return validators

    def _validators(
        self, request: Request, endpoint: Endpoint, params: dict[str, Any]
    ) -> Validators:
        raw = endpoint.etag(request, **params) if endpoint.etag else None
        modified = endpoint.last_modified(request, **params) if endpoint.last_modified else None
        etag = parse_etag(raw) if raw is not None else None
        return Validators.of(etag, modified, self._tag_suffixes)

    def _variant(self, validators: Validators, choice: Choice) -> ETag | None:
        if validators.etag is None:
            return None
        return variant(validators.etag, self.negotiator.tag_suffixes[choice[0]])

    def _cacheable(
        self,
        request: Request,
        endpoint: Endpoint,
        choice: Choice,
        validators: Validators | None,
        reply: Reply,
    ) -> Reply:
        """Validators and ``Cache-Control`` for a successful ``GET``/``HEAD``.

        Without a resource ``etag``, the tag is made from the body and the conditions are
        checked against it now, so ``If-None-Match`` still earns a 304.
        """
        status, headers, body = reply
        etag = self._variant(validators, choice) if validators is not None else None
        if etag is None and status == 200:
            etag = auto_etag(body)
            validators = Validators(
                etag,
                validators.last_modified if validators else None,
                (etag,),
            )
            stop = evaluate(request.environ["REQUEST_METHOD"], request.environ, validators)
            if stop is not None:
                return self._stop(stop, endpoint, validators, etag)
        extra = validators.headers(etag) if validators is not None else []
        if endpoint.cache_control:
            extra.append(("Cache-Control", endpoint.cache_control))
        return status, [*headers, *extra], body

    def _stop(
        self, status: int, endpoint: Endpoint, validators: Validators, etag: ETag | None
    ) -> Reply:
        """304 Not Modified (validators, caching headers, no body), or raise 412."""
        if status == 412:
            raise precondition_failed()
        headers = [*validators.headers(etag), ("Vary", "Accept")]
        if endpoint.cache_control:
            headers.append(("Cache-Control", endpoint.cache_control))
        return 304, headers, b""

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


def _raw_segments(environ: dict[str, Any]) -> list[str] | None:
    """The path's segments decoded one by one, where the raw request line has ``%2F``.

    PATH_INFO is decoded whole, which turns an encoded slash into a separator; servers that
    pass the raw request line (waitress's ``REQUEST_URI``, gunicorn's ``RAW_URI``) let a
    ``{field}`` hold a slash, as `Site.url_for` encodes it.
    """
    raw = environ.get("REQUEST_URI") or environ.get("RAW_URI")
    if not raw or "%2f" not in raw.lower():
        return None
    segments = urlsplit(raw).path.split("/")[1:]
    script_name = environ.get("SCRIPT_NAME", "").strip("/")
    if script_name:
        segments = segments[script_name.count("/") + 1 :]
    try:
        return [unquote(segment, errors="strict") for segment in segments]
    except UnicodeDecodeError:
        raise errors.BadRequest("the path is not valid UTF-8") from None


_clock: list[Any] = [0, ""]


def _now() -> str:
    """The ``Date`` header (RFC 9110 section 6.6.1), formatted once per second."""
    second = int(time.time())
    if _clock[0] != second:
        _clock[:] = [second, formatdate(second, usegmt=True)]
    return _clock[1]
