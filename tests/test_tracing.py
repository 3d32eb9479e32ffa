"""OpenTelemetry server spans (CONTRACT.md section 10), recorded with the SDK's in-memory
exporter: names, semantic-convention attributes, an incoming ``traceparent``, errors."""

from __future__ import annotations

import pytest

pytest.importorskip("opentelemetry.sdk")

from conftest import served
from helpers import http_request
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import (
    InMemorySpanExporter,
)
from opentelemetry.trace import SpanKind, StatusCode

from resourcekit import Resource, Site, errors
from resourcekit.testing import Client
from resourcekit.tracing import Tracing

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT_ID = "00f067aa0ba902b7"


@pytest.fixture
def provider() -> tuple[TracerProvider, InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider, exporter


def site(provider: TracerProvider) -> Site:
    s = Site(tracing=Tracing(tracer_provider=provider))
    tracer = provider.get_tracer("tests")

    class Item(Resource):
        def get(self, request, item_id):
            with tracer.start_as_current_span("load item"):
                return {"id": item_id}

        def put(self, request, item_id):
            raise RuntimeError("disk on fire")

        def delete(self, request, item_id):
            raise errors.ServiceUnavailable("read-only for now")

    s.add("/items/{item_id:int}", Item)
    return s


def test_one_server_span_per_request(provider) -> None:
    provider, exporter = provider
    Client(site(provider)).get("/items/7?token=secret")
    spans = {span.name: span for span in exporter.get_finished_spans()}
    server = spans["GET /items/{item_id:int}"]
    assert server.kind is SpanKind.SERVER
    assert dict(server.attributes) == {
        "http.request.method": "GET", "url.path": "/items/7", "url.scheme": "http",
        "client.address": "127.0.0.1", "http.route": "/items/{item_id:int}",
        "http.response.status_code": 200,
    }
    assert server.status.status_code is StatusCode.UNSET
    child = spans["load item"]
    assert child.parent.span_id == server.context.span_id  # the handler's spans are children
    assert child.context.trace_id == server.context.trace_id


def test_an_incoming_traceparent_is_continued(provider) -> None:
    provider, exporter = provider
    Client(site(provider)).get(
        "/items/1", headers={"traceparent": f"00-{TRACE_ID}-{PARENT_ID}-01"}
    )
    server = next(s for s in exporter.get_finished_spans() if s.kind is SpanKind.SERVER)
    assert format(server.context.trace_id, "032x") == TRACE_ID
    assert format(server.parent.span_id, "016x") == PARENT_ID
    assert server.parent.is_remote


@pytest.mark.parametrize("traceparent", ["garbage", "00-" + "0" * 32 + "-" + "0" * 16 + "-01",
                                         "ff-" + TRACE_ID + "-" + PARENT_ID + "-01x" * 100])
def test_a_bad_traceparent_starts_a_new_trace(provider, traceparent: str) -> None:
    provider, exporter = provider
    response = Client(site(provider)).get("/items/1", headers={"traceparent": traceparent})
    assert response.status_code == 200
    server = next(s for s in exporter.get_finished_spans() if s.kind is SpanKind.SERVER)
    assert server.parent is None


def test_a_500_is_an_error_with_its_exception(provider) -> None:
    provider, exporter = provider
    response = Client(site(provider)).put("/items/1", json={})
    assert response.status_code == 500 and "disk on fire" not in response.text
    [server] = exporter.get_finished_spans()
    assert server.status.status_code is StatusCode.ERROR
    assert server.attributes["http.response.status_code"] == 500
    assert server.attributes["error.type"] == "RuntimeError"
    [event] = server.events
    assert event.name == "exception"
    assert event.attributes["exception.message"] == "disk on fire"


def test_a_503_raised_as_a_problem_is_an_error_too(provider) -> None:
    provider, exporter = provider
    assert Client(site(provider)).delete("/items/1").status_code == 503
    [server] = exporter.get_finished_spans()
    assert server.status.status_code is StatusCode.ERROR
    assert server.attributes["error.type"] == "ServiceUnavailable"


def test_4xx_are_not_errors_and_unmatched_methods_and_paths_are_bounded(provider) -> None:
    provider, exporter = provider
    client = Client(site(provider))
    client.get("/nowhere/123")
    client.request("BREW", "/items/1")
    client.post("/items/1", json={})
    names = [(s.name, s.attributes["http.response.status_code"], s.status.status_code)
             for s in exporter.get_finished_spans()]
    assert names == [("GET", 404, StatusCode.UNSET), ("HTTP", 501, StatusCode.ERROR),
                     ("POST /items/{item_id:int}", 405, StatusCode.UNSET)]
    assert "http.route" not in exporter.get_finished_spans()[0].attributes


def test_no_span_is_left_current_after_the_request(provider) -> None:
    from opentelemetry import trace

    provider, _ = provider
    Client(site(provider)).get("/items/1")
    assert not trace.get_current_span().get_span_context().is_valid


def test_over_http(provider) -> None:
    provider, exporter = provider
    with served(site(provider)) as base_url:
        response = http_request(base_url, "GET", "/items/5",
                                headers={"traceparent": f"00-{TRACE_ID}-{PARENT_ID}-01"})
    assert response.status_code == 200
    server = next(s for s in exporter.get_finished_spans() if s.kind is SpanKind.SERVER)
    assert format(server.context.trace_id, "032x") == TRACE_ID


def test_sqlalchemy_instrumentation_gives_child_spans(provider, tmp_path) -> None:
    instrumentation = pytest.importorskip("opentelemetry.instrumentation.sqlalchemy")
    import sqlalchemy as sa

    from resourcekit.sql import Database

    provider, exporter = provider
    database = Database(f"sqlite:///{tmp_path / 'traced.db'}", sa.MetaData())
    instrumentor = instrumentation.SQLAlchemyInstrumentor()
    # its declared range lags SQLAlchemy's releases; the events it listens to are stable
    instrumentor.instrument(engine=database.engine, tracer_provider=provider, skip_dep_check=True)
    try:
        s = Site(tracing=Tracing(tracer_provider=provider))

        class Count(Resource):
            def get(self, request):
                with database.engine.connect() as connection:
                    return {"one": connection.execute(sa.text("SELECT 1")).scalar()}

        s.add("/one", Count)
        assert Client(s).get("/one").json == {"one": 1}
    finally:
        instrumentor.uninstrument()
        database.dispose()
    spans = exporter.get_finished_spans()
    server = next(span for span in spans if span.kind is SpanKind.SERVER)
    queries = [span for span in spans if span.kind is SpanKind.CLIENT]
    assert queries and all(q.parent.span_id == server.context.span_id for q in queries)
