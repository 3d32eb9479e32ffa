"""``GET /stations/{id}`` of sample_project in process, next to a bare WSGI app doing the same.

``python -m benchmarks.sample_station``: both read one station from the same SQLite file and
answer JSON; the bare app does only that (routing by string split, one query, ``json.dumps``),
the sample does everything its contract asks (negotiation, schema dump, validators, ``ETag``,
``Last-Modified``, ``Vary``, ``Date``). Median microseconds per request over several rounds.
"""

from __future__ import annotations

import argparse
import io
import json
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from resourcekit.testing import Client
from sample_project import create_site

STATION = {"name": "Brest", "latitude": 48.44, "longitude": -4.41, "country": "FR"}


def bare_app(db_path: Path) -> Callable[..., Iterable[bytes]]:
    """The same lookup with nothing around it: the floor a framework is measured against."""
    connection = sqlite3.connect(db_path, check_same_thread=False)
    connection.row_factory = sqlite3.Row

    def app(environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        station_id = int(environ["PATH_INFO"].rsplit("/", 1)[1])
        row = connection.execute("SELECT * FROM stations WHERE id = ?", [station_id]).fetchone()
        body = json.dumps(dict(row)).encode()
        start_response("200 OK", [("Content-Type", "application/json"),
                                  ("Content-Length", str(len(body)))])
        return [body]

    return app


def environ(path: str) -> dict[str, Any]:
    return {
        "REQUEST_METHOD": "GET", "PATH_INFO": path, "QUERY_STRING": "", "SCRIPT_NAME": "",
        "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "8080", "HTTP_HOST": "127.0.0.1:8080",
        "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "127.0.0.1", "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(),
    }


def per_request(app: Callable, path: str, calls: int) -> float:
    """Microseconds per call, as a server calls: environ, start_response, body consumed."""
    started = time.perf_counter()
    for _ in range(calls):
        b"".join(app(environ(path), lambda status, headers, exc_info=None: None))
    return (time.perf_counter() - started) / calls * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--calls", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        db_path = Path(folder) / "bench.sqlite"
        site = create_site(db_path, api_token="bench")
        auth = {"Authorization": "Bearer bench"}
        path = Client(site, headers=auth).post("/stations", json=STATION).headers["Location"]
        path = "/" + path.split("/", 3)[3]
        apps = {"bare WSGI": bare_app(db_path), "sample_project": site}
        for app in apps.values():
            per_request(app, path, 200)  # warm up
        samples: dict[str, list[float]] = {name: [] for name in apps}
        for _ in range(args.rounds):  # interleaved, so drift hits both alike
            for name, app in apps.items():
                samples[name].append(per_request(app, path, args.calls))
        site.close()
    medians = {name: statistics.median(values) for name, values in samples.items()}
    for name, median in medians.items():
        ratio = median / medians["bare WSGI"]
        print(f"GET {path} {name:>15}: {median:6.1f} µs median ({ratio:.2f}x)")


if __name__ == "__main__":
    main()
