"""``python -m benchmarks.startup``: what starting a resourcekit site costs, against Falcon.

Each case runs ``--runs`` times in a fresh interpreter, the cases in turn within each round so a
busy machine slows them alike; the median wall time of the case's own code is reported (the
interpreter's start is the same for all and left out). Bytecode is cached, as in any installed
program, in a temporary ``PYTHONPYCACHEPREFIX`` written by a first, untimed run of each case
(with ``PYTHONDONTWRITEBYTECODE`` set, every run would compile from source and measure
that instead). One more run per case under
``-X importtime`` names the modules it spends most in (own time), so a change that makes an
import lazy shows here.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from statistics import median

_SITE = """
from resourcekit import Site, Resource
class Thing(Resource):
    def get(self, request):
        return {}
site = Site()
site.add("/things", Thing)
"""
_APP = """
import falcon
class Thing:
    def on_get(self, req, resp):
        resp.media = {}
app = falcon.App()
app.add_route("/things", Thing())
"""
CASES = {
    "from resourcekit import Site, Resource": "from resourcekit import Site, Resource",
    "a resourcekit Site with one resource": _SITE,
    "import falcon": "import falcon",
    "a falcon App with one resource": _APP,
    "import falcon, marshmallow": "import falcon, marshmallow",
    "import marshmallow, webob.request (resourcekit's libraries)": (
        "import marshmallow, webob.request, webob.exc"
    ),
}
"""A site validates with marshmallow, which resourcekit imports and a Falcon app adds itself."""
_TIMED = "import time\nt = time.perf_counter()\nexec({code!r})\nprint(time.perf_counter() - t)"
_LINE = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \| (\s*)(\S+)")


def wall_ms(code: str, env: dict[str, str]) -> float:
    """One fresh interpreter: how long ``code`` takes to run in it, in milliseconds."""
    done = subprocess.run([sys.executable, "-c", _TIMED.format(code=code)],
                          capture_output=True, text=True, check=True, env=env)
    return float(done.stdout) * 1000


def heaviest(code: str, top: int, env: dict[str, str]) -> str:
    """The modules ``code`` spends most of its imports in (own ms, one ``-X importtime`` run)."""
    done = subprocess.run([sys.executable, "-X", "importtime", "-c", code],
                          capture_output=True, text=True, check=True, env=env)
    own = sorted(((int(m.group(1)), m.group(4)) for m in _LINE.finditer(done.stderr)),
                 reverse=True)[:top]
    return ", ".join(f"{name} {micros / 1000:.1f}" for micros, name in own)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--top", type=int, default=6, help="heaviest modules shown (own ms)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "PYTHONPYCACHEPREFIX": cache}
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        for code in CASES.values():
            wall_ms(code, env)  # writes the bytecode: not part of any run
        times: dict[str, list[float]] = {name: [] for name in CASES}
        for _ in range(args.runs):
            for name, code in CASES.items():
                times[name].append(wall_ms(code, env))
        print(f"| case | median of {args.runs} fresh interpreters | heaviest modules (own ms) |")
        print("| --- | ---: | --- |")
        for name, code in CASES.items():
            shown = heaviest(code, args.top, env)
            print(f"| {name} | {median(times[name]):.1f} ms | {shown} |")


if __name__ == "__main__":
    main()
