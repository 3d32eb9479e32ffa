"""The request handlers receive: webob's, plus the validated body, query and URL building."""

from __future__ import annotations

import functools
import io
import types
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import webob
import webob.request

from . import errors
from .headers import KEPT_LENGTH
from .patch import PATCH_FORMATS, accept_patch, patched
from .proxies import client_of
from .schemas import load_body, load_query

if TYPE_CHECKING:
    from .endpoint import Endpoint
    from .media import MediaHandler
    from .routing import Route
    from .site import Site

__all__ = ["Request"]

_UNSET: Any = object()


class Request(webob.request.BaseRequest):
    """A webob request that knows its site and route.

    ``validated`` and ``query`` are computed on first use, so a handler that never reads the body
    never pays for parsing it. What the site learns while answering (rate-limit headers, hooks
    due, how the reply is sent) is kept by the site, not here.
    """

    _site: Site
    route: Route[Endpoint] | None = None
    """The route the request matched (its ``template``; its ``target``, the dispatch plan),
    once it is routed; None before, or when nothing matched."""
    path_params: Mapping[str, Any] = types.MappingProxyType({})
    """The URI template's field values, converted, as the handler receives them."""
    _validated: Any = _UNSET
    _query: Any = _UNSET
    _body: bytes | None = None
    _memo: dict[Any, Any] | None = None
    _context: types.SimpleNamespace | None = None
    id: str = ""
    """The request's id (`resourcekit.requestid`): the client's ``X-Request-ID`` when it is a
    valid one, else a new random one; sent back in ``X-Request-ID``, in every problem and on
    every log record made while the request is answered."""
    identity: Any = None
    """Who is calling, as the authenticator's ``verify`` returned it; None if anonymous.

    Idempotency keys are scoped by it (`resourcekit.auth.identity_key`): make it a string or
    number, or an object with a stable ``identity_key`` attribute, ``id``, or ``__repr__``."""
    version: str | None = None
    """The API version the request is answered in (`resourcekit.versioning`), chosen before
    anything else; None on a site without versions."""
    session: Any = None
    """The request's database session, where a resource over a database opened one (an
    SQLAlchemy ``Session`` under `resourcekit.sql`, committed with the handler's writes)."""
    media_handler: MediaHandler | None = None
    """The format the response is represented in, once ``Accept`` is negotiated: a handler
    may answer differently in one that `streams` (every row of a collection, unpaginated)."""
    patch_format: str | None = None
    """Once `validated` is read: the patch format its ``PATCH`` body was applied in
    (``application/merge-patch+json``, ``application/json-patch+json``), so `validated` is the
    complete new state, a member missing from it removed; None for a partial load."""
    idempotency_key: str | None = None
    """For a ``POST``/``PATCH`` with an ``Idempotency-Key``: the key, scoped to the client and
    resource. Write it with the data, in the same transaction (a unique column), and a request
    retried after a crash that lost its stored answer finds its row instead of writing again."""

    @property
    def endpoint(self) -> Endpoint | None:
        """The matched route's dispatch plan (schemas, handlers); None before routing."""
        route = self.route
        return route.target if route is not None else None

    @property
    def site(self) -> Site:
        return self._site

    @property
    def context(self) -> types.SimpleNamespace:
        """Free per-request storage, for hooks and handlers (a database session, a timer)."""
        if self._context is None:
            self._context = types.SimpleNamespace()
        return self._context

    @property
    def client_addr(self) -> str | None:
        """The client's address: the peer's, or the one a trusted proxy forwarded.

        Unlike webob's, it never believes ``X-Forwarded-For`` from an untrusted peer.
        """
        return client_of(self.environ) or None

    @property
    def validated(self) -> Any:
        """The body, parsed by its ``Content-Type`` and loaded through the input schema.

        ``PATCH`` loads with ``partial=True``, except a JSON Merge Patch or JSON Patch, applied
        to the current representation and loaded whole (`resourcekit.patch`). A body of an
        older API version is upgraded to the newest before it is loaded
        (`resourcekit.versioning`). Raises 400 (does not parse),
        413 (too large), 415 (media type not understood) or 422 (rejected by the schema, with
        every field's messages).
        """
        if self._validated is _UNSET:
            try:
                self._validated = self._load_body()
            except errors.UnsupportedMediaType as error:
                endpoint = self.endpoint
                if self.method == "PATCH" and endpoint is not None:  # RFC 5789 section 2.2
                    formats = accept_patch(endpoint, self._site.negotiator)
                    error.headers.append(("Accept-Patch", formats))
                raise
        return self._validated

    def _load_body(self) -> Any:
        endpoint = self.endpoint
        schema = endpoint.input_schema if endpoint else None
        partial = self.method == "PATCH"
        if partial:
            media_type, charset = self.body_type()
            if media_type in PATCH_FORMATS:
                new = patched(self, media_type, charset)
                self.patch_format = media_type
                return new
        versioning = endpoint.versioning if endpoint else None
        if versioning is None:
            return load_body(schema, self._parse_body(schema), partial=partial)
        # parsed as the client's version names its fields, then upgraded
        data = self._parse_body(versioning.reader(self, schema))
        return versioning.load(self, schema, data, partial)

    @property
    def query(self) -> Any:
        """The query string loaded through ``query_schema`` (400 when it does not validate).

        Without a query schema: a dict of the parameters, a list where one is repeated. On a
        ``QUERY`` request (RFC 10008), its body instead, of any media type the site reads,
        loaded through ``query_schema`` as a body is (415, 422); the query string stays in
        `query_params`.
        """
        if self._query is _UNSET:
            endpoint = self.endpoint
            schema = endpoint.query_schema if endpoint else None
            if self.environ["REQUEST_METHOD"] == "QUERY":
                self._query = self._query_content(schema)
                return self._query
            query_string = self.environ.get("QUERY_STRING", "")
            self._query = load_query(schema, query_string, lambda: self.query_params)
        return self._query

    def _query_content(self, schema: Any) -> Any:
        """A ``QUERY`` body, of any type the site reads, loaded as any body is (422)."""
        try:
            return load_body(schema, self._parse_body(schema))
        except errors.UnsupportedMediaType as error:
            error.headers.append(("Accept-Query", ", ".join(self._site.negotiator.accepted)))
            raise

    @property
    def query_params(self) -> Any:
        """webob's ``GET`` multidict, with a query string that is not UTF-8 refused as 400."""
        try:
            return self.GET
        except UnicodeDecodeError:
            raise errors.BadRequest("the query string is not valid UTF-8") from None

    @property
    def conditional(self) -> bool:
        """True when the client made its change conditional on the state it saw (``If-Match``
        or ``If-Unmodified-Since``), which the site has checked before the handler.

        The check and the handler's write are two steps; a store should make the write a
        compare-and-set (``UPDATE ... WHERE version = ?``) when this is true, so that a change
        landing in between still fails with 412 rather than being overwritten.
        """
        environ = self.environ
        return "HTTP_IF_MATCH" in environ or "HTTP_IF_UNMODIFIED_SINCE" in environ

    def memo(self, key: Any, compute: Callable[[], Any]) -> Any:
        """``compute()`` once per request and key: what ``Resource.etag`` loads, the handler
        reuses. The site forgets it after a successful write, before it asks for the new
        validators (`forget_memo`).
        """
        memo = self._memo
        if memo is None:
            memo = self._memo = {}
        value = memo.get(key, _UNSET)
        if value is _UNSET:
            value = memo[key] = compute()
        return value

    def forget_memo(self) -> None:
        """Drop what `memo` computed: the state it was loaded from has changed."""
        self._memo = None

    def url_for(self, target: type | str, /, **fields: Any) -> str:
        """The absolute URL of a resource, as this request's client reaches the site."""
        return self.base_url + self._site.url_for(target, **fields)

    @property
    def base_url(self) -> str:
        """Scheme, host and ``SCRIPT_NAME``: where the site is mounted, as the client sees it."""
        environ = self.environ
        return _base_url(  # the site has checked Host: a few hundred characters at most
            environ["wsgi.url_scheme"],
            environ.get("HTTP_HOST"),
            environ.get("SERVER_NAME"),
            environ.get("SERVER_PORT"),
            environ.get("SCRIPT_NAME", ""),
        )

    def body_type(self) -> tuple[str, str | None]:
        """The body's media type (lower case, no parameters) and its ``charset`` or None."""
        content_type = self.environ.get("CONTENT_TYPE", "")
        kept = len(content_type) <= KEPT_LENGTH
        parse = _parse_content_type if kept else _parse_content_type.__wrapped__
        return parse(content_type)

    def _parse_body(self, schema: Any) -> Any:
        media_type, charset = self.body_type()
        if not media_type:
            if not self.read_body():
                raise errors.BadRequest("a request body is required")
            raise errors.UnsupportedMediaType("the request has a body but no Content-Type")
        handler = self._site.negotiator.parser(media_type)  # 415 when no handler reads it
        return handler.read(self, charset, schema)

    def read_body(self) -> bytes:
        """The body bytes, refusing more than the site's ``max_body_size`` with 413.

        The body is kept, so ``request.body`` still works after it.
        """
        body = self._body
        if body is None:
            body = self._body = self._read_limited(self._site.max_body_size)
            environ = self.environ
            environ["wsgi.input"] = io.BytesIO(body)
            environ["CONTENT_LENGTH"] = str(len(body))
            environ["webob.is_body_seekable"] = True  # webob's is_body_seekable, set directly
        return body

    def _read_limited(self, limit: int) -> bytes:
        length = self.content_length
        if length is not None and length > limit:
            raise too_large(limit)
        stream = self.environ["wsgi.input"]
        if length is None:
            if not self.environ.get("wsgi.input_terminated"):
                return b""
            return LimitedInput(stream, limit).read()
        return stream.read(length) if length else b""


