"""The site: a registry of resources by URI template, and the WSGI application that serves them.

Every request takes one path through `Site.__call__`:

1. trusted-proxy resolution, site hooks' ``before``;
2. method known (501), route (404), method allowed (405, ``OPTIONS``, CORS preflight);
3. declared body size (413), rate limit (429), authentication (401), permissions (403);
4. representation acceptable (406): a safe handler may still answer with a ``webob.Response``
   of its own media type, so this comes after the checks that guard it;
5. ``Idempotency-Key`` (replay, 409, 422), then preconditions (412, 428, 304): a retried
   conditional write is replayed, though its first run changed what its preconditions name;
6. resource hooks' ``before``, the handler, its result rendered; ``Prefer: return=minimal``;
   validators and caching headers;
7. ``after`` hooks; ``Date``, ``X-Content-Type-Options``, CORS and rate-limit headers on every
   reply, errors included.

Anything raised on the way becomes a problem document (`resourcekit.errors`).
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
from .auth import authenticate, check_permissions
from .conditional import Preconditions, auto_etag, has_conditions
from .cors import CORS, is_preflight
from .endpoint import Endpoint
from .hooks import Pair
from .hooks import resolve as resolve_hooks
from .hosts import AllowedHosts
from .hosts import check as check_host
from .idempotency import BeginState, Idempotency, StoredResponse
from .media import MediaHandler
from .media.html import HTMLHandler
from .media.json import JSONHandler
from .media.xml import XMLHandler
from .methods import IDEMPOTENCY_KEYED, KNOWN_METHODS, SAFE_METHODS
from .negotiation import Choice, Negotiator
from .proxies import TrustedProxies
from .ratelimit import RateLimit
from .reply import Reply
from .request import LimitedInput, Request, too_large
from .resource import Authentication, Resource
from .results import Result
from .routing import Route, RouteError, Router

__all__ = ["Site"]

logger = logging.getLogger("resourcekit")

R = TypeVar("R", bound=type[Resource])

_MINIMAL_STATUS = {200: 204}  # Prefer: return=minimal; other statuses keep theirs, bodiless
_NOSNIFF = "X-Content-Type-Options"
_SENT_WITH_EVERY_REPLY = ((_NOSNIFF, "nosniff"),)
"""A body is read as its ``Content-Type`` says, never sniffed (a JSON string as a script)."""


class Site:
    """A registry of resources and the WSGI application serving them.

    ``debug=True`` puts tracebacks in 500 problems: never in production. ``media`` replaces the
    handlers (JSON then XML by default; the first answers clients that accept anything).
    ``max_body_size`` caps request bodies in bytes (413 beyond it). ``authentication``,
    ``rate_limit`` and ``idempotent`` are defaults for resources that leave theirs as None;
    ``idempotency`` configures the key store. ``cors`` lists browser origins (or is a `CORS`);
    ``trusted_proxies`` lists the peers whose ``Forwarded``/``X-Forwarded-*`` are believed;
    ``allowed_hosts`` lists the host names the site answers to (others get 400; see
    `resourcekit.hosts`), and a ``Host`` that is not ``host[:port]`` is 400 regardless;
    ``hooks`` run around every request (see `resourcekit.hooks`). ``docs=True`` serves the
    OpenAPI document at ``/openapi.json`` and an interactive page at ``/docs``; ``license``
    (an OpenAPI License Object, ``{"name": ..., "identifier": ...}``) and ``servers`` (Server
    Objects) go into that document as given.
    """

    request_class: type[Request] = Request

    def __init__(
        self,
        title: str = "API",
        version: str = "0.1.0",
        *,
        description: str | None = None,
        license: dict[str, Any] | None = None,
        servers: list[dict[str, Any]] | None = None,
        debug: bool = False,
        media: Sequence[MediaHandler] | None = None,
        max_body_size: int = 1024 * 1024,
        authentication: Authentication | None = None,
        rate_limit: RateLimit | None = None,
        idempotent: bool = False,
        idempotency: Idempotency | None = None,
        cors: CORS | Sequence[str] | None = None,
        trusted_proxies: TrustedProxies | Sequence[str] | None = None,
        allowed_hosts: AllowedHosts | Sequence[str] | None = None,
        hooks: Sequence[Any] = (),
        docs: bool = False,
    ) -> None:
        self.title = title
        self.version = version
        self.description = description
        self.license = license
        self.servers = servers
        self.debug = debug
        self.max_body_size = max_body_size
        self.authentication = authentication
        self.rate_limit = rate_limit
        self.idempotent = idempotent
        self.idempotency = idempotency or Idempotency()
        self.cors = CORS.coerce(cors)
        self.trusted_proxies = TrustedProxies.coerce(trusted_proxies)
        self.allowed_hosts = AllowedHosts.coerce(allowed_hosts)
        self.hooks = resolve_hooks(hooks)
        self.negotiator = Negotiator(
            media if media is not None else (JSONHandler(), XMLHandler(), HTMLHandler())
        )
        self.preconditions = Preconditions(self.negotiator.tag_suffixes)
        base = self.request_class
        self._request_class = type(base.__name__, (base,), {"_site": self})  # knows its site
        self.router: Router[Endpoint] = Router()
        self._by_name: dict[str, Route[Endpoint]] = {}
        self._by_class: dict[type[Resource], Route[Endpoint]] = {}
        self.docs = docs
        if docs:
            from .docs import install  # only sites that serve docs import apispec

            install(self)

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
        endpoint = Endpoint.build(
            resource,
            authentication=self.authentication,
            rate_limit=self.rate_limit,
            idempotent=self.idempotent,
        )
        route = self.router.add(template, name, endpoint)
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

    def openapi(self) -> dict[str, Any]:
        """The OpenAPI 3.1 document of this site's routes, schemas, media types and problems."""
        from .openapi import document  # only sites that describe themselves import apispec

        return document(self)

    # -- serving ------------------------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        if self.trusted_proxies is not None:
            _believe_proxies(environ, self.trusted_proxies)
        if "CONTENT_LENGTH" not in environ and environ.get("wsgi.input_terminated"):
            environ["wsgi.input"] = LimitedInput(environ["wsgi.input"], self.max_body_size)
        request = self._request_class(environ)
        reply = self._handle(request)
        headers = reply.headers
        if request._late_headers:
            headers.extend(request._late_headers)
        if self.cors is not None and not request._preflight:
            headers.extend(self.cors.response_headers(environ))
        headers += _SENT_WITH_EVERY_REPLY
        headers.append(("Date", _now()))
        start_response(errors.STATUS_LINES.get(reply.status) or f"{reply.status} Unknown", headers)
        return [] if environ["REQUEST_METHOD"] == "HEAD" else [reply.body]

    def _handle(self, request: Request) -> Reply:
        """The reply, errors included, with the ``after`` hooks run around it."""
        try:
            check_host(request.environ, self.allowed_hosts)  # before anything builds a link
            if self.hooks:
                self._run_befores(request, self.hooks)
            reply = self._dispatch(request)
        except Exception as exc:
            reply = self._error(request, exc)
        if request._afters:
            for after in reversed(request._afters):
                try:
                    after(request, reply)
                except Exception as exc:
                    reply = self._error(request, exc)
        return reply

    @staticmethod
    def _run_befores(request: Request, pairs: tuple[Pair, ...]) -> None:
        if request._afters is None:
            request._afters = []
        for before, after in pairs:
            if before is not None:
                before(request)
            if after is not None:
                request._afters.append(after)

    def _dispatch(self, request: Request) -> Reply:
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
                return self._options(request, endpoint)
            raise errors.MethodNotAllowed(
                f"{route.template} does not support {method}", allow=endpoint.allowed
            )
        if "CONTENT_LENGTH" in environ:
            self._check_declared_length(request)
        if method in endpoint.guarded:
            self._guard(request, endpoint, method)
        choice = self.negotiator.select(environ.get("HTTP_ACCEPT"))
        if choice is None:
            return self._unacceptable(request, handler, params)
        # `before` has work only with validators to load, or a write to require or evaluate
        conditional = endpoint.has_validators or (
            method not in SAFE_METHODS
            and (endpoint.require_preconditions or has_conditions(environ))
        )
        if endpoint.idempotent and method in IDEMPOTENCY_KEYED:
            scope = f"{request.identity!r} {method} {request.path}"  # no client meets another's
            key = self.idempotency.key_for(request, scope)
            if key is not None:
                return self._once(request, key, conditional, endpoint, choice, handler, params)
        validators = None
        if conditional:
            validators, stop = self.preconditions.before(request, endpoint, params, choice[0])
            if stop is not None:
                etag = self.preconditions.tag(validators, choice[0])
                return self._not_modified(endpoint, validators, etag)
        return self._run(request, endpoint, choice, handler, params, validators)

    def _run(
        self,
        request: Request,
        endpoint: Endpoint,
        choice: Choice,
        handler: Callable[..., Any],
        params: dict[str, Any],
        validators: Any,
    ) -> Reply:
        """The resource's ``before`` hooks, the handler, its result represented and finished."""
        if endpoint.hooks:
            self._run_befores(request, endpoint.hooks)
        reply = self._represent(request, endpoint, choice, handler(request, **params))
        return self._finish(request, endpoint, choice, params, validators, reply)

    def _options(self, request: Request, endpoint: Endpoint) -> Reply:
        """``Allow``, and the CORS preflight answer where the request is one."""
        headers = [("Allow", endpoint.allow)]
        if self.cors is not None and is_preflight(request.environ):
            request._preflight = True
            headers += self.cors.preflight_headers(request.environ, endpoint.allowed)
        return Reply(204, headers)

    def _unacceptable(
        self, request: Request, handler: Callable[..., Any], params: dict[str, Any]
    ) -> Reply:
        """406, unless a safe handler answers with a ``webob.Response`` of its own media type.

        An unsafe handler never runs when its answer cannot be represented.
        """
        if request.method in SAFE_METHODS:
            result = handler(request, **params)
            if isinstance(result, webob.Response):
                return _from_webob(result)
        raise errors.NotAcceptable(
            "none of the media types this resource has is acceptable",
            available=list(self.negotiator.offers),
        )

    def _check_declared_length(self, request: Request) -> None:
        length = request.content_length
        if length and length > self.max_body_size:
            raise too_large(self.max_body_size)

    def _guard(self, request: Request, endpoint: Endpoint, method: str) -> None:
        """Rate limit, authentication, permissions.

        A permission that fails for an anonymous client is 401 with the challenges, not 403:
        credentials might change the answer (RFC 9110 section 15.5.2). Credentials sent for a
        method that does not ask for them are read then, and the permissions asked again.
        """
        if endpoint.rate_limit is not None:
            request._late_headers = endpoint.rate_limit.check(request)
        authenticators = endpoint.authenticators.get(method)
        if authenticators:
            request.identity = authenticate(request, authenticators)
        if endpoint.permissions:
            try:
                check_permissions(request, endpoint.resource, endpoint.permissions)
            except errors.Forbidden:
                every = endpoint.all_authenticators
                if request.identity is not None or not every:
                    raise
                request.identity = authenticate(request, every)  # 401 with every challenge
                check_permissions(request, endpoint.resource, endpoint.permissions)

    def _once(
        self,
        request: Request,
        key: str,
        conditional: bool,
        endpoint: Endpoint,
        choice: Choice,
        handler: Callable[..., Any],
        params: dict[str, Any],
    ) -> Reply:
        """Run a ``POST``/``PATCH`` with an ``Idempotency-Key`` once; replay it for repeats.

        The key is looked up before the preconditions are evaluated: a conditional write that
        succeeded changed the validators its ``If-Match`` names, and its retry is replayed, not
        refused with 412. Preconditions that fail free the key, as nothing ran. Only a complete
        reply is kept: an exception or a 5xx frees the key for a retry.
        """
        idempotency = self.idempotency
        begin = idempotency.begin(key, idempotency.fingerprint(request))
        if begin.state is BeginState.REPLAY:
            stored = idempotency.replayed(begin.response)
            return Reply(stored.status, list(stored.headers), stored.body)
        validators = None
        if conditional:  # a write: 412 or 428 is raised, never a 304 returned
            try:
                validators, _ = self.preconditions.before(request, endpoint, params, choice[0])
            except BaseException:
                idempotency.release(key, begin)
                raise
        request.idempotency_key = key
        try:
            reply = self._run(request, endpoint, choice, handler, params, validators)
        except errors.HTTPError as error:
            reply = self._error(request, error)
        except BaseException:
            idempotency.release(key, begin)
            raise
        idempotency.complete(key, begin, StoredResponse(reply.status, reply.headers, reply.body))
        return reply

    def _finish(
        self,
        request: Request,
        endpoint: Endpoint,
        choice: Choice,
        params: dict[str, Any],
        validators: Any,
        reply: Reply,
    ) -> Reply:
        """Validators and caching headers on a success; ``Prefer: return=minimal``."""
        if not 200 <= reply.status < 300 or request._passthrough:
            return reply
        method = request.environ["REQUEST_METHOD"]
        if method in SAFE_METHODS:
            return self._cacheable(request, endpoint, choice, validators, reply)
        if method in ("PUT", "PATCH") and endpoint.has_validators:
            request._memo = None  # the handler changed the state: load it afresh
            fresh = self.preconditions.validators(request, endpoint, params)
            reply.headers += fresh.headers(self.preconditions.tag(fresh, choice[0]))
        if method != "DELETE" and _prefers_minimal(request.environ):
            reply.status = _MINIMAL_STATUS.get(reply.status, reply.status)
            reply.headers = [
                (k, v) for k, v in reply.headers if k not in ("Content-Type", "Content-Length")
            ]
            if reply.status != 204:
                reply.headers.append(("Content-Length", "0"))
            reply.headers.append(("Preference-Applied", "return=minimal"))
            reply.body = b""
        return reply

    def _cacheable(
        self, request: Request, endpoint: Endpoint, choice: Choice, validators: Any, reply: Reply
    ) -> Reply:
        """Validators and ``Cache-Control`` for a successful ``GET``/``HEAD``; 304 where the
        body's own tag now matches ``If-None-Match``."""
        if reply.status == 200:
            etag = self.preconditions.tag(validators, choice[0])
            if etag is None:
                etag = auto_etag(reply.body)
                if has_conditions(request.environ):  # checked only now: the tag is the body's
                    validators = self.preconditions.for_body(validators, etag)
                    if self.preconditions.not_modified(request, validators):
                        return self._not_modified(endpoint, validators, etag)
            if validators is None:
                reply.headers.append(("ETag", str(etag)))
            else:
                reply.headers += validators.headers(etag)
        if endpoint.cache_control:
            reply.headers.append(("Cache-Control", endpoint.cache_control))
        return reply

    @staticmethod
    def _not_modified(endpoint: Endpoint, validators: Any, etag: Any) -> Reply:
        """304: the validators and caching headers a 200 would carry, and no body."""
        headers = [*validators.headers(etag), ("Vary", "Accept")]
        if endpoint.cache_control:
            headers.append(("Cache-Control", endpoint.cache_control))
        return Reply(304, headers)

    def _represent(
        self, request: Request, endpoint: Endpoint, choice: Choice, result: Any
    ) -> Reply:
        """The reply for what a handler returned (the contract's return-value rules)."""
        if result is None:
            return Reply(204, [])
        if isinstance(result, webob.Response):
            request._passthrough = True
            return _from_webob(result)
        if isinstance(result, Result):
            status, headers, obj, many = (
                result.status, result.headers_for(request), result.obj, result.many
            )
            if obj is None:
                return Reply(status, [*headers, ("Content-Length", "0")])
        else:
            status, headers, obj, many = 200, [], result, isinstance(result, list | tuple)
        schema = endpoint.output_schema
        data = schema.dump(obj, many=many) if schema is not None else obj
        handler, content_type = choice
        body = handler.represent(request, data, schema, many)
        return Reply(status, [
            ("Content-Type", content_type),
            ("Content-Length", str(len(body))),
            ("Vary", "Accept"),
            *handler.response_headers,
            *headers,
        ], body)

    # -- errors -------------------------------------------------------------------------------

    def _error(self, request: Request, exc: Exception) -> Reply:
        """The reply for anything raised: a problem, or a webob redirect as it is.

        Server errors are logged with the path, never the query string, which carries tokens
        and personal data as often as filters.
        """
        if isinstance(exc, errors.HTTPError):
            if exc.status >= 500 and exc.status != 501:
                logger.error("%s %s: %s", request.method, request.path, exc, exc_info=exc)
            return self._problem(request, exc)
        if isinstance(exc, webob.exc.HTTPException):
            if exc.code < 400:
                return _from_webob(exc)
            headers = [
                (k, v) for k, v in exc.headerlist if k.lower() in ("allow", "www-authenticate")
            ]
            error = errors.HTTPError(exc.code, exc.detail or exc.explanation, headers=headers)
            return self._problem(request, error)
        logger.error("unhandled error in %s %s", request.method, request.path, exc_info=exc)
        extra = {"traceback": traceback.format_exception(exc)} if self.debug else {}
        error = errors.InternalServerError("the server failed to answer this request", **extra)
        return self._problem(request, error)

    def _problem(self, request: Request, error: errors.HTTPError) -> Reply:
        handler, content_type = self.negotiator.select_problem(
            request.environ.get("HTTP_ACCEPT")
        )
        body = handler.render_problem(error.to_problem())
        return Reply(error.status, [
            ("Content-Type", content_type),
            ("Content-Length", str(len(body))),
            ("Vary", "Accept"),
            *handler.response_headers,
            *error.headers,
        ], body)


def _from_webob(response: webob.Response) -> Reply:
    """A webob response as it is; its body is read here (it is usually bytes already).

    ``X-Content-Type-Options`` is left to the site, which sends it with every reply, once.
    """
    headers = [(k, v) for k, v in response.headerlist if k.title() != _NOSNIFF]
    return Reply(response.status_int, headers, response.body)


def _believe_proxies(environ: dict[str, Any], proxies: TrustedProxies) -> None:
    """Scheme, host and client as a trusted proxy forwarded them, for URLs and rate limits."""
    if not proxies.trusts(environ.get("REMOTE_ADDR")):
        return
    origin = proxies.resolve(environ)
    environ["wsgi.url_scheme"] = origin.scheme
    environ["HTTP_HOST"] = origin.host
    environ["resourcekit.client"] = origin.client


def _prefers_minimal(environ: dict[str, Any]) -> bool:
    """``Prefer: return=minimal`` (RFC 7240) among the client's preferences."""
    prefer = environ.get("HTTP_PREFER")
    if not prefer:
        return False
    for preference in prefer.split(","):
        name, _, value = preference.split(";", 1)[0].partition("=")
        if name.strip().lower() == "return" and value.strip().strip('"').lower() == "minimal":
            return True
    return False


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
