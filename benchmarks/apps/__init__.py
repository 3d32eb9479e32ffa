"""The frameworks under test, in table order; raw WSGI first, as every ratio is taken against it.

Each app module has ``create_app() -> WSGI application``. Peers are optional: one whose packages
are not installed is skipped, never an error, so the suite runs with resourcekit alone.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["BASELINE", "FRAMEWORKS", "Framework"]

BASELINE = "raw"


@dataclass(frozen=True)
class Framework:
    name: str
    module: str
    imports: tuple[str, ...]
    """Modules that must be importable for the app to run."""
    distributions: tuple[str, ...]
    """Distributions whose versions the report prints (and pip installs)."""

    def missing(self) -> list[str]:
        """The distributions to install before this framework can run; empty when it can."""
        return [
            dist
            for module, dist in zip(self.imports, self.distributions, strict=True)
            if importlib.util.find_spec(module) is None
        ]

    def versions(self) -> dict[str, str]:
        found = {}
        for dist in self.distributions:
            try:
                found[dist] = importlib.metadata.version(dist)
            except importlib.metadata.PackageNotFoundError:
                continue
        return found

    def create_app(self) -> Callable:
        """A fresh WSGI app; imported only now, so a missing peer costs nothing elsewhere."""
        return importlib.import_module(self.module).create_app()


FRAMEWORKS: dict[str, Framework] = {
    fw.name: fw
    for fw in (
        Framework("raw", "benchmarks.apps.raw", (), ()),
        Framework(
            "resourcekit", "benchmarks.apps.resourcekit_app", ("resourcekit",), ("resourcekit",)
        ),
        Framework("falcon", "benchmarks.apps.falcon_app", ("falcon",), ("falcon",)),
        Framework("bottle", "benchmarks.apps.bottle_app", ("bottle",), ("bottle",)),
        Framework("pyramid", "benchmarks.apps.pyramid_app", ("pyramid",), ("pyramid",)),
        Framework(
            "flask",
            "benchmarks.apps.flask_app",
            ("flask", "flask_restful"),
            ("flask", "flask-restful"),
        ),
    )
}
