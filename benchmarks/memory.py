"""``python -m benchmarks.memory``: the sample API's resident memory, idle and after requests.

Starts ``python -m sample_project`` (waitress, a fresh seeded SQLite file), reads its
``VmRSS`` from ``/proc`` once it answers, then after ``--requests`` GETs over keep-alive
connections (a list, one station, its observations, the API root, in turn), and prints both.
Linux only: it reads ``/proc/PID/status``.
"""

from __future__ import annotations

import argparse
import http.client
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PATHS = ("/stations", "/stations/1", "/stations/1/observations", "/")


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for {pid}")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the sample exited with {process.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), 0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("the sample did not start")


def load(port: int, requests: int) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        for number in range(requests):
            connection.request("GET", PATHS[number % len(PATHS)])
            response = connection.getresponse()
            response.read()
            if response.status != 200:
                raise RuntimeError(f"{PATHS[number % len(PATHS)]}: {response.status}")
    finally:
        connection.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=10_000)
    args = parser.parse_args(argv)
    port = _free_port()
    with tempfile.TemporaryDirectory() as folder:
        env = {**os.environ, "PORT": str(port), "SAMPLE_DB": str(Path(folder) / "sample.db"),
               "SAMPLE_API_TOKEN": "memory"}
        process = subprocess.Popen([sys.executable, "-m", "sample_project"], env=env,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            _wait(port, process)
            time.sleep(0.5)
            idle = rss_mib(process.pid)
            started = time.monotonic()
            load(port, args.requests)
            took = time.monotonic() - started
            after = rss_mib(process.pid)
        finally:
            process.terminate()
            process.wait(timeout=35)
    print("| sample_project (waitress, 4 threads) | resident memory |")
    print("| --- | ---: |")
    print(f"| idle, after start | {idle:.1f} MiB |")
    print(f"| after {args.requests:,} GETs ({took:.1f} s) | {after:.1f} MiB |")


if __name__ == "__main__":
    main()
