"""``python -m benchmarks.startup``: how long ``import resourcekit`` takes, against its peers.

Each module is imported ``--runs`` times in a fresh interpreter with ``-X importtime``; the
median of its cumulative import time is reported, with the modules it spends most in (own
time, median over the runs), so a change that makes an import lazy shows here.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from collections import defaultdict
from statistics import median

_LINE = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \| (\s*)(\S+)")


def import_times(module: str) -> tuple[int, dict[str, int]]:
    """One fresh import: the module's cumulative µs, and every module's own µs."""
    done = subprocess.run([sys.executable, "-X", "importtime", "-c", f"import {module}"],
                          capture_output=True, text=True, check=True)
    own: dict[str, int] = {}
    total = 0
    for match in _LINE.finditer(done.stderr):
        own[match.group(4)] = int(match.group(1))
        if match.group(4) == module:
            total = int(match.group(2))
    return total, own


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("modules", nargs="*", default=["resourcekit", "resourcekit.site", "falcon"])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--top", type=int, default=8, help="heaviest modules shown (own time)")
    args = parser.parse_args(argv)
    import_times(args.modules[0])  # compile the bytecode first: not part of any run
    print(f"| module | import, median of {args.runs} runs | heaviest modules (own ms) |")
    print("| --- | ---: | --- |")
    for module in args.modules:
        totals, owns = [], defaultdict(list)
        for _ in range(args.runs):
            total, own = import_times(module)
            totals.append(total)
            for name, micros in own.items():
                owns[name].append(micros)
        heavy = sorted(((median(v), k) for k, v in owns.items()), reverse=True)[: args.top]
        shown = ", ".join(f"{name} {micros / 1000:.1f}" for micros, name in heavy)
        print(f"| {module} | {median(totals) / 1000:.1f} ms | {shown} |")


if __name__ == "__main__":
    main()
