"""``python -m benchmarks``: check, time and tabulate resourcekit against raw WSGI and its peers.

The Markdown goes to stdout (paste it into a README); progress and skips go to stderr too, so
``python -m benchmarks > results.md`` keeps a clean table.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from resourcekit.serving import SERVERS

from . import http, inprocess, report
from .apps import BASELINE, DATABASE_FRAMEWORKS, FRAMEWORKS, Framework
from .database import DATABASE_SCENARIOS
from .scenarios import SCENARIOS, Scenario


@dataclass(frozen=True)
class Family:
    """Scenarios and the frameworks that answer them; each family gets its own tables."""

    name: str
    frameworks: dict[str, Framework]
    scenarios: dict[str, Scenario]
    letter: str
    """The scenarios' key letter, for the geometric-mean row."""
    title: str


FAMILIES = (
    Family("api", FRAMEWORKS, SCENARIOS, "S", ""),
    Family("database", DATABASE_FRAMEWORKS, DATABASE_SCENARIOS, "D",
           ", database scenarios (SQLite)"),
)
_ALL_FRAMEWORKS = {name: None for family in FAMILIES for name in family.frameworks}
_ALL_SCENARIOS = {key: None for family in FAMILIES for key in family.scenarios}


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--inprocess-only", action="store_true", help="skip the HTTP runs")
    mode.add_argument("--http-only", action="store_true", help="skip the in-process runs")
    parser.add_argument("--rounds", type=int, default=7,
                        help="in-process rounds; the median is reported (default 7)")
    parser.add_argument("--batch", type=int, default=2000,
                        help="in-process calls per timed batch (default 2000)")
    parser.add_argument("--duration", type=float, default=3.0,
                        help="HTTP seconds of load per framework and scenario (default 3)")
    parser.add_argument("--http-rounds", type=int, default=3,
                        help="HTTP rounds; the median is reported (default 3)")
    parser.add_argument("--connections", type=int, default=8,
                        help="HTTP concurrent connections (default 8; 4 at most without wrk)")
    parser.add_argument("--http-tool", choices=("auto", "wrk", "python"), default="auto",
                        help="load generator: wrk if on PATH (auto), or the Python one")
    parser.add_argument("--only", metavar="NAME[,NAME]",
                        help=f"frameworks to run, of {', '.join(_ALL_FRAMEWORKS)}; "
                             f"{BASELINE} always runs, as the baseline")
    parser.add_argument("--scenarios", metavar="KEY[,KEY]",
                        help=f"scenarios to run, of {', '.join(_ALL_SCENARIOS)} (default all)")
    parser.add_argument("--server", metavar="NAME[,NAME]", default="waitress",
                        help=f"HTTP servers, of {', '.join(SERVERS)} (default waitress); each "
                             "gets its own table, and several a table comparing them")
    parser.add_argument("--json", metavar="PATH", type=Path, help="write the raw results here")
    args = parser.parse_args(argv)
    args.servers = _pick(args.server, dict.fromkeys(SERVERS), "server")
    if args.rounds < 1 or args.batch < 1 or args.duration <= 0 or args.http_rounds < 1:
        parser.error("--rounds, --batch, --http-rounds and --duration must be positive")
    return args


def _pick(option: str | None, known: dict[str, Any], what: str) -> list[str]:
    if not option:
        return list(known)
    names = [name.strip() for name in option.split(",") if name.strip()]
    unknown = [name for name in names if name not in known]
    if unknown:
        raise SystemExit(f"unknown {what}: {', '.join(unknown)} (known: {', '.join(known)})")
    return [name for name in known if name in names]  # table order, not command-line order


