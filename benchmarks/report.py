"""Markdown tables of the results, ready to paste into a README.

Every ratio is a cost ratio against raw WSGI: the framework's time per request divided by raw's
(for HTTP, raw's requests per second divided by the framework's, the same thing at saturation).
1.00x is as fast as raw; 2.00x is twice the cost. One direction for both tables, on purpose.
"""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import os
import platform
from math import exp, log

from .apps import BASELINE
from .http import HttpResults
from .inprocess import InprocessResults
from .scenarios import Scenario

__all__ = ["environment", "http_table", "inprocess_table"]

_LIBRARIES = ("resourcekit", "marshmallow", "webob", "waitress", "falcon", "bottle", "pyramid",
              "flask", "flask-restful", "werkzeug", "django", "djangorestframework", "sqlalchemy")
_DASH = "—"


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.partition(":")[2].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def _versions() -> str:
    found = []
    for name in _LIBRARIES:
        try:
            found.append(f"{name} {importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            continue
    return ", ".join(found)


def environment() -> list[str]:
    """Markdown bullet lines saying where and with what the numbers were taken."""
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else "?"
    taken = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return [
        f"- taken {taken}",
        f"- Python {platform.python_version()} ({platform.python_implementation()}), "
        f"{platform.system()} {platform.machine()}",
        f"- machine: nproc {os.cpu_count()} ({usable} usable), {_cpu_model()}",
        f"- libraries: {_versions()}",
    ]


def _ratio(value: float, base: float | None) -> str:
    return f" ({value / base:.2f}x)" if base else ""


def _geomean(values: list[float]) -> float | None:
    return exp(sum(log(v) for v in values) / len(values)) if values else None


def _header(frameworks: list[str]) -> list[str]:
    return [
        "| scenario | " + " | ".join(frameworks) + " |",
        "| --- | " + " | ".join("---:" for _ in frameworks) + " |",
    ]


def inprocess_table(results: InprocessResults, scenarios: list[Scenario],
                    frameworks: list[str], family: str = "S") -> list[str]:
    """µs per request (median of the rounds) and the cost ratio to raw WSGI."""
    columns = [f for f in frameworks if f not in results.errors]
    lines = _header(columns)
    ratios: dict[str, list[float]] = {f: [] for f in columns}
    for scenario in scenarios:
        base = results.median_us(scenario.key, BASELINE)
        cells = []
        for name in columns:
            value = results.median_us(scenario.key, name)
            if value is None:
                cells.append(_DASH)
            elif scenario.compare_to:
                own = results.median_us(scenario.compare_to, name)
                ratio = f" ({value / own:.2f}x its {scenario.compare_to})" if own else ""
                cells.append(f"{value:.1f} µs{ratio}")
            else:
                cells.append(f"{value:.1f} µs{_ratio(value, base)}")
                if base:
                    ratios[name].append(value / base)
        lines.append(f"| {scenario.key} {scenario.title} | " + " | ".join(cells) + " |")
    lines.append(_geomean_row(ratios, columns, family))
    return lines


def _geomean_row(ratios: dict[str, list[float]], columns: list[str], family: str) -> str:
    cells = []
    for name in columns:
        mean = _geomean(ratios[name])
        cells.append(f"**{mean:.2f}x**" if mean else _DASH)
    return (f"| geometric mean of the cost ratios ({family} scenarios) | " + " | ".join(cells)
            + " |")


def http_table(results: HttpResults, scenarios: list[Scenario],
               frameworks: list[str], family: str = "S") -> list[str]:
    """Requests per second (median of the rounds) and the cost ratio to raw WSGI."""
    columns = [f for f in frameworks if f not in results.errors]
    lines = _header(columns)
    ratios: dict[str, list[float]] = {f: [] for f in columns}
    for scenario in scenarios:
        base = results.median_rps(scenario.key, BASELINE)
        failed = results.cell_errors.get(scenario.key, {})
        cells = []
        for name in columns:
            rps = results.median_rps(scenario.key, name)
            if name in failed:
                cells.append("error")
            elif rps is None:
                cells.append(_DASH)
            elif scenario.compare_to:
                own = results.median_rps(scenario.compare_to, name)
                ratio = f" ({own / rps:.2f}x its {scenario.compare_to})" if own else ""
                cells.append(f"{rps:,.0f}/s{ratio}")
            else:
                cells.append(f"{rps:,.0f}/s" + (f" ({base / rps:.2f}x)" if base else ""))
                if base:
                    ratios[name].append(base / rps)
        if any(c != _DASH for c in cells):
            lines.append(f"| {scenario.key} {scenario.title} | " + " | ".join(cells) + " |")
    lines.append(_geomean_row(ratios, columns, family))
    return lines


def servers_table(every: dict[str, HttpResults], scenarios: list[Scenario],
                  frameworks: list[str]) -> list[str]:
    """One row per framework and scenario, one column per server: req/s (median of the
    rounds) and, after the first server, its rate over the first server's (above 1.00x is
    faster)."""
    servers = list(every)
    first = every[servers[0]]
    lines = [f"| framework, scenario | {' | '.join(servers)} |",
             "| --- |" + " ---: |" * len(servers)]
    for name in frameworks:
        for scenario in scenarios:
            own = first.median_rps(scenario.key, name)
            cells = []
            for server in servers:
                rps = every[server].median_rps(scenario.key, name)
                if rps is None:
                    cells.append(_DASH)
                elif server == servers[0] or not own:
                    cells.append(f"{rps:,.0f}/s")
                else:
                    cells.append(f"{rps:,.0f}/s ({rps / own:.2f}x)")
            if any(c != _DASH for c in cells):
                lines.append(f"| {name} {scenario.key} | " + " | ".join(cells) + " |")
    return lines
