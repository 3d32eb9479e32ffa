"""End-to-end runner: each app behind a server (waitress by default, or granian or gunicorn: one
worker process, 4 threads) in its own process, driven over loopback by ``wrk`` or, without it,
by `benchmarks.loadgen`.

This adds what the in-process numbers leave out: HTTP parsing, sockets and the server's threads,
which dilute framework differences as real deployments do. All servers are started (and their
answers checked) before any load, and each server is pinned to one CPU and the load generator
to another where the machine allows, so they do not fight over a core.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import re
import selectors
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from statistics import median
from typing import IO, Any

from .scenarios import CheckFailed, Probe, Reply, Scenario, verify

__all__ = ["HttpResults", "Measurement", "cpu_plan", "lua_string", "run", "run_servers"]

START_TIMEOUT = 20.0
"""Seconds a server may take to import its framework and bind."""
REQUEST_TIMEOUT = 10.0


@dataclass(frozen=True)
class Measurement:
    rps: float
    p50_ms: float | None
    p99_ms: float | None
    note: str = ""


@dataclass
class HttpResults:
    """Requests per second, ``measurements[scenario][framework]`` (one per round), and what
    went wrong."""

    tool: str
    duration: float
    connections: int
    pinning: str
    rounds: int = 1
    server: str = "waitress"
    measurements: dict[str, dict[str, list[Measurement]]] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    """Frameworks dropped whole: the server did not start or answered a check wrongly."""
    cell_errors: dict[str, dict[str, str]] = field(default_factory=dict)
    """One scenario of one framework failed under load (e.g. non-2xx answers)."""

    def median_rps(self, scenario: str, framework: str) -> float | None:
        runs = self.measurements.get(scenario, {}).get(framework)
        return median(m.rps for m in runs) if runs else None


def cpu_plan() -> tuple[int | None, int | None, str]:
    """(server CPU, load-generator CPU, description); None where pinning is not possible."""
    if not hasattr(os, "sched_getaffinity"):
        return None, None, "not pinned (no sched_setaffinity on this platform)"
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        return None, None, "not pinned (one CPU available)"
    return cpus[0], cpus[1], f"server on CPU {cpus[0]}, load generator on CPU {cpus[1]}"


# -- servers ----------------------------------------------------------------------------------


@contextlib.contextmanager
def serving(framework: str, cpu: int | None, threads: int = 4, family: str = "api",
            server: str = "waitress") -> Iterator[int]:
    """Run ``framework`` under ``server`` in a subprocess; yield its port; always stop it."""
    command = [sys.executable, "-m", "benchmarks.serve", framework, "--threads", str(threads),
               "--family", family, "--server", server]
    if cpu is not None:
        command += ["--cpu", str(cpu)]
    with tempfile.TemporaryFile() as stderr:
        process = subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=stderr,
            cwd=Path(__file__).resolve().parent.parent,
        )
        try:
            port = _read_port(process, stderr)
            _wait_accepting(port)
            yield port
        finally:
            _stop(process)


def _wait_accepting(port: int) -> None:
    """granian announces its port before its worker listens on it."""
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), 1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def _read_port(process: subprocess.Popen, stderr: IO[bytes]) -> int:
    """The first line the server prints, waiting at most `START_TIMEOUT`."""
    assert process.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        ready = selector.select(START_TIMEOUT)
    line = process.stdout.readline() if ready else b""
    if not line.strip().isdigit():
        _stop(process)
        stderr.seek(0)
        tail = stderr.read().decode(errors="replace").strip().splitlines()[-3:]
        raise RuntimeError(f"server did not start: {' | '.join(tail) or 'no output'}")
    return int(line)


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)


def send(port: int, probe: Probe) -> Reply:
    """One request over a fresh connection, for the checks."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_TIMEOUT)
    try:
        conn.request(probe.method, probe.target, body=probe.body or None,
                     headers=dict(probe.headers))
        response = conn.getresponse()
        body = response.read()
        headers: dict[str, str] = {}
        for name, value in response.getheaders():
            key = name.lower()
            headers[key] = f"{headers[key]}, {value}" if key in headers else value
        return Reply(response.status, headers, body)
    finally:
        conn.close()


# -- load generators --------------------------------------------------------------------------


