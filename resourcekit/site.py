"""The site: a registry of resources by URI template, and the WSGI application that serves them.

Every request takes one path through `Site.__call__`:

0. its id (`resourcekit.requestid`), current for the log records made while it is answered;
   the observers (`resourcekit.observe`: the access log, metrics, tracing) are told it starts;
1. trusted-proxy resolution, the API version (`resourcekit.versioning`: ``400`` for an
   unknown one), ``Host``, site hooks' ``before``;
2. method known (501), route (404, also before its ``since`` version), method allowed (405,
   ``OPTIONS``, CORS preflight);
3. declared body size (413), rate limit (429), authentication (401), permissions (403);
4. representation acceptable (406): a safe handler may still answer with a ``webob.Response``
   of its own media type, so this comes after the checks that guard it;
5. ``Idempotency-Key`` (replay, 409, 422), then preconditions (412, 428, 304): a retried
   conditional write is replayed, though its first run changed what its preconditions name;
6. resource hooks' ``before``, the handler, its result rendered; ``Prefer: return=minimal``;
   validators and caching headers;
7. ``after`` hooks, with the final reply, errors included;
8. `Site._send`, the one place a reply is finished: the body coded per ``Accept-Encoding``
   (`resourcekit.compression`), ``Content-Length`` from the body (none on ``204``/``304``),
   ``Date``, ``X-Content-Type-Options``, ``X-Request-ID``, CORS and rate-limit headers; then the
   observers are told it is finished, once, whatever made the reply.

A coded request body (``Content-Encoding``) is decoded as it is read (`resourcekit.codings`),
step 3 replacing ``wsgi.input`` with the decoded stream, ``max_body_size`` counting its bytes.

Anything raised on the way becomes a problem document (`resourcekit.errors`), or what an error
handler registered for it answers (`Site.add_error_handler`). What a step learns that a later one
needs travels in the request's `resourcekit.exchange.Exchange`, passed from step to step.
"""

from __future__ import annotations

import logging
import time
import traceback
from collections.abc import Callable, Iterable, Iterator, Sequence
from email.utils import formatdate
from typing import Any, TypeVar, Union
from urllib.parse import unquote, urlsplit

import webob
import webob.exc

from . import errors, requestid
from .accesslog import AccessLog
from .auth import authenticate, check_permissions, identity_key
from .codings import decode_body
from .compression import Compression
from .conditional import Preconditions, Validators, auto_etag, has_conditions
from .cors import CORS, is_preflight
from .declarations import check_authentication, check_rate_limit
from .endpoint import Endpoint
from .errors import ConfigurationError
from .exchange import Exchange, Target
from .headers import add_vary
from .health import Check, Health
from .hooks import Pair
from .hooks import resolve as resolve_hooks
from .hosts import AllowedHosts
from .hosts import check as check_host
from .idempotency import BeginState, Idempotency, StoredResponse
from .media import MediaHandler
from .media.defaults import default_handlers
from .methods import IDEMPOTENCY_KEYED, KNOWN_METHODS, SAFE_METHODS
from .metrics import Metrics
from .negotiation import Negotiator
from .observe import Observer
from .patch import advertised_formats
from .proxies import CLIENT, TrustedProxies
from .ratelimit import RateLimit
from .reply import Chunks, Reply
from .request import LimitedInput, Request, too_large
from .resource import Authentication, Resource
from .results import Result, Stream
from .routing import Converter, Route, RouteError, Router, parse_template
from .streaming import Sending
from .tracing import Tracing
from .versioning import Versions

__all__ = ["Site"]

logger = logging.getLogger("resourcekit")
requestid.install()  # every record made while a request is answered names it

R = TypeVar("R", bound=type[Resource])

