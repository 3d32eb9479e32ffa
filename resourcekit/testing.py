"""An in-process client for tests: real WSGI calls, no sockets."""

from __future__ import annotations

import json as jsonlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import quote, urlsplit

import webob

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication

__all__ = ["Client", "TestResponse"]

_URI_SAFE = "/%:@!$&'()*+,;=~?[]"


class TestResponse(webob.Response):
    """webob's response: ``status_code``, ``headers``, ``body``, ``text`` and ``json`` (any JSON
    body, problem documents included, read as UTF-8)."""

    __test__ = False  # not a pytest test class


class Client:
    """Calls a WSGI application as a server would: ``Client(site).get("/notes")``.

    ``path`` may carry a query string, or be an absolute URL (its scheme and host are used).
    ``json`` is encoded with ``Content-Type: application/json``; ``data`` (bytes or str) is sent
    as it is, with whatever ``Content-Type`` ``headers`` give. ``headers`` given to the client
    (``Client(site, headers={"Authorization": ...})``) go with every request, under the
    request's own.
    """

    def __init__(
        self,
        app: WSGIApplication,
        *,
        headers: Mapping[str, str] | None = None,
        remote_addr: str = "127.0.0.1",
    ) -> None:
        self.app = app
        self.headers = dict(headers or {})
        self.remote_addr = remote_addr

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        data: bytes | str | None = None,
        headers: Mapping[str, str] | None = None,
        environ: Mapping[str, Any] | None = None,
    ) -> TestResponse:
        headers = {**self.headers, **(headers or {})}
        if json is not None:
            data = jsonlib.dumps(json).encode()
            headers.setdefault("Content-Type", "application/json")
        url = urlsplit(path)
        base = {"REMOTE_ADDR": self.remote_addr, **(environ or {})}
        if url.scheme:
            base["wsgi.url_scheme"] = url.scheme
            headers.setdefault("Host", url.netloc)
        path = quote(url.path or "/", safe=_URI_SAFE)  # as a client sends text: percent-encoded
        target = path + (f"?{quote(url.query, safe=_URI_SAFE)}" if url.query else "")
        base.setdefault("REQUEST_URI", target)  # the raw request line, as waitress passes it
        request = webob.Request.blank(target, environ=base, method=method, headers=headers)
        if data is not None:
            request.body = data.encode() if isinstance(data, str) else data
        request.ResponseClass = TestResponse
        return cast(TestResponse, request.get_response(self.app))

    def get(self, path: str, **kwargs: Any) -> TestResponse:
        return self.request("GET", path, **kwargs)

    def head(self, path: str, **kwargs: Any) -> TestResponse:
        return self.request("HEAD", path, **kwargs)

    def options(self, path: str, **kwargs: Any) -> TestResponse:
        return self.request("OPTIONS", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> TestResponse:
        return self.request("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> TestResponse:
        return self.request("PUT", path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> TestResponse:
        return self.request("PATCH", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> TestResponse:
        return self.request("DELETE", path, **kwargs)
