"""OpenTelemetry tracing: ``Site(tracing=True)`` makes one server span per request (extra
``tracing``, the OpenTelemetry API).

The span follows the HTTP semantic conventions: named ``"{method} {route}"`` (``"{method}"``
when no URI template matched; ``HTTP``, and ``_OTHER`` as the method attribute, for a method
this server does not know), with ``http.request.method``, ``url.path``, ``url.scheme``,
``client.address``, ``http.route`` and ``http.response.status_code``. It continues the trace
an incoming ``traceparent`` names (the propagators the OpenTelemetry configuration sets, W3C Trace
Context by default), and it is the
current span while the request is answered, so spans made meanwhile (SQLAlchemy's
instrumentation, the application's own) are its children. A ``5xx`` sets its status to error,
with ``error.type``, and records the exception that caused it. The query string is never an
attribute: it carries tokens as often as filters.

Spans go to the global tracer provider unless ``Tracing(tracer_provider=...)`` names one; without
an SDK configured they are no-ops. OpenTelemetry is imported by the first `Tracing` made, never
by this module: a site without tracing does without it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from . import __version__
from .observe import Finish, method_label, route_of
from .proxies import client_of

if TYPE_CHECKING:
    from opentelemetry import trace
    from opentelemetry.propagators.textmap import Getter

    from .exchange import Exchange
    from .reply import Reply

__all__ = ["Tracing"]


class Tracing:
    """The observer making the spans, from ``tracer_provider`` or the global one.

    OpenTelemetry is imported here, when a site asks for tracing, and the few functions each
    request calls are kept at hand.
    """

    def __init__(self, tracer_provider: trace.TracerProvider | None = None) -> None:
        from opentelemetry import context, propagate, trace

        self.tracer = trace.get_tracer("resourcekit", __version__, tracer_provider)
        self._extract = propagate.extract
        self._getter = _environ_getter()
        self._in_context = trace.set_span_in_context
        self._attach, self._detach = context.attach, context.detach
        self._server = trace.SpanKind.SERVER

    def start(self, exchange: Exchange) -> Finish:
        environ = exchange.request.environ
        parent = self._extract(environ, getter=self._getter)
        method = method_label(environ["REQUEST_METHOD"])
        attributes: dict[str, str] = {
            "http.request.method": method,
            "url.path": environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", ""),
            "url.scheme": environ.get("wsgi.url_scheme", "http"),
        }
        client = client_of(environ)
        if client:
            attributes["client.address"] = client
        name = "HTTP" if method == "_OTHER" else method  # the conventions' name for those
        span = self.tracer.start_span(name, parent, self._server, attributes)
        token = self._attach(self._in_context(span, parent))
        detach = self._detach

        def finish(exchange: Exchange, reply: Reply, sent: int) -> None:
            try:
                _close(span, method, exchange, reply.status)
            finally:
                detach(token)

        return finish


def _environ_getter() -> Getter[Mapping[str, Any]]:
    """Header values from a WSGI environ, for the propagators."""
    from opentelemetry.propagators.textmap import Getter

    class EnvironGetter(Getter[Mapping[str, Any]]):
        def get(self, carrier: Mapping[str, Any], key: str) -> list[str] | None:
            value = carrier.get("HTTP_" + key.upper().replace("-", "_"))
            return None if value is None else [value]

        def keys(self, carrier: Mapping[str, Any]) -> list[str]:
            return [k[5:].replace("_", "-").lower() for k in carrier if k.startswith("HTTP_")]

    return EnvironGetter()


def _close(span: trace.Span, method: str, exchange: Exchange, status: int) -> None:
    route = route_of(exchange)
    attributes: dict[str, str | int] = {"http.response.status_code": status}
    if route is not None:
        span.update_name(f"{'HTTP' if method == '_OTHER' else method} {route}")
        attributes["http.route"] = route
    if status >= 500:
        from opentelemetry.trace import StatusCode  # a 5xx only

        failure = exchange.failure
        attributes["error.type"] = type(failure).__qualname__ if failure else str(status)
        span.set_status(StatusCode.ERROR)
        if failure is not None:
            span.record_exception(failure)
    span.set_attributes(attributes)  # at once: each call takes the span's lock
    span.end()