_MINIMAL_STATUS = {200: 204}  # Prefer: return=minimal; other statuses keep theirs, bodiless
_SENT_WITH_EVERY_REPLY = (("X-Content-Type-Options", "nosniff"),)
"""A body is read as its ``Content-Type`` says, never sniffed (a JSON string as a script)."""
_SET_WHEN_SENT = frozenset({"X-Content-Type-Options", "Content-Length", "Date"})
_BODILESS = frozenset({204, 304})
_PROBLEM_VARY = (("Vary", "Accept"),)
ErrorAnswer = Union["errors.HTTPError", Reply, webob.Response]
"""What an error handler returns (`Site.add_error_handler`)."""
StartResponse = Callable[..., Any]
E = TypeVar("E", bound=Exception)


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
    ``hooks`` run around every request (see `resourcekit.hooks`). ``converters`` adds template
    converters (`resourcekit.routing.Converter`) to ``int``, ``str`` and the others.
    ``docs=True`` serves the OpenAPI document at ``/openapi.json`` and an interactive page at
    ``/docs``; ``versions`` (`resourcekit.versioning.Versions`) the API's dated versions;
    ``license``
    (an OpenAPI License Object, ``{"name": ..., "identifier": ...}``) and ``servers`` (Server
    Objects) go into that document as given. ``metrics=True`` (or a
    `resourcekit.metrics.Metrics`) serves Prometheus metrics at ``/metrics``; ``tracing=True``
    (or a `resourcekit.tracing.Tracing`) makes an OpenTelemetry span per request; ``health``
    lists readiness checks for ``/healthz`` and ``/readyz`` (`resourcekit.health`).
    ``compression=True`` (or a `resourcekit.compression.Compression`) codes responses per
    ``Accept-Encoding``.
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
        converters: Iterable[Converter] = (),
        docs: bool = False,
        versions: Versions | None = None,
        metrics: bool | Metrics = False,
        tracing: bool | Tracing = False,
        health: Health | Sequence[Check | Callable[[], object]] | None = None,
        compression: Compression | bool = False,
    ) -> None:
        check_authentication("Site.authentication", authentication)
        check_rate_limit("Site.rate_limit", rate_limit)
        if versions is not None and not isinstance(versions, Versions):
            raise ConfigurationError(
                f"Site.versions must be a resourcekit.versioning.Versions, not {versions!r}"
            )
        self.versions = versions
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
        self._error_handlers: dict[type[Exception], Callable[..., ErrorAnswer]] = {}
        self._error_handler_of: dict[type[Exception], Callable[..., ErrorAnswer] | None] = {}
        self.hooks = resolve_hooks(hooks)
        self.negotiator = Negotiator(media if media is not None else default_handlers())
        self.compression = Compression.coerce(compression)
        sent_codings = self.compression.codings if self.compression is not None else ()
        self.preconditions = Preconditions(self.negotiator.tag_suffixes, sent_codings)
        base = self.request_class
        self._request_class = type(base.__name__, (base,), {"_site": self})  # knows its site
        self.router: Router[Endpoint] = Router(converters)
        self._by_name: dict[str, Route[Endpoint]] = {}
        self._by_class: dict[type[Resource], Route[Endpoint]] = {}
        self.docs = docs
        if docs:
            from .docs import install  # only sites that serve docs import apispec

            install(self)
        self.observers: tuple[Observer, ...] = _observers(self, metrics, tracing)
        if health is not None:
            Health.coerce(health).install(self)

    # -- registration -------------------------------------------------------------------------

    def route(self, template: str, name: str | None = None) -> Callable[[R], R]:
        """Class decorator: ``@site.route("/notes/{note_id:int}")``."""

        def register(resource_class: R) -> R:
            self.add(template, resource_class, name=name)
            return resource_class

        return register

    def add(
        self, template: str, resource: type[Resource] | Resource, name: str | None = None
    ) -> Route[Endpoint]:
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
            fields=[s.name for s in parse_template(template, self.router.converters) if s.name],
            versions=self.versions,
            negotiator=self.negotiator,
        )
        if endpoint.negotiator is not self.negotiator:  # the resource's own formats: tags too
            self.preconditions.add_formats(endpoint.negotiator.tag_suffixes)
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

    def openapi(self, version: str | None = None) -> dict[str, Any]:
        """The OpenAPI 3.1 document of this site's routes, schemas, media types and problems.

        On a site with versions, the document of one ``version``: by default the one a request
        naming none is answered in (`resourcekit.versioning.Versions.fallback`).
        """
        from .openapi import document  # only sites that describe themselves import apispec

        return document(self, version)

    # -- serving ------------------------------------------------------------------------------

    def __call__(
        self, environ: dict[str, Any], start_response: StartResponse
    ) -> Iterable[bytes]:
        if self.trusted_proxies is not None:
            _believe_proxies(environ, self.trusted_proxies)
        if "CONTENT_LENGTH" not in environ and environ.get("wsgi.input_terminated"):
            environ["wsgi.input"] = LimitedInput(environ["wsgi.input"], self.max_body_size)
        request = self._request_class(environ)
        request.id = requestid.assign(environ)
        current = requestid.current.set(request.id)
        exchange = Exchange(request)
        try:
            for observer in self.observers:
                if finish := observer.start(exchange):
                    exchange.finishes.append(finish)
            return self._send(exchange, self._handle(exchange), start_response)
        finally:
            requestid.current.reset(current)

    def _send(
        self, exchange: Exchange, reply: Reply, start_response: StartResponse
    ) -> Iterable[bytes]:
        """The one place a reply is finished, whatever made it: the headers every reply
        carries, and a ``Content-Length`` that is the body's (none, and no body, on ``204``
        and ``304``, RFC 9110 sections 8.6 and 15.4.5); a ``HEAD`` sends the length only.
        The observers learn of the reply here, after ``start_response``; of a streamed one,
        when the server closes its body (`resourcekit.streaming`)."""
        environ = exchange.request.environ
        if self.compression is not None:
            self.compression.apply(environ, reply)
        headers = reply.headers
        if exchange.headers:
            headers += exchange.headers
        if self.cors is not None and not exchange.preflight:
            for name, value in self.cors.response_headers(environ):
                if name == "Vary":
                    add_vary(headers, value)  # beside the negotiation's, in one field
                else:
                    headers.append((name, value))
        headers += _SENT_WITH_EVERY_REPLY
        headers.append(("Date", _now()))
        headers.append((requestid.HEADER, exchange.request.id))
        status, body, stream = reply.status, reply.body, reply.stream
        if status in _BODILESS:
            body = b""
        elif stream is None:
            headers.append(("Content-Length", str(len(body))))
        start_response(errors.STATUS_LINES.get(status) or f"{status} Unknown", headers)
        head = environ["REQUEST_METHOD"] == "HEAD"
        if stream is not None:
            sending = Sending(stream, exchange, reply)
            if head or status in _BODILESS:
                sending.close()
                return []
            return sending
        sent = [] if head else [body]
        if exchange.finishes:
            exchange.finish(reply, len(body) if sent else 0)
        return sent

    def _handle(self, exchange: Exchange) -> Reply:
        """The reply, errors included, with the ``after`` hooks run around it."""
        request = exchange.request
        try:
            if self.versions is not None:  # before anything depends on it
                exchange.headers += self.versions.choose(request)
            check_host(request.environ, self.allowed_hosts)  # before anything builds a link
            if self.hooks:
                _run_befores(exchange, self.hooks)
            reply = self._dispatch(exchange)
        except Exception as exc:
            exchange.failure = exc
            reply = self._error(request, exc)
        for after in reversed(exchange.afters):
            try:
                after(request, reply)
            except Exception as exc:
                exchange.failure = exc
                reply = self._error(request, exc)
        return reply

    def _dispatch(self, exchange: Exchange) -> Reply:
        request = exchange.request
        environ = request.environ
        method = environ["REQUEST_METHOD"]
        if method not in KNOWN_METHODS:
            raise errors.HTTPError(501, f"{method} is not a method this server knows")
        match = self.router.match(_path(environ), _raw_segments(environ))
        if match is None:
            raise errors.NotFound("no resource at this address")
        route, params = match
        request.route, request.path_params = route, params
        endpoint = route.target
        versioning = endpoint.versioning
        if versioning is not None and versioning.hidden:
            versioning.admit(request)  # 404 before the route existed
        if endpoint.deprecation:
            exchange.headers += endpoint.deprecation
        handler = endpoint.handlers.get(method)
        if handler is None:
            if method == "OPTIONS":
                return self._options(exchange, endpoint)
            raise errors.MethodNotAllowed(
                f"{route.template} does not support {method}", allow=endpoint.allowed
            )
        if "CONTENT_LENGTH" in environ:
            self._check_declared_length(request)
        if "HTTP_CONTENT_ENCODING" in environ:
            decode_body(environ, self.max_body_size)  # 415 for a coding the site cannot read
        if method in endpoint.guarded:
            self._guard(exchange, endpoint, method)
        choice = endpoint.negotiator.select(environ.get("HTTP_ACCEPT"))
        if choice is None:
            return self._unacceptable(exchange, endpoint, handler, params)
        request.media_handler = choice[0]
        version_tag = versioning.tags.get(request.version) if versioning is not None else None
        target = Target(endpoint, handler, params, choice, version_tag)
        # preconditions have work only with validators to load, or a write to require or check
        conditional = endpoint.has_validators or (
            method not in SAFE_METHODS
            and (endpoint.require_preconditions or has_conditions(environ))
        )
        if endpoint.idempotent and method in IDEMPOTENCY_KEYED:
            scope = f"{identity_key(request.identity)} {method} {request.path}"  # per client
            key = self.idempotency.key_for(request, scope)
            if key is not None:
                return self._once(exchange, target, key, conditional)
        validators = None
        if conditional:
            validators, stop = self._preconditions(request, target)
            if stop is not None:
                etag = self.preconditions.tag(validators, choice[0], version_tag)
                return _not_modified(endpoint, validators, etag, endpoint.vary_headers)
        return self._run(exchange, target, validators)

    def _preconditions(
        self, request: Request, target: Target
    ) -> tuple[Validators | None, int | None]:
        """The validators, and 304 or None; a failed precondition raises 412 or 428."""
        current = None if request.method in SAFE_METHODS else (
            lambda validators: self._represented(request, target, validators)
        )
        return self.preconditions.before(
            request, target.endpoint, target.params, target.choice[0], target.version_tag,
            current,
        )

    def _represented(
        self, request: Request, target: Target, validators: Validators | None
    ) -> Validators | None:
        """What a write's ``If-Match``/``If-None-Match`` is compared with where the resource
        names no tag of its own: the tag of the representation its ``GET`` gives now, in the
        format and version this request negotiated, as the client received it (a ``404``:
        there is none). None where there is no ``GET`` or its answer has no such tag."""
        get = target.endpoint.handlers.get("GET")
        if get is None:
            return None
        try:
            result = get(request, **target.params)
        except errors.NotFound:
            return Validators(exists=False)
        if isinstance(result, webob.Response):
            return None
        reply = self._represent(request, target._replace(handler=get), result)
        if reply.status != 200 or reply.stream is not None:
            return None
        return self.preconditions.for_body(validators, auto_etag(reply.body, target.version_tag))

    def _run(self, exchange: Exchange, target: Target, validators: Validators | None) -> Reply:
        """The resource's ``before`` hooks, the handler, its result represented and finished."""
        request, endpoint = exchange.request, target.endpoint
        if endpoint.hooks:
            _run_befores(exchange, endpoint.hooks)
        result = target.handler(request, **target.params)
        if isinstance(result, webob.Response):
            exchange.passthrough = True
            return _from_webob(result)
        reply = self._represent(request, target, result)
        if not 200 <= reply.status < 300:
            return reply
        return self._finish(request, target, validators, reply)

    def _options(self, exchange: Exchange, endpoint: Endpoint) -> Reply:
        """``Allow``, the body formats ``PATCH`` and ``QUERY`` read, and the CORS preflight
        answer where the request is one."""
        headers = [("Allow", endpoint.allow), *advertised_formats(endpoint, self.negotiator)]
        environ = exchange.request.environ
        if self.cors is not None and is_preflight(environ):
            exchange.preflight = True
            headers += self.cors.preflight_headers(environ, endpoint.allowed)
        return Reply(204, headers)

    def _unacceptable(
        self,
        exchange: Exchange,
        endpoint: Endpoint,
        handler: Callable[..., Any],
        params: dict[str, Any],
    ) -> Reply:
        """406, unless a safe handler answers with a ``webob.Response`` of its own media type.

        The handler runs as always, after the resource's ``before`` hooks; an unsafe handler
        never runs when its answer cannot be represented.
        """
        request = exchange.request
        if request.method in SAFE_METHODS:
            if endpoint.hooks:
                _run_befores(exchange, endpoint.hooks)
            result = handler(request, **params)
            if isinstance(result, webob.Response):
                exchange.passthrough = True
                return _from_webob(result)
        raise errors.NotAcceptable(
            "none of the media types this resource has is acceptable",
            available=list(endpoint.negotiator.offers),
        )

    def _check_declared_length(self, request: Request) -> None:
        length = request.content_length
        if length and length > self.max_body_size:
            raise too_large(self.max_body_size)

    def _guard(self, exchange: Exchange, endpoint: Endpoint, method: str) -> None:
        """Rate limit, authentication, permissions.

        A permission that fails for an anonymous client is 401 with the challenges, not 403:
        credentials might change the answer (RFC 9110 section 15.5.2). Credentials sent for a
        method that does not ask for them are read then, and the permissions asked again.
        """
        request = exchange.request
        if endpoint.rate_limit is not None:
            exchange.headers += endpoint.rate_limit.check(request)
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

    def _once(self, exchange: Exchange, target: Target, key: str, conditional: bool) -> Reply:
        """Run a ``POST``/``PATCH`` with an ``Idempotency-Key`` once; replay it for repeats.

        The key is looked up before the preconditions are evaluated: a conditional write that
        succeeded changed the validators its ``If-Match`` names, and its retry is replayed, not
        refused with 412. Preconditions that fail free the key, as nothing ran. Only a complete
        reply is kept: an exception or a 5xx frees the key for a retry.
        """
        request = exchange.request
        idempotency = self.idempotency
        begin = idempotency.begin(key, idempotency.fingerprint(request))
        if begin.state is BeginState.REPLAY and begin.response is not None:
            stored = idempotency.replayed(begin.response)
            headers = [h for h in stored.headers if h[0] not in _SET_WHEN_SENT]  # older stores
            return Reply(stored.status, headers, stored.body)
        try:
            validators = None
            if conditional:  # a write: 412 or 428 is raised, never a 304 returned
                validators, _ = self._preconditions(request, target)
        except BaseException:
            idempotency.release(key, begin)
            raise
        request.idempotency_key = key
        try:
            reply = self._run(exchange, target, validators)
        except errors.HTTPError as error:
            reply = self._error(request, error)
        except BaseException:
            idempotency.release(key, begin)
            raise
        stored = StoredResponse(reply.status, tuple(reply.headers), reply.body)
        idempotency.complete(key, begin, stored)
        return reply

    def _finish(
        self, request: Request, target: Target, validators: Validators | None, reply: Reply
    ) -> Reply:
        """A success's validators and caching headers; ``Prefer: return=minimal``.

        ``PUT`` and ``PATCH`` send the resource's new validators, a ``201`` those of the
        resource it created, so a client's next conditional request needs no ``GET`` first.
        """
        method = request.environ["REQUEST_METHOD"]
        if method in SAFE_METHODS:
            return self._cacheable(request, target, validators, reply)
        endpoint, media_handler = target.endpoint, target.choice[0]
        if method in ("PUT", "PATCH") and endpoint.has_validators:
            request.forget_memo()  # the handler changed the state: load it afresh
            fresh = self.preconditions.validators(request, endpoint, target.params)
            etag = self.preconditions.tag(fresh, media_handler, target.version_tag)
            reply.headers += fresh.headers(etag)
        elif reply.status == 201:
            reply.headers += self._created_validators(request, reply, media_handler)
        if method != "DELETE" and _prefers_minimal(request.environ):
            reply.status = _MINIMAL_STATUS.get(reply.status, reply.status)
            reply.headers = [(k, v) for k, v in reply.headers if k != "Content-Type"]
            reply.headers.append(("Preference-Applied", "return=minimal"))
            reply.body = b""
        return reply

    def _created_validators(
        self, request: Request, reply: Reply, media_handler: MediaHandler
    ) -> list[tuple[str, str]]:
        """``ETag``/``Last-Modified`` of the resource a ``201``'s ``Location`` names, when it is
        one of this site's and has validators; none otherwise."""
        location = reply.header("Location")
        if location is None:
            return []
        path = urlsplit(location).path
        root = request.environ.get("SCRIPT_NAME", "")
        if not path.startswith(root):
            return []
        match = self.router.match(unquote(path[len(root) :]) or "/", None)
        if match is None or not match[0].target.has_validators:
            return []
        request.forget_memo()  # what the handler loaded is the collection's, not the item's
        endpoint = match[0].target
        created = self.preconditions.validators(request, endpoint, match[1])
        etag = self.preconditions.tag(created, media_handler, _version_tag(endpoint, request))
        return created.headers(etag)

    def _cacheable(
        self, request: Request, target: Target, validators: Validators | None, reply: Reply
    ) -> Reply:
        """Validators and ``Cache-Control`` for a successful ``GET``/``HEAD``; 304 where the
        body's own tag now matches ``If-None-Match``."""
        endpoint = target.endpoint
        if reply.status == 200:
            etag = self.preconditions.tag(validators, target.choice[0], target.version_tag)
            if etag is None and reply.stream is None:  # a streamed body's bytes are unknown
                etag = auto_etag(reply.body, target.version_tag)  # versions: distinct tags
                if has_conditions(request.environ):  # checked only now: the tag is the body's
                    validators = self.preconditions.for_body(validators, etag)
                    if self.preconditions.not_modified(request, validators):
                        vary = [(k, v) for k, v in reply.headers if k == "Vary"]
                        return _not_modified(endpoint, validators, etag, vary)
            if validators is not None:
                reply.headers += validators.headers(etag)
            elif etag is not None:
                reply.headers.append(("ETag", str(etag)))
        if endpoint.cache_control:
            reply.headers.append(("Cache-Control", endpoint.cache_control))
        return reply

    def _represent(self, request: Request, target: Target, result: Any) -> Reply:
        """The reply for what a handler returned (the contract's return-value rules)."""
        if result is None:
            return Reply(204, [])
        if isinstance(result, Stream):
            return self._stream(request, target, result)
        if isinstance(result, Result):
            status, headers, obj, many = (
                result.status, result.headers_for(request), result.obj, result.many
            )
            if obj is None:
                return Reply(status, headers)
        else:
            status, headers, obj, many = 200, [], result, isinstance(result, list | tuple)
        endpoint = target.endpoint
        schema = endpoint.output_schema
        data = schema.dump(obj, many=many) if schema is not None else obj
        versioning = endpoint.versioning
        if versioning is not None and request.version in versioning.downgrades:
            data = versioning.downgrade(request, data, many)  # dumped as the newest, sent older
        handler = target.choice[0]
        body = handler.represent(request, data, schema, many)
        return Reply(status, _representation_headers(endpoint, target, headers), body)

    def _stream(self, request: Request, target: Target, result: Stream) -> Reply:
        """A `Stream` dumped item by item as the server sends it, in a format that streams
        and for ``GET``/``HEAD``; otherwise represented whole, as a list."""
        endpoint, handler = target.endpoint, target.choice[0]
        schema, versioning = endpoint.output_schema, endpoint.versioning
        older = versioning if versioning and request.version in versioning.downgrades else None

        def records() -> Iterator[Any]:
            for item in result.items:
                data = schema.dump(item) if schema is not None else item
                yield older.downgrade(request, data, False) if older is not None else data

        headers = _representation_headers(endpoint, target, result.headers)
        if handler.streams and request.method in ("GET", "HEAD"):
            chunks = Chunks(handler.stream(records(), schema), result.close)
            return Reply(200, headers, stream=chunks)
        try:
            return Reply(200, headers, handler.represent(request, list(records()), schema, True))
        finally:
            result.close()

    # -- errors -------------------------------------------------------------------------------

    def add_error_handler(
        self, exception: type[E], handler: Callable[[Request, E], ErrorAnswer]
    ) -> None:
        """Answer ``exception`` (and its subclasses) raised anywhere in a request with
        ``handler(request, exc)``: ``site.add_error_handler(NoResultFound, not_found)``.

        The handler returns or raises an `errors.HTTPError` (sent as a problem), or returns a
        `Reply` or ``webob.Response`` (sent as it is). The most specific registration along the
        exception's MRO wins, so one for ``HTTPError`` replaces the built-in problem for all.
        """
        if not (isinstance(exception, type) and issubclass(exception, Exception)):
            raise ConfigurationError(f"add_error_handler: {exception!r} is not an exception class")
        if not callable(handler):
            raise ConfigurationError(f"add_error_handler: {handler!r} is not callable")
        self._error_handlers[exception] = handler
        self._error_handler_of.clear()

    def _error_handler_for(self, kind: type[Exception]) -> Callable[..., ErrorAnswer] | None:
        """The registered handler nearest ``kind`` along its MRO, found once per class."""
        try:
            return self._error_handler_of[kind]
        except KeyError:
            handlers = self._error_handlers
            found = next((handlers[c] for c in kind.__mro__ if c in handlers), None)
            self._error_handler_of[kind] = found
            return found

    def _error(self, request: Request, exc: Exception) -> Reply:
        """The reply for anything raised: the registered handler's, a problem, or a webob
        redirect as it is.

        Server errors are logged with the path, never the query string, which carries tokens
        and personal data as often as filters.
        """
        handler = self._error_handler_for(type(exc)) if self._error_handlers else None
        if handler:
            answer: object
            try:
                answer = handler(request, exc)
            except Exception as raised:  # an HTTPError is an answer; anything else a failure
                answer = raised
            if isinstance(answer, Reply):
                return answer
            if isinstance(answer, webob.Response):
                return _from_webob(answer)
            if not isinstance(answer, Exception):
                answer = TypeError(f"error handler {handler!r} returned {answer!r}")
            if not isinstance(answer, errors.HTTPError):
                return self._unhandled(request, answer)
            exc = answer
        if isinstance(exc, errors.HTTPError):
            if exc.status >= 500 and exc.status != 501:
                logger.error("%s %s: %s", request.method, request.path, exc, exc_info=exc)
            return self._problem(request, exc)
        if isinstance(exc, webob.exc.WSGIHTTPException):
            return self._webob_error(request, exc)
        return self._unhandled(request, exc)

    def _webob_error(self, request: Request, exc: webob.exc.WSGIHTTPException) -> Reply:
        """A webob redirect as it is; a webob error as the problem of its status."""
        if exc.code < 400:
            return _from_webob(exc)
        headers = [
            (k, v) for k, v in exc.headerlist if k.lower() in ("allow", "www-authenticate")
        ]
        error = errors.HTTPError(exc.code, exc.detail or exc.explanation, headers=headers)
        return self._problem(request, error)

    def _unhandled(self, request: Request, exc: Exception) -> Reply:
        """500, logged with its traceback; the traceback is in the problem only with ``debug``."""
        logger.error("unhandled error in %s %s", request.method, request.path, exc_info=exc)
        extra = {"traceback": traceback.format_exception(exc)} if self.debug else {}
        error = errors.InternalServerError("the server failed to answer this request", **extra)
        return self._problem(request, error, last=True)

    def _problem(self, request: Request, error: errors.HTTPError, last: bool = False) -> Reply:
        """The problem document of ``error``; a 500 where its members cannot be rendered (an
        extra value the format cannot hold), unless this is that 500 (``last``)."""
        handler, content_type = self.negotiator.select_problem(
            request.environ.get("HTTP_ACCEPT")
        )
        problem = error.to_problem()
        problem["request_id"] = request.id
        try:
            body = handler.render_problem(problem)
        except Exception as failed:
            if last:
                raise
            return self._unhandled(request, failed)
        extra = error.headers
        vary = () if any(k == "Vary" for k, _ in extra) else _PROBLEM_VARY  # the error's own
        return Reply(error.status, [
            ("Content-Type", content_type),
            *vary,
            *handler.response_headers,
            *extra,
        ], body)


