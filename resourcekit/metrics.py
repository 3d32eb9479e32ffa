"""Prometheus metrics: ``Site(metrics=True)`` serves ``GET /metrics`` (extra ``metrics``).

Two metrics, labelled ``method``, ``route`` and ``status``: ``http_server_requests_total`` and
the histogram ``http_server_request_duration_seconds`` (the OpenTelemetry HTTP server buckets).
``route`` is the URI template (``"<unmatched>"`` when none matched) and an unknown method is
``_OTHER``, so the number of series is bounded whatever paths and methods clients send.

Each `Metrics` keeps its own ``CollectorRegistry``, so sites in one process never mix their
counts. Where ``PROMETHEUS_MULTIPROC_DIR`` is set before ``prometheus_client`` is imported
(every worker of one server sharing the folder, emptied before the server starts), every
process writes its counts there and ``/metrics`` sums them all, whichever process answers.
``Metrics(authentication=[...])`` puts the page behind credentials; it needs none otherwise.
The page is not in the OpenAPI document. ``prometheus_client`` is imported by the first
`Metrics` made, never by this module: a site without metrics does without it.
"""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING, Any

import webob

from .observe import UNMATCHED, Finish, method_label, route_of
from .resource import Authentication, Resource

if TYPE_CHECKING:
    from prometheus_client import Counter, Histogram

    from .exchange import Exchange
    from .reply import Reply
    from .request import Request
    from .site import Site

__all__ = ["BUCKETS", "Metrics", "MetricsPage"]

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0)
"""Seconds: OpenTelemetry's advice for ``http.server.request.duration``."""

_LABELS = ("method", "route", "status")


class Metrics:
    """The request metrics of one site, and the page that shows them (``path``)."""

    def __init__(
        self, *, authentication: Authentication | None = None, path: str = "/metrics"
    ) -> None:
        from prometheus_client import CollectorRegistry, Counter, Histogram

        self.authentication = authentication
        self.path = path
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests: Counter = Counter("http_server_requests", "HTTP requests answered",
                                _LABELS, registry=self.registry)
        self.duration: Histogram = Histogram("http_server_request_duration_seconds",
                                  "Time from a request's arrival to its answer", _LABELS,
                                  registry=self.registry, buckets=BUCKETS)
        self._series: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    def install(self, site: Site) -> None:
        """Serve the page on ``site``, with this object's ``authentication``."""
        page = type("MetricsPage", (MetricsPage,), {
            "authentication": [] if self.authentication is None else self.authentication
        })
        site.add(self.path, page(self), name="metrics")

    def start(self, exchange: Exchange) -> Finish:
        return self._count

    def _count(self, exchange: Exchange, reply: Reply, sent: int) -> None:
        elapsed = time.perf_counter() - exchange.started
        method = method_label(exchange.request.environ["REQUEST_METHOD"])
        key = (method, route_of(exchange) or UNMATCHED, reply.status)
        series = self._series.get(key)
        if series is None:  # a bounded set: known methods, templates, statuses
            labels = (method, key[1], str(key[2]))
            series = (self.requests.labels(*labels), self.duration.labels(*labels))
            self._series[key] = series
        series[0].inc()
        series[1].observe(elapsed)

    def exposition(self) -> bytes:
        """The text format: this process's counts, or every process's in multiprocess mode."""
        from prometheus_client import CollectorRegistry, generate_latest
        from prometheus_client.multiprocess import MultiProcessCollector

        folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
        if not folder:
            return generate_latest(self.registry)
        registry = CollectorRegistry()
        MultiProcessCollector(registry, folder)  # type: ignore[no-untyped-call]
        return generate_latest(registry)


class MetricsPage(Resource):
    """``GET /metrics``, not negotiated: the Prometheus text format."""

    documented = False
    vary = ()
    cache_control = "no-store"

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    def get(self, request: Request) -> webob.Response:
        from prometheus_client import CONTENT_TYPE_LATEST

        body = self.metrics.exposition()
        return webob.Response(body=body, headerlist=[
            ("Content-Type", CONTENT_TYPE_LATEST), ("Cache-Control", "no-store")
        ])
