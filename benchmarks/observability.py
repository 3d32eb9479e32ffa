"""``python -m benchmarks.observability``: what request ids, the access log, metrics and
tracing cost, in process, on S1 and S2.

Sites with the benchmark app's ``/hello`` and ``/items/{item_id}`` are built with each feature
on alone, then all together, and timed round by round against the site with all of them off
(request ids are always on: the "off" column has them, and the access log's logger disabled).
The access log goes to a ``logging.NullHandler``; tracing makes spans with the OpenTelemetry
SDK, ended into an exporter that drops them; metrics count into a private registry. Each
answer is checked first, as the main runner does. Prints microseconds per request and the
ratio to "off"; the goal is each feature under 1.10 on S2.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
from collections.abc import Callable, Iterator
from statistics import median
from typing import Any

from .apps import resourcekit_app as app_module
from .inprocess import make_environ, send, time_batch
from .scenarios import SCENARIOS, verify

VARIANTS = ("off", "access log", "metrics", "tracing", "all")


def build(variant: str) -> Any:
    from resourcekit import Site

    options: dict[str, Any] = {}
    if variant in ("metrics", "all"):
        options["metrics"] = True
    if variant in ("tracing", "all"):
        options["tracing"] = _tracing()
    site = Site(title="Benchmark", **options)
    site.add("/hello", app_module.Hello)
    site.add("/items/{item_id:int}", app_module.Item)
    return site


def _tracing() -> Any:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult

    from resourcekit.tracing import Tracing

    class Dropped(SpanExporter):
        def export(self, spans: Any) -> SpanExportResult:
            return SpanExportResult.SUCCESS

    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(Dropped()))
    return Tracing(tracer_provider=provider)


@contextlib.contextmanager
def access_log(on: bool) -> Iterator[None]:
    """The access logger enabled into a NullHandler, or disabled, for the block."""
    logger = logging.getLogger("resourcekit.access")
    handler = logging.NullHandler()
    if on:
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(logging.NOTSET)
        logger.propagate = True


def run(scenarios: list[str], rounds: int, batch: int) -> dict[str, dict[str, float]]:
    """Median microseconds per request: ``result[scenario][variant]``."""
    sites = {variant: build(variant) for variant in VARIANTS}
    samples: dict[str, dict[str, list[float]]] = {s: {v: [] for v in VARIANTS} for s in scenarios}
    for key in scenarios:
        scenario = SCENARIOS[key]
        for variant, site in sites.items():
            with access_log(variant in ("access log", "all")):
                verify(scenario, variant, _sender(site))
    for _ in range(rounds):
        for key in scenarios:
            probe = SCENARIOS[key].probe
            environ = make_environ(probe)
            for variant, site in sites.items():
                with access_log(variant in ("access log", "all")):
                    samples[key][variant].append(time_batch(site, environ, probe.body, batch))
    return {s: {v: median(values) for v, values in by.items()} for s, by in samples.items()}


def _sender(site: Any) -> Callable[..., Any]:
    return lambda probe: send(site, probe)


def table(results: dict[str, dict[str, float]]) -> str:
    lines = ["| scenario | " + " | ".join(VARIANTS) + " |",
             "| --- |" + " --- |" * len(VARIANTS)]
    for key, by in results.items():
        off = by["off"]
        cells = [f"{by['off']:.1f} µs"] + [f"{by[v]:.1f} µs ({by[v] / off:.2f}x)"
                                           for v in VARIANTS[1:]]
        lines.append(f"| {key} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.observability",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenarios", default="S1,S2")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--batch", type=int, default=2000)
    args = parser.parse_args(argv)
    print(table(run(args.scenarios.split(","), args.rounds, args.batch)))


if __name__ == "__main__":
    main()