def _observers(
    site: Site, metrics: bool | Metrics, tracing: bool | Tracing
) -> tuple[Observer, ...]:
    """The access log, and metrics and tracing where asked for: only then are
    ``prometheus_client`` and OpenTelemetry imported."""
    observers: list[Observer] = [AccessLog()]
    if metrics:
        chosen = metrics if isinstance(metrics, Metrics) else Metrics()
        chosen.install(site)
        observers.append(chosen)
    if tracing:
        observers.append(tracing if isinstance(tracing, Tracing) else Tracing())
    return tuple(observers)


def _run_befores(exchange: Exchange, pairs: tuple[Pair, ...]) -> None:
    """Each hook's ``before``, in order; its ``after`` is then due, whatever happens next."""
    request = exchange.request
    for before, after in pairs:
        if before is not None:
            before(request)
        if after is not None:
            exchange.afters.append(after)


def _version_tag(endpoint: Endpoint, request: Request) -> str | None:
    """What the strong tags of ``endpoint`` get appended at the request's API version."""
    versioning = endpoint.versioning
    return None if versioning is None else versioning.tags.get(request.version)


def _not_modified(
    endpoint: Endpoint, validators: Any, etag: Any, vary: Iterable[tuple[str, str]]
) -> Reply:
    """304: the validators, ``Vary`` and caching headers the 200 would carry, and no body."""
    headers = [*validators.headers(etag), *vary]
    if endpoint.cache_control:
        headers.append(("Cache-Control", endpoint.cache_control))
    return Reply(304, headers)


