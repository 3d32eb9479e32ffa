"""Where one framework's time goes: ``python -m benchmarks.profiling [--framework resourcekit]``.

cProfile over the in-process loop of `benchmarks.inprocess` (the same environ, the same
server-like calling), one scenario at a time, printing the top functions by own time. The
answer is checked first, as in the benchmark, so the profile is of a correct request.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats

from .apps import DATABASE_FRAMEWORKS, FRAMEWORKS
from .database import DATABASE_SCENARIOS
from .inprocess import Timer, send
from .scenarios import SCENARIOS, verify

_SCENARIOS = {**SCENARIOS, **DATABASE_SCENARIOS}


def profile_scenario(framework: str, key: str, calls: int, top: int) -> str:
    """The pstats listing for ``calls`` requests of scenario ``key``, sorted by tottime."""
    registry = DATABASE_FRAMEWORKS if key in DATABASE_SCENARIOS else FRAMEWORKS
    app = registry[framework].create_app()
    scenario = _SCENARIOS[key]
    verify(scenario, framework, lambda probe: send(app, probe))
    timer = Timer(app, scenario)
    timer(500)  # warm-up, outside the profile
    profiler = cProfile.Profile()
    profiler.runcall(timer, calls)
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out).strip_dirs().sort_stats("tottime")
    stats.print_stats(top)
    return out.getvalue()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--framework", default="resourcekit",
                        choices=sorted({*FRAMEWORKS, *DATABASE_FRAMEWORKS}))
    parser.add_argument("--scenarios", default="S1,S2", help="comma-separated keys (S, F or D)")
    parser.add_argument("--calls", type=int, default=20_000)
    parser.add_argument("--top", type=int, default=15)
    args = parser.parse_args(argv)
    for key in args.scenarios.split(","):
        print(f"## {args.framework} {key} {_SCENARIOS[key].title}: {args.calls} calls\n")
        print(profile_scenario(args.framework, key.strip(), args.calls, args.top))


if __name__ == "__main__":
    main()
