"""The ``resourcekit`` command: serve a site (waitress, granian or gunicorn), list its routes,
print its OpenAPI document or its API versions."""

from __future__ import annotations

import argparse
import importlib
import json
import os
import subprocess
import sys
from collections.abc import Callable, Sequence

from . import __version__
from .accesslog import to_stdout
from .errors import ConfigurationError
from .serving import SERVERS, serve
from .site import Site

__all__ = ["build_parser", "load_site", "main", "print_versions"]


def load_site(spec: str) -> Site:
    """Import ``MODULE:ATTR`` (the working folder is importable, as with ``python -m``)."""
    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        raise SystemExit(f"expected MODULE:ATTR, got {spec!r}")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        target = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and (module_name == exc.name or module_name.startswith(exc.name + ".")):
            raise SystemExit(f"cannot import {module_name!r}: {exc}") from None
        raise
    for part in attr.split("."):
        try:
            target = getattr(target, part)
        except AttributeError:
            raise SystemExit(f"{module_name!r} has no attribute {attr!r}") from None
    if not isinstance(target, Site):
        raise SystemExit(f"{spec} is a {type(target).__name__}, not a resourcekit Site")
    return target


def print_routes(site: Site) -> None:
    """One line per route: its URI template, its name and the methods it allows."""
    rows = [(r.template, r.name, r.target.allow) for r in site.routes]
    widths = [max((len(row[i]) for row in rows), default=0) for i in range(2)]
    for template, name, allow in rows:
        print(f"{template:<{widths[0]}}  {name:<{widths[1]}}  {allow}")


def print_openapi(site: Site, version: str | None = None) -> None:
    """The OpenAPI 3.1 document (of one API ``version``) as indented JSON, ready to save or
    feed to other tools."""
    try:
        document = site.openapi(version)
    except ValueError as exc:
        raise SystemExit(str(exc)) from None
    print(json.dumps(document, indent=2, ensure_ascii=False))


def print_versions(site: Site) -> None:
    """Each API version, oldest first, with what marks it (default, newest, deprecated and its
    sunset) and the changes it brought, one line each: ``schema: description``."""
    versions = site.versions
    if versions is None:
        print("this site has no API versions")
        return
    for version in versions.versions:
        marks = [m for m, on in (("default", version == versions.fallback),
                                  ("newest", version == versions.newest)) if on]
        if version in versions.deprecated:
            sunset = versions.deprecated[version]
            marks.append(f"deprecated, sunset {sunset.isoformat()}" if sunset else "deprecated")
        print(version + (f"  ({'; '.join(marks)})" if marks else ""))
        for change in versions.changes:
            if change.version == version:
                print(f"  {change.schema.__name__}: {change.description}")


def _within(low: int, high: int) -> Callable[[str], int]:
    """An argument type: an integer from ``low`` to ``high``, else argparse's usage error."""

    def integer(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{value} is not in {low}..{high}")
        return value

    return integer


SITE_HELP = "the site: a module importable from the working folder, and its Site (e.g. notes:site)"


def build_parser() -> argparse.ArgumentParser:
    """The command line; its help is plain text, each option showing its default."""
    parser = argparse.ArgumentParser(
        prog="resourcekit",
        description="Serve a resourcekit site with waitress, granian or gunicorn, list its "
        "routes, or print its OpenAPI document or API versions.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    serve_cmd = commands.add_parser(
        "serve",
        help="serve a site with waitress, granian or gunicorn",
        description="Serve the site until SIGTERM, then let the requests already received "
        "finish, and exit.",
    )
    serve_cmd.add_argument("site", metavar="MODULE:ATTR", help=SITE_HELP)
    serve_cmd.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default: %(default)s, reachable from this machine only)",
    )
    serve_cmd.add_argument(
        "--port", type=_within(0, 65535), default=8080,
        help="port to listen on, 0 for any free one (default: %(default)s)",
    )
    serve_cmd.add_argument(
        "--threads",
        type=_within(1, 1024),
        default=4,
        help="threads answering requests, in each worker (default: %(default)s)",
    )
    serve_cmd.add_argument(
        "--server",
        choices=SERVERS,
        default="waitress",
        help="the HTTP server: waitress (pure Python), or the extras granian and gunicorn "
        "(default: %(default)s)",
    )
    serve_cmd.add_argument(
        "--workers",
        type=_within(1, 1024),
        default=1,
        help="worker processes, each with its threads; granian and gunicorn only "
        "(default: %(default)s)",
    )
    serve_cmd.add_argument(
        "--reload",
        action="store_true",
        help="restart the workers when a source file changes, for development; granian and "
        "gunicorn only (the site is then imported by the workers alone)",
    )
    serve_cmd.add_argument(
        "--access-log",
        action="store_true",
        help="write one JSON object per answered request on standard output (logger "
        "resourcekit.access)",
    )
    routes_cmd = commands.add_parser("routes", help="list URI templates, resources and methods")
    routes_cmd.add_argument("site", metavar="MODULE:ATTR", help=SITE_HELP)
    openapi_cmd = commands.add_parser("openapi", help="print the OpenAPI 3.1 document as JSON")
    openapi_cmd.add_argument("site", metavar="MODULE:ATTR", help=SITE_HELP)
    openapi_cmd.add_argument(
        "--api-version", metavar="DATE", help="the API version to describe (default: the one a "
        "request naming none is answered in)",
    )
    versions_cmd = commands.add_parser("versions", help="list API versions and their changes")
    versions_cmd.add_argument("site", metavar="MODULE:ATTR", help=SITE_HELP)
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    if args.command == "serve":
        run_server(args)
        return
    site = load_site(args.site)
    if args.command == "openapi":
        print_openapi(site, args.api_version)
    elif args.command == "versions":
        print_versions(site)
    else:
        print_routes(site)


_CHECK = "import sys; from resourcekit.cli import load_site; print(load_site(sys.argv[1]).title)"


def _checked_title(spec: str) -> str:
    """The site's title, imported in a fresh interpreter: the workers fork from this process,
    and would share whatever its import opened here (a database connection: two workers
    talking on one socket) if it were imported here."""
    command = [sys.executable, "-c", _CHECK, spec]  # its errors reach stderr as they are
    done = subprocess.run(command, stdout=subprocess.PIPE, text=True, check=False)  # noqa: S603
    if done.returncode != 0:
        raise SystemExit(done.returncode)
    printed = done.stdout.splitlines()
    sys.stdout.write("".join(f"{line}\n" for line in printed[:-1]))  # what its import printed
    return printed[-1] if printed else spec


def run_server(args: argparse.Namespace) -> None:
    """``serve``: the workers import the site by name; without ``--reload`` it is imported
    first, so a mistake in it stops the command before any server starts."""
    if args.access_log:  # before the workers start: they inherit the handler
        to_stdout()
    if args.reload:
        title = args.site
    elif args.server == "waitress":  # one process: the site imported here is the one served
        title = load_site(args.site).title
    else:
        title = _checked_title(args.site)
    try:
        serve(
            args.site,
            server=args.server,
            host=args.host,
            port=args.port,
            threads=args.threads,
            workers=args.workers,
            reload=args.reload,
            announce=lambda line: print(f"{title}: {line}", flush=True),
        )
    except ConfigurationError as exc:
        raise SystemExit(f"resourcekit serve: {exc}") from None
