"""Every public extension point resolves under `typing.get_type_hints`.

Tools that read annotations at run time (dependency injectors, documentation generators,
resourcekit's own OpenAPI return types) call it; a name imported only for type checkers makes it
raise ``NameError``.
"""

from __future__ import annotations

import inspect
import typing
from typing import Any

import pytest

from resourcekit import Created, Page, Resource, Result, Site, auth, hooks, ratelimit
from resourcekit.idempotency import Idempotency, IdempotencyStore
from resourcekit.media import MediaHandler
from resourcekit.versioning import Change, Versions

EXTENSION_POINTS: list[Any] = [
    Resource, Site, Result, Created, Page, hooks.Hook, auth.Authenticator, auth.Bearer,
    ratelimit.RateLimit, ratelimit.RateLimitStore, Idempotency, IdempotencyStore, MediaHandler,
    Versions, Change,
]


def _callables(cls: type) -> list[tuple[str, Any]]:
    """The class's own public methods and its constructor."""
    return [
        (name, value) for name, value in vars(cls).items()
        if inspect.isfunction(value) and (not name.startswith("_") or name == "__init__")
    ]


@pytest.mark.parametrize("cls", EXTENSION_POINTS, ids=lambda cls: cls.__qualname__)
def test_annotations_resolve(cls: type) -> None:
    methods = _callables(cls)
    assert methods, f"{cls.__qualname__} has no methods to check"
    for name, method in methods:
        try:
            typing.get_type_hints(method)
        except NameError as exc:
            pytest.fail(f"{cls.__qualname__}.{name}: {exc}")


def test_the_sql_layer_resolves() -> None:
    sql = pytest.importorskip("resourcekit.sql")
    for cls in (sql.Database, sql.Collection, sql.Item):
        for name, method in _callables(cls):
            try:
                typing.get_type_hints(method)
            except NameError as exc:
                pytest.fail(f"{cls.__qualname__}.{name}: {exc}")