def _log(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _available(family: Family, names: list[str]) -> tuple[list[str], list[str]]:
    """The family's frameworks that can run, and a note for each one skipped."""
    ready, skipped = [], []
    for name in dict.fromkeys([BASELINE, *names]):
        if name not in family.frameworks:
            continue
        reason = family.frameworks[name].skip_reason()
        if reason:
            skipped.append(f"- skipped {name}{family.title}: {reason}")
        else:
            ready.append(name)
    return ready, skipped


def _inprocess(args: argparse.Namespace, family: Family, names: list[str],
               scenarios: list[Scenario]) -> tuple[list[str], Any]:
    apps = {}
    errors = {}
    for name in names:
        try:
            apps[name] = family.frameworks[name].create_app()
        except Exception as exc:  # one broken peer must not stop the others
            errors[name] = f"could not build the app: {type(exc).__name__}: {exc}"
    results = inprocess.run(apps, scenarios, rounds=args.rounds, batch=args.batch, progress=_log)
    results.errors.update(errors)
    lines = [
        f"## In-process{family.title}: µs per request (median), cost ratio to raw WSGI",
        "",
        f"{args.rounds} rounds x {args.batch} calls per framework and scenario, frameworks "
        "interleaved round by round, gc enabled. Lower is faster; 1.00x = as fast as raw WSGI.",
        "",
        *report.inprocess_table(results, scenarios, names, family.letter),
        *_errors(results.errors),
    ]
    return lines, results


def _http(args: argparse.Namespace, family: Family, names: list[str],
          scenarios: list[Scenario]) -> tuple[list[str], dict[str, Any]]:
    """One table per server, and with several servers one comparing them."""
    every = http.run_servers(args.servers, names, scenarios, duration=args.duration,
                             connections=args.connections, rounds=args.http_rounds,
                             tool=args.http_tool, family=family.name, progress=_log)
    lines: list[str] = []
    for server, results in every.items():
        cells = [f"- {name} {key}: {message}" for key, failed in results.cell_errors.items()
                 for name, message in failed.items()]
        shape = "4 threads" if server == "waitress" else "1 worker, 4 threads"
        lines += [
            *([""] if lines else []),
            f"## HTTP through {server} ({shape}){family.title}: requests per second, "
            "cost ratio to raw WSGI",
            "",
            f"{results.tool}, {results.connections} connections, {results.duration:g} s per "
            f"framework and scenario, {results.rounds} round(s); {results.pinning}. "
            "Higher req/s is faster; the ratio is raw's req/s over the framework's.",
            "",
            *report.http_table(results, scenarios, names, family.letter),
            *_errors(results.errors),
            *cells,
        ]
    if len(every) > 1:
        lines += ["", f"## Servers compared{family.title}: requests per second, and the ratio "
                  f"to {args.servers[0]}'s", "",
                  *report.servers_table(every, scenarios, names)]
    return lines, every


def _errors(errors: dict[str, str]) -> list[str]:
    return ["", *(f"- **{name} dropped**: {message}" for name, message in errors.items())] \
        if errors else []


def _notes(names: list[str], scenarios: list[Scenario]) -> list[str]:
    keys = {s.key for s in scenarios}
    notes = []
    if keys & {"F1", "F2", "F3", "F4"}:
        notes.append("- F scenarios are resourcekit's own features; their ratio is to its own S2 "
                     "(a full GET) or S3 (a POST with a body), not to raw WSGI. F3 and F4 read "
                     "an item of a site with dated versions, at the newest and three renames "
                     "back; the site's other routes are concerned by no change.")
    if "F2" in keys and "resourcekit" in names:
        from .apps.resourcekit_app import AUTH_ENABLED

        notes.append("- F2 " + ("includes bearer-token authentication." if AUTH_ENABLED else
                                "is the If-Match PUT alone: resourcekit has no authentication "
                                "yet (`add_authentication` in apps/resourcekit_app.py)."))
    if keys & set(DATABASE_SCENARIOS):
        notes.append("- D scenarios: each app has its own SQLite file (WAL) of 1000 notes; D3 "
                     "sends a new title every request, D4 the ETag of its previous answer as "
                     "If-Match, so every write really writes.")
    return notes


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    chosen = _pick(args.only, _ALL_FRAMEWORKS, "framework")
    keys = _pick(args.scenarios, _ALL_SCENARIOS, "scenario")
    began = time.monotonic()
    out = ["# resourcekit benchmarks", "", *report.environment()]
    raw: dict[str, Any] = {"skipped": []}
    tables: list[str] = []
    for family in FAMILIES:
        scenarios = [family.scenarios[key] for key in keys if key in family.scenarios]
        if not scenarios:
            continue
        names, skipped = _available(family, chosen)
        for line in skipped:
            _log(line)
        out += [*skipped, *_notes(names, scenarios)]
        raw["skipped"] += skipped
        prefix = "" if family.name == "api" else f"{family.name}_"
        raw[f"{prefix}frameworks"] = names
        if not args.http_only:
            lines, raw[f"{prefix}inprocess"] = _inprocess(args, family, names, scenarios)
            tables += ["", *lines]
        if not args.inprocess_only:
            lines, every = _http(args, family, names, scenarios)
            for server, results in every.items():  # the first under the name it always had
                suffix = "" if server == args.servers[0] else f"_{server}"
                raw[f"{prefix}http{suffix}"] = results
            tables += ["", *lines]
    out += tables
    print("\n".join(out))
    _log(f"done in {time.monotonic() - began:.0f} s")
    if args.json:
        _write_json(args.json, raw, out)
    return 0


def _write_json(path: Path, raw: dict[str, Any], table: list[str]) -> None:
    def plain(value: Any) -> Any:
        return dataclasses.asdict(value) if dataclasses.is_dataclass(value) else value

    document = {key: plain(value) for key, value in raw.items()}
    document["environment"] = report.environment()
    document["markdown"] = "\n".join(table)
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    _log(f"raw results written to {path}")


if __name__ == "__main__":
    sys.exit(main())