def _representation_headers(
    endpoint: Endpoint, target: Target, headers: list[tuple[str, str]]
) -> list[tuple[str, str]]:
    handler, content_type = target.choice
    return [("Content-Type", content_type), *endpoint.vary_headers, *handler.response_headers,
            *headers]


def _from_webob(response: webob.Response) -> Reply:
    """A webob response as it is; its body is read here (it is usually bytes already).

    ``X-Content-Type-Options`` and ``Content-Length`` are left to the site, which sends them
    with every reply, once.
    """
    headers = [(k, v) for k, v in response.headerlist if k.title() not in _SET_WHEN_SENT]
    return Reply(response.status_int, headers, response.body)


def _believe_proxies(environ: dict[str, Any], proxies: TrustedProxies) -> None:
    """Scheme, host and client as a trusted proxy forwarded them, for URLs and rate limits."""
    if not proxies.trusts(environ.get("REMOTE_ADDR")):
        return
    origin = proxies.resolve(environ)
    environ["wsgi.url_scheme"] = origin.scheme
    environ["HTTP_HOST"] = origin.host
    environ[CLIENT] = origin.client
    if origin.prefix:
        environ["SCRIPT_NAME"] = origin.prefix + environ.get("SCRIPT_NAME", "")


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


_clock: tuple[int, str] = (0, "")


def _now() -> str:
    """The ``Date`` header (RFC 9110 section 6.6.1), formatted once per second."""
    global _clock
    second = int(time.time())
    if _clock[0] != second:
        _clock = (second, formatdate(second, usegmt=True))
    return _clock[1]
