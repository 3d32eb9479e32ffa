"""Serve one benchmark app with waitress:
``python -m benchmarks.serve NAME [--family api|database] [--cpu N]``.

Run by `benchmarks.http` in a subprocess. waitress binds a free port itself and the port is
printed as the first line of stdout, so there is no race between choosing a port and binding it.
"""

from __future__ import annotations

import argparse
import logging
import os

import waitress

from .apps import DATABASE_FRAMEWORKS, FRAMEWORKS

_FAMILIES = {"api": FRAMEWORKS, "database": DATABASE_FRAMEWORKS}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("framework", choices=sorted({*FRAMEWORKS, *DATABASE_FRAMEWORKS}))
    parser.add_argument("--family", choices=sorted(_FAMILIES), default="api")
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--cpu", type=int, default=None, help="pin the server to this CPU")
    args = parser.parse_args(argv)
    if args.cpu is not None:
        os.sched_setaffinity(0, {args.cpu})
    # waitress warns about queue depth under a saturating load: that is the point here.
    logging.getLogger("waitress").setLevel(logging.ERROR)
    app = _FAMILIES[args.family][args.framework].create_app()
    server = waitress.create_server(app, host="127.0.0.1", port=0, threads=args.threads)
    print(server.effective_port, flush=True)
    server.run()


if __name__ == "__main__":
    main()