def lua_string(text: str) -> str:
    """A Lua long-bracket literal that cannot be closed early by the text it holds."""
    level = 0
    while f"]{'=' * level}]" in text:
        level += 1
    return f"[{'=' * level}[{text}]{'=' * level}]"


def _wrk_script(probe: Probe) -> str:
    lines = [f"wrk.method = {lua_string(probe.method)}"]
    if probe.body:
        lines.append(f"wrk.body = {lua_string(probe.body.decode())}")
    # The spaces matter: ``t[[[k]]]`` is a call of ``t`` with a long string, not an index.
    lines += [f"wrk.headers[ {lua_string(k)} ] = {lua_string(v)}" for k, v in probe.headers]
    return "\n".join(lines) + "\n"


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _wrk_percentile(output: str, label: str) -> float | None:
    match = re.search(rf"^\s+{label}%\s+([\d.]+)(us|ms|s)\s*$", output, re.MULTILINE)
    return float(match.group(1)) * _UNITS[match.group(2)] if match else None


def parse_wrk(output: str) -> Measurement:
    """Requests/sec and latency percentiles; non-2xx/3xx answers make the cell an error."""
    rate = re.search(r"Requests/sec:\s+([\d.]+)", output)
    if rate is None:
        raise RuntimeError(f"wrk printed no rate: {output.strip()[-300:]}")
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    if bad is not None:
        raise RuntimeError(f"{bad.group(1)} non-2xx/3xx answers under load")
    sockets = re.search(r"Socket errors:.*", output)
    return Measurement(
        float(rate.group(1)),
        _wrk_percentile(output, "50"),
        _wrk_percentile(output, "99"),
        sockets.group(0) if sockets else "",
    )


def _pinned(command: list[str], cpu: int | None) -> list[str]:
    taskset = shutil.which("taskset")
    return [taskset, "-c", str(cpu), *command] if cpu is not None and taskset else command


def _steps_script(scenario: Scenario) -> tuple[str, bool]:
    """The wrk script of a scenario, and whether it needs one wrk thread per connection."""
    script = _wrk_script(scenario.probe)
    if scenario.steps is None:
        return script, False
    prefix = f"{os.getpid()}.{time.time_ns()}.wrk"  # new titles each run of wrk
    return script + scenario.steps.lua(prefix), scenario.steps.per_connection


def run_wrk(port: int, scenario: Scenario, duration: float, connections: int, cpu: int | None
            ) -> Measurement:
    probe = scenario.probe
    text, per_connection = _steps_script(scenario)
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(text)
    try:
        threads = connections if per_connection else 1
        seconds = max(1, round(duration))  # wrk takes whole seconds only ("-d0.5s" is refused)
        command = _pinned(
            ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency",
             "--timeout",
             "5s", "-s", script.name, f"http://127.0.0.1:{port}{probe.target}"],
            cpu,
        )
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=duration + 30, check=False
        )
    finally:
        os.unlink(script.name)
    if done.returncode != 0 or done.stderr.strip():
        # wrk reports a script error on stderr and then loads the bare URL instead: never time
        # that as the scenario.
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr.strip()[-300:]}")
    return parse_wrk(done.stdout)


def run_python(port: int, scenario: Scenario, duration: float, connections: int,
               cpu: int | None, status: int) -> Measurement:
    probe = scenario.probe
    spec = {
        "method": probe.method,
        "target": probe.target,
        "headers": dict(probe.headers),
        "body": probe.body.decode("latin-1"),
        "status": status,
        "steps": scenario.key if scenario.steps else None,
    }
    command = [sys.executable, "-m", "benchmarks.loadgen", "--port", str(port), "--duration",
               str(duration), "--connections", str(connections), "--spec", json.dumps(spec)]
    if cpu is not None:
        command += ["--cpu", str(cpu)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=duration + 30,
                          check=False, cwd=Path(__file__).resolve().parent.parent)
    if done.returncode != 0:
        raise RuntimeError(f"load generator failed: {done.stderr.strip()[-300:]}")
    report = json.loads(done.stdout)
    if report["errors"]:
        raise RuntimeError(f"{report['errors']} failed requests, first: {report['first_error']}")
    return Measurement(report["requests"] / report["elapsed"], report["p50_ms"], report["p99_ms"])


