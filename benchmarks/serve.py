"""Serve one benchmark app:
``python -m benchmarks.serve NAME [--family api|database] [--server waitress|granian|gunicorn]
[--threads N] [--cpu N]``.

Run by `benchmarks.http` in a subprocess; the port is printed as the first line of stdout.
waitress and gunicorn bind a free port themselves, so there is no race between choosing a port
and binding it; granian cannot report the port it bound, so one is chosen free just before.
granian and gunicorn run one worker process (pinned with its server to ``--cpu``: the affinity is
inherited), started through `resourcekit.serving.serve` as a site would be.
"""

from __future__ import annotations

import argparse
import logging
import os
import socket
from typing import Any

import waitress

from resourcekit.serving import SERVERS, serve

from .apps import DATABASE_FRAMEWORKS, FRAMEWORKS

_FAMILIES = {"api": FRAMEWORKS, "database": DATABASE_FRAMEWORKS}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("framework", choices=sorted({*FRAMEWORKS, *DATABASE_FRAMEWORKS}))
    parser.add_argument("--family", choices=sorted(_FAMILIES), default="api")
    parser.add_argument("--server", choices=SERVERS, default="waitress")
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--cpu", type=int, default=None, help="pin the server to this CPU")
    args = parser.parse_args(argv)
    if args.cpu is not None:
        os.sched_setaffinity(0, {args.cpu})
    app = _FAMILIES[args.family][args.framework].create_app()
    if args.server == "waitress":
        # waitress warns about queue depth under a saturating load: that is the point here.
        logging.getLogger("waitress").setLevel(logging.ERROR)
        server = waitress.create_server(app, host="127.0.0.1", port=0, threads=args.threads)
        print(server.effective_port, flush=True)
        server.run()
        return
    quiet: dict[str, Any] = (
        {"log_enabled": False} if args.server == "granian" else {"loglevel": "warning"}
    )
    serve(
        app,
        server=args.server,
        port=_free_port() if args.server == "granian" else 0,
        threads=args.threads,
        announce=lambda line: print(line.rpartition(":")[2], flush=True),
        **quiet,
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


if __name__ == "__main__":
    main()
