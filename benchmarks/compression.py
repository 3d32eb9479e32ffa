"""Response compression's cost: S5 and a 100-item list coded with gzip and zstd, as a ratio to
the identity body, in process and over HTTP behind waitress, and the bytes each sends.

``python -m benchmarks.compression [--calls 2000] [--duration 2]``: about 30 seconds. The HTTP
half serves the site from a thread of this process and times one keep-alive connection.
"""

from __future__ import annotations

import argparse
import http.client
import logging
import statistics
import threading
import time

import waitress

from .apps import resourcekit_app
from .inprocess import make_environ, send, time_batch
from .scenarios import Probe

CASES = {"S5": "limit=10", "L100": "limit=100"}
CODINGS = ("identity", "gzip", "zstd")


def _probe(query: str, coding: str) -> Probe:
    return Probe("GET", "/items", query, (("Accept-Encoding", coding),))


def inprocess(calls: int, rounds: int = 3) -> dict[tuple[str, str], float]:
    app = resourcekit_app.create_app(compression=True)
    timings = {}
    for case, query in CASES.items():
        for coding in CODINGS:
            environ = make_environ(_probe(query, coding))
            time_batch(app, environ, b"", calls // 10)  # warm
            samples = [time_batch(app, environ, b"", calls) for _ in range(rounds)]
            timings[case, coding] = statistics.median(samples)
    return timings


def wire_bytes() -> dict[tuple[str, str], int]:
    app = resourcekit_app.create_app(compression=True)
    return {
        (case, coding): len(send(app, _probe(query, coding)).body)
        for case, query in CASES.items() for coding in CODINGS
    }


def over_http(duration: float) -> dict[tuple[str, str], float]:
    server = waitress.create_server(
        resourcekit_app.create_app(compression=True), host="127.0.0.1", port=0, threads=2
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    timings = {}
    try:
        for case, query in CASES.items():
            for coding in CODINGS:
                connection = http.client.HTTPConnection("127.0.0.1", server.effective_port)
                headers = {"Accept-Encoding": coding}
                count, deadline = 0, time.perf_counter() + duration
                started = time.perf_counter()
                while time.perf_counter() < deadline:
                    connection.request("GET", f"/items?{query}", headers=headers)
                    connection.getresponse().read()
                    count += 1
                timings[case, coding] = (time.perf_counter() - started) / count * 1e6
                connection.close()
    finally:
        server.close()
    return timings


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--duration", type=float, default=2.0)
    args = parser.parse_args(argv)
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)  # one connection: no queue
    sizes, local, remote = wire_bytes(), inprocess(args.calls), over_http(args.duration)
    print("| case | coding | bytes | in-process µs | ratio | HTTP µs | ratio |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: |")
    for case in CASES:
        for coding in CODINGS:
            key, base = (case, coding), (case, "identity")
            print(
                f"| {case} | {coding} | {sizes[key]} | {local[key]:.1f} | "
                f"{local[key] / local[base]:.2f} | {remote[key]:.0f} | "
                f"{remote[key] / remote[base]:.2f} |"
            )


if __name__ == "__main__":
    main()
