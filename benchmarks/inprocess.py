"""In-process runner: call each WSGI app directly, as a server would, with no sockets.

This isolates the framework's own cost per request: everything a server does (parsing, socket
I/O) is left out, so differences between columns are framework overhead alone. Frameworks are
interleaved round by round, so slow drift of the machine (frequency scaling, other load) hits
every column alike; the median of the rounds is reported.
"""

from __future__ import annotations

import gc
import io
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from statistics import median
from typing import Any

from .scenarios import CheckFailed, Probe, Reply, Scenario, Steps, verify

__all__ = ["InprocessResults", "Timer", "make_environ", "run", "send", "time_batch", "time_steps"]

WSGIApp = Callable[[dict[str, Any], Callable], Iterable[bytes]]


@dataclass
class InprocessResults:
    """Microseconds per request, every round kept: ``samples[scenario][framework]``."""

    samples: dict[str, dict[str, list[float]]] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    batch: int = 0
    rounds: int = 0

    def median_us(self, scenario: str, framework: str) -> float | None:
        values = self.samples.get(scenario, {}).get(framework)
        return median(values) if values else None


def make_environ(probe: Probe, host: str = "localhost", port: int = 80) -> dict[str, Any]:
    """The environ waitress would build for ``probe`` (``wsgi.input`` is set per call)."""
    environ: dict[str, Any] = {
        "REQUEST_METHOD": probe.method,
        "SCRIPT_NAME": "",
        "PATH_INFO": probe.path,
        "QUERY_STRING": probe.query,
        "SERVER_NAME": host,
        "SERVER_PORT": str(port),
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "REMOTE_HOST": "127.0.0.1",
        "HTTP_HOST": host if port == 80 else f"{host}:{port}",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
        "wsgi.input_terminated": True,
    }
    for name, value in probe.headers:
        key = name.upper().replace("-", "_")
        if key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            environ[key] = value
        else:
            environ[f"HTTP_{key}"] = value
    if probe.body:
        environ["CONTENT_LENGTH"] = str(len(probe.body))
    return environ


def send(app: WSGIApp, probe: Probe) -> Reply:
    """One request, answer collected in full: what the checks look at."""
    environ = make_environ(probe)
    environ["wsgi.input"] = io.BytesIO(probe.body)
    started: list[Any] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        started[:] = [status, headers]
        return _discard

    result = app(environ, start_response)
    try:
        body = b"".join(result)
    finally:
        if hasattr(result, "close"):
            result.close()
    status, headers = started
    merged: dict[str, str] = {}
    for name, value in headers:
        key = name.lower()
        merged[key] = f"{merged[key]}, {value}" if key in merged else value
    return Reply(int(status.split(" ", 1)[0]), merged, body)


def _discard(data: bytes) -> None:
    """The ``write`` callable of start_response: nothing to write to here."""


def _start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
    return _discard


def time_batch(app: WSGIApp, environ: dict[str, Any], body: bytes, calls: int) -> float:
    """Microseconds per request over ``calls`` requests.

    Each call gets a fresh copy of the environ and a fresh ``wsgi.input``, as from a server:
    frameworks cache parsed state in the environ, and a reused one would flatter them. The
    iterable is consumed and closed, as PEP 3333 requires of a server.
    """
    start_response = _start_response
    new_input = io.BytesIO
    copy = environ.copy
    begin = time.perf_counter_ns()
    for _ in range(calls):
        env = copy()
        env["wsgi.input"] = new_input(body)
        result = app(env, start_response)
        for _chunk in result:
            pass
        close = getattr(result, "close", None)
        if close is not None:
            close()
    return (time.perf_counter_ns() - begin) / calls / 1000


def time_steps(app: WSGIApp, environ: dict[str, Any], steps: Steps, calls: int) -> float:
    """`time_batch` for a scenario whose request changes every call: ``steps`` turns each
    copied environ into the next request and reads each answer (in ``start_response``), which
    costs every framework the same few dict operations."""
    start_response = steps.start_response
    prepare = steps.prepare
    new_input = io.BytesIO
    copy = environ.copy
    begin = time.perf_counter_ns()
    for _ in range(calls):
        env = copy()
        env["wsgi.input"] = new_input(prepare(env))
        result = app(env, start_response)
        for _chunk in result:
            pass
        close = getattr(result, "close", None)
        if close is not None:
            close()
    return (time.perf_counter_ns() - begin) / calls / 1000


class Timer:
    """How one framework's scenario is timed: a fixed request, or the sequence of `Steps`."""

    def __init__(self, app: WSGIApp, scenario: Scenario) -> None:
        self.app, self.key = app, scenario.key
        self.environ = make_environ(scenario.probe)
        self.body = scenario.probe.body
        self.steps = scenario.steps(lambda probe: send(app, probe), 0) if scenario.steps else None

    def __call__(self, calls: int) -> float:
        if self.steps is None:
            return time_batch(self.app, self.environ, self.body, calls)
        micros = time_steps(self.app, self.environ, self.steps, calls)
        if self.steps.failures:
            raise CheckFailed(f"{self.key}: {self.steps.failures} timed answers were wrong")
        return micros


def _prepare(
    apps: dict[str, WSGIApp], scenarios: list[Scenario], results: InprocessResults, warmup: int
) -> dict[str, dict[str, Timer]]:
    """Check every framework on every scenario, then warm it up; drop the ones that fail."""
    ready = {}
    for name, app in apps.items():
        try:
            for scenario in scenarios:
                if scenario.applies_to(name):
                    verify(scenario, name, lambda probe, app=app: send(app, probe))
            timers = {s.key: Timer(app, s) for s in scenarios if s.applies_to(name)}
            for timer in timers.values():
                timer(warmup)
        except CheckFailed as exc:
            results.errors[name] = f"check failed, not timed: {exc}"
            continue
        except Exception as exc:  # a crashing app must not take the other columns down
            results.errors[name] = f"check crashed, not timed: {type(exc).__name__}: {exc}"
            continue
        ready[name] = timers
    return ready


def run(
    apps: dict[str, WSGIApp],
    scenarios: list[Scenario],
    *,
    rounds: int,
    batch: int,
    warmup: int = 500,
    progress: Callable[[str], None] = lambda line: None,
) -> InprocessResults:
    """Check, warm up, then time ``rounds`` batches of ``batch`` calls per framework and scenario.

    Within a round the framework order rotates, so none always runs first after a collection.
    gc stays enabled, as in production; a full collection before each batch keeps one
    framework's garbage from being collected on another's time.
    """
    results = InprocessResults(batch=batch, rounds=rounds)
    ready = _prepare(apps, scenarios, results, warmup)
    names = list(ready)
    for number in range(rounds):
        order = names[number % len(names):] + names[: number % len(names)] if names else []
        for scenario in scenarios:
            for name in order:
                if scenario.key not in ready[name] or name in results.errors:
                    continue
                gc.collect()
                try:
                    micros = ready[name][scenario.key](batch)
                except CheckFailed as exc:
                    results.errors[name] = f"a timed answer was wrong, column void: {exc}"
                    continue
                results.samples.setdefault(scenario.key, {}).setdefault(name, []).append(micros)
        progress(f"in-process round {number + 1}/{rounds} done")
    return results