def choose_tool(requested: str) -> str:
    """``wrk`` when asked for or found on PATH (``auto``); else the Python generator."""
    if requested == "wrk" and shutil.which("wrk") is None:
        raise SystemExit("--http-tool wrk: wrk is not on PATH (apt-get install wrk)")
    if requested == "auto":
        return "wrk" if shutil.which("wrk") else "python"
    return requested


# -- the run ----------------------------------------------------------------------------------

_STATUS = {"S3": 201, "F1": 304, "D3": 201}


def _measure(tool: str, port: int, scenario: Scenario, results: HttpResults, cpu: int | None
             ) -> Measurement:
    if tool == "wrk":
        return run_wrk(port, scenario, results.duration, results.connections, cpu)
    status = _STATUS.get(scenario.key, 200)
    return run_python(port, scenario, results.duration, results.connections, cpu, status)


def _start_all(stack: contextlib.ExitStack, frameworks: list[str], scenarios: list[Scenario],
               cpu: int | None, results: HttpResults, family: str, server: str
               ) -> dict[str, int]:
    """Start every server and check its answers; a failing one is dropped with its error."""
    ports = {}
    for name in frameworks:
        try:
            port = stack.enter_context(serving(name, cpu, family=family, server=server))
            for scenario in scenarios:
                if scenario.applies_to(name):
                    verify(scenario, name, lambda probe, port=port: send(port, probe))
        except (CheckFailed, RuntimeError, OSError, http.client.HTTPException) as exc:
            results.errors[name] = f"{type(exc).__name__}: {exc}"
            continue
        ports[name] = port
    return ports


def _warm_up(tool: str, ports: dict[str, int], scenarios: list[Scenario], results: HttpResults,
             cpu: int | None) -> None:
    """A short untimed load per server and scenario: the first seconds of a fresh process
    (imports finishing, caches filling, the CPU clocking up) are not its steady state."""
    warm = HttpResults(tool, min(0.5, results.duration), results.connections, results.pinning)
    for name, port in ports.items():
        for scenario in scenarios:
            if scenario.applies_to(name):
                with contextlib.suppress(RuntimeError, subprocess.TimeoutExpired, ValueError):
                    _measure(tool, port, scenario, warm, cpu)


def run(
    frameworks: list[str],
    scenarios: list[Scenario],
    *,
    duration: float,
    connections: int,
    rounds: int = 1,
    tool: str = "auto",
    family: str = "api",
    server: str = "waitress",
    progress: Callable[[str], None] = lambda line: None,
) -> HttpResults:
    """Serve (with ``server``), check, warm up, then load each framework for ``duration``
    seconds per scenario, ``rounds`` times, frameworks rotating so that none is always measured
    first."""
    server_cpu, load_cpu, pinning = cpu_plan()
    tool = choose_tool(tool)
    if tool == "python":
        connections = min(connections, 4)  # more threads only contend for the GIL
    results = HttpResults(tool, duration, connections, pinning, rounds, server)
    with contextlib.ExitStack() as stack:
        ports = _start_all(stack, frameworks, scenarios, server_cpu, results, family, server)
        _warm_up(tool, ports, scenarios, results, load_cpu)
        order = list(ports)
        for number in range(rounds):
            for index, scenario in enumerate(scenarios):
                shift = (index + number) % len(order) if order else 0
                for name in order[shift:] + order[:shift]:
                    if scenario.applies_to(name) and name not in results.cell_errors.get(
                        scenario.key, {}
                    ):
                        _measure_cell(tool, ports[name], scenario, name, results, load_cpu,
                                      progress)
    return results


def run_servers(servers: list[str], frameworks: list[str], scenarios: list[Scenario],
                **options: Any) -> dict[str, HttpResults]:
    """`run` under each server in turn: one set of results per server, each with its raw."""
    return {server: run(frameworks, scenarios, server=server, **options) for server in servers}


def _measure_cell(tool: str, port: int, scenario: Scenario, name: str, results: HttpResults,
                  cpu: int | None, progress: Callable[[str], None]) -> None:
    try:
        measured = _measure(tool, port, scenario, results, cpu)
    except (RuntimeError, subprocess.TimeoutExpired, ValueError) as exc:
        results.cell_errors.setdefault(scenario.key, {})[name] = str(exc)
        return
    results.measurements.setdefault(scenario.key, {}).setdefault(name, []).append(measured)
    progress(f"http {results.server} {scenario.key} {name}: {measured.rps:,.0f} req/s")
