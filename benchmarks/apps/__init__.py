"""The frameworks under test, in table order; raw WSGI first, as every ratio is taken against it.

Each app module has ``create_app() -> WSGI application``. Peers are optional: one whose packages
are not installed is skipped, never an error, so the suite runs with resourcekit alone.
`FRAMEWORKS` answer the API scenarios (S, F), `DATABASE_FRAMEWORKS` the database ones (D).
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["BASELINE", "DATABASE_FRAMEWORKS", "FRAMEWORKS", "Framework"]

BASELINE = "raw"


@dataclass(frozen=True)
class Framework:
    name: str
    module: str
    imports: tuple[str, ...]
    """Modules that must be importable for the app to run."""
    distributions: tuple[str, ...]
    """Distributions whose versions the report prints (and pip installs)."""
    absent: dict[str, str] = field(default_factory=dict, hash=False)
    """What to say when a module is missing where installing a distribution is not the cure."""

    def missing(self) -> list[str]:
        """The modules this framework needs that cannot be imported; empty when it can run."""
        return [module for module in self.imports if not _importable(module)]

    def skip_reason(self) -> str | None:
        """Why this framework cannot run here, or None when it can."""
        missing = self.missing()
        explained = [self.absent[module] for module in missing if module in self.absent]
        if explained:
            return "; ".join(explained)
        dists = dict(zip(self.imports, self.distributions, strict=True))
        return f"not installed (pip install {' '.join(dists[m] for m in missing)})" \
            if missing else None

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


def _importable(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:  # a parent package is missing
        return False


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
        Framework(
            "drf",
            "benchmarks.apps.drf_app",
            ("django", "rest_framework"),
            ("django", "djangorestframework"),
        ),
    )
}

DATABASE_FRAMEWORKS: dict[str, Framework] = {
    fw.name: fw
    for fw in (
        Framework("raw", "benchmarks.apps.notes.raw", (), ()),
        Framework(
            "resourcekit",
            "benchmarks.apps.notes.resourcekit_app",
            ("resourcekit", "sqlalchemy", "resourcekit.sql"),
            ("resourcekit", "sqlalchemy", "resourcekit"),
            absent={"resourcekit.sql": "this resourcekit has no resourcekit.sql yet"},
        ),
        Framework(
            "falcon",
            "benchmarks.apps.notes.falcon_app",
            ("falcon", "sqlalchemy"),
            ("falcon", "sqlalchemy"),
        ),
        Framework(
            "drf",
            "benchmarks.apps.drf_app",
            ("django", "rest_framework"),
            ("django", "djangorestframework"),
        ),
    )
}
