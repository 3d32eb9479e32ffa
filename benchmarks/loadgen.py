"""A Python load generator for when ``wrk`` is not installed: ``python -m benchmarks.loadgen``.

Threads each holding one keep-alive ``http.client`` connection, sending the same request until
the deadline (or, for a scenario with `Steps`, each connection its own sequence of requests).
Being Python, it is often slower than the server it drives, so its requests per second are a
lower bound; the ratios between frameworks still mean something, less sharply. Prints one JSON
object: requests, errors, elapsed seconds, latency percentiles in ms.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import threading
import time
from typing import Any

from .database import DATABASE_SCENARIOS
from .http import send
from .scenarios import CheckFailed, Steps


def _requests(spec: dict[str, Any], port: int, connection: int) -> Steps | None:
    """The sequence of a scenario that cannot repeat a request, started from the server's
    current state (a fresh connection of its own for that read)."""
    if not spec["steps"]:
        return None
    kind = DATABASE_SCENARIOS[spec["steps"]].steps
    assert kind is not None
    return kind(lambda probe: send(port, probe), connection)


def _worker(port: int, spec: dict[str, Any], connection: int, deadline: float,
            latencies: list[float], errors: list[str]) -> None:
    """One connection's loop; only the status class is checked here (the body was checked
    before timing, and checking it again would slow the generator further)."""
    body = spec["body"].encode("latin-1") or None
    method, target, headers = spec["method"], spec["target"], spec["headers"]
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        steps = _requests(spec, port, connection)
        while time.monotonic() < deadline:
            if steps is not None:
                probe = steps.probe()
                method, target, headers, body = (probe.method, probe.target,
                                                 dict(probe.headers), probe.body)
            begin = time.perf_counter()
            conn.request(method, target, body=body, headers=headers)
            response = conn.getresponse()
            response.read()
            latencies.append(time.perf_counter() - begin)
            if steps is not None:
                steps.answered(response.status, {k.lower(): v for k, v in response.getheaders()})
            if response.status != spec["status"]:
                errors.append(f"status {response.status}")
    except (OSError, http.client.HTTPException, CheckFailed) as exc:
        errors.append(f"{type(exc).__name__}: {exc}")
    finally:
        conn.close()


def _percentile(values: list[float], fraction: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] * 1000


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--duration", type=float, required=True)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--cpu", type=int, default=None)
    parser.add_argument("--spec", required=True, help="JSON: method, target, headers, body, status")
    args = parser.parse_args(argv)
    if args.cpu is not None:
        os.sched_setaffinity(0, {args.cpu})
    spec = json.loads(args.spec)
    deadline = time.monotonic() + args.duration
    per_thread: list[list[float]] = [[] for _ in range(args.connections)]
    errors: list[str] = []
    threads = [
        threading.Thread(target=_worker, args=(args.port, spec, number, deadline, lat, errors),
                         daemon=True)
        for number, lat in enumerate(per_thread)
    ]
    begin = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(args.duration + 15)
    elapsed = time.monotonic() - begin
    latencies = [value for values in per_thread for value in values]
    print(json.dumps({
        "requests": len(latencies),
        "errors": len(errors),
        "first_error": errors[0] if errors else None,
        "elapsed": elapsed,
        "p50_ms": _percentile(latencies, 0.5),
        "p99_ms": _percentile(latencies, 0.99),
    }))


if __name__ == "__main__":
    main()
