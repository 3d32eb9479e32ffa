"""Security schemes and requirements, each authenticator documenting itself
(`resourcekit.auth.Authenticator.openapi_scheme`)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..auth import Authenticator
    from ..endpoint import Endpoint

__all__ = ["requirements", "schemes"]


def schemes(endpoints: Iterable[Endpoint]) -> dict[str, dict[str, Any]]:
    """Every scheme some operation of ``endpoints`` accepts, by name."""
    return dict(a.openapi_scheme() for e in endpoints for a in e.all_authenticators)


def requirements(authenticators: Iterable[Authenticator]) -> list[dict[str, list[str]]]:
    """Any one of the authenticators will do: one requirement object each; ``[]`` (open to
    anyone) when there are none."""
    names = dict.fromkeys(a.openapi_scheme()[0] for a in authenticators)
    return [{name: []} for name in names]
