"""The ``resourcekit`` command: serve a site with waitress, list its routes, print its OpenAPI."""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
from collections.abc import Sequence

from .serving import serve
from .site import Site

__all__ = ["load_site", "main"]


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
    rows = [(r.template, r.name, r.target.allow) for r in site.routes]
    widths = [max((len(row[i]) for row in rows), default=0) for i in range(2)]
    for template, name, allow in rows:
        print(f"{template:<{widths[0]}}  {name:<{widths[1]}}  {allow}")


def print_openapi(site: Site) -> None:
    """The OpenAPI 3.1 document as indented JSON, ready to save or feed to other tools."""
    print(json.dumps(site.openapi(), indent=2, ensure_ascii=False))


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="resourcekit", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve_cmd = commands.add_parser("serve", help="serve a site with waitress")
    serve_cmd.add_argument("site", metavar="MODULE:ATTR")
    serve_cmd.add_argument("--host", default="127.0.0.1", help="default: 127.0.0.1 (loopback only)")
    serve_cmd.add_argument("--port", type=int, default=8080)
    serve_cmd.add_argument("--threads", type=int, default=4)
    routes_cmd = commands.add_parser("routes", help="list URI templates, resources and methods")
    routes_cmd.add_argument("site", metavar="MODULE:ATTR")
    openapi_cmd = commands.add_parser("openapi", help="print the OpenAPI 3.1 document as JSON")
    openapi_cmd.add_argument("site", metavar="MODULE:ATTR")
    args = parser.parse_args(argv)
    site = load_site(args.site)
    if args.command == "serve":
        serve(
            site,
            host=args.host,
            port=args.port,
            threads=args.threads,
            announce=lambda line: print(f"{site.title}: {line}", flush=True),
        )
    elif args.command == "openapi":
        print_openapi(site)
    else:
        print_routes(site)