@functools.lru_cache(maxsize=64)
def _base_url(
    scheme: str, host: str | None, server_name: str | None, port: str | None, script_name: str
) -> str:
    """webob's ``application_url`` for these values: a site is reached under few names, so
    each is built once rather than on every ``url_for``."""
    given = {"HTTP_HOST": host, "SERVER_NAME": server_name, "SERVER_PORT": port}
    environ = {k: v for k, v in given.items() if v is not None}
    environ.update({"wsgi.url_scheme": scheme, "SCRIPT_NAME": script_name})
    return webob.Request(environ).application_url


def too_large(limit: int) -> errors.PayloadTooLarge:
    """The 413 for a body over ``limit`` bytes, declared or read."""
    return errors.PayloadTooLarge(f"the body may be at most {limit} bytes")


class LimitedInput:
    """``wsgi.input`` for a body without ``Content-Length`` (chunked): reading past ``limit``
    bytes raises 413, however the body is read (``request.body``, ``body_file``, a parser).
    """

    def __init__(self, stream: Any, limit: int) -> None:
        self.stream = stream
        self.left = limit
        self.limit = limit

    def _count(self, data: bytes) -> bytes:
        self.left -= len(data)
        if self.left < 0:
            raise too_large(self.limit)
        return data

    def read(self, size: int = -1) -> bytes:
        wanted = self.left + 1 if size is None or size < 0 else min(size, self.left + 1)
        return self._count(self.stream.read(wanted))

    def readline(self, size: int = -1) -> bytes:
        wanted = self.left + 1 if size is None or size < 0 else min(size, self.left + 1)
        return self._count(self.stream.readline(wanted))

    def __iter__(self) -> Any:
        return iter(self.readline, b"")


@functools.lru_cache(maxsize=64)
def _parse_content_type(value: str) -> tuple[str, str | None]:
    """The media type of a ``Content-Type`` value, lowercased, and its ``charset`` or None;
    cached, as clients send the same few values (not for values longer than those)."""
    media_type, *params = value.split(";")
    for param in params:
        key, _, charset = param.partition("=")
        if key.strip().lower() == "charset":
            return media_type.strip().lower(), charset.strip().strip('"') or None
    return media_type.strip().lower(), None
