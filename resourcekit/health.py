"""Health checks for load balancers and orchestrators: ``Site(health=[check, ...])``.

- ``GET /healthz`` answers ``200`` while the process serves requests (liveness): it runs no
  check, so a database that is down never gets a healthy process restarted;
- ``GET /readyz`` runs every check (readiness): ``200`` when all pass, else a ``503`` problem
  whose ``checks`` member names the failing ones, with ``Retry-After``, so a load balancer
  takes the process out of rotation until they pass again.

A check is a callable taking no argument: it fails by raising or by returning ``False``
(anything else passes). `resourcekit.sql.Database.check` and the Redis stores' ``check`` are
such callables. Its name in the problem is ``Check(name, test)``'s, or the callable's qualified
name (``Database.check``); why it failed is logged on logger ``resourcekit.health``, never sent:
a ``WARNING`` with the exception when a check starts failing, ``DEBUG`` while it goes on
failing (a load balancer probes every few seconds), ``INFO`` when it passes again.
Checks run one after another in the thread of the request: give each its own timeout (a pool
timeout, a socket timeout). The routes need no credentials and are not in the OpenAPI document.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import TYPE_CHECKING, Any, NamedTuple

from . import errors
from .ratelimit import RateLimit
from .resource import Resource

if TYPE_CHECKING:
    from .request import Request
    from .site import Site

__all__ = ["Check", "Health"]

logger = logging.getLogger("resourcekit.health")


class Check(NamedTuple):
    """A readiness check with the name ``/readyz`` reports it by."""

    name: str
    test: Callable[[], object]

    @classmethod
    def coerce(cls, check: Check | Callable[[], object]) -> Check:
        if isinstance(check, Check):
            return check
        if not callable(check):
            raise errors.ConfigurationError(f"health check {check!r} is not callable")
        return cls(_name_of(check), check)

    def failure(self) -> Exception | None:
        """None when the check passes; else why not (what it raised, or that it said so)."""
        try:
            passed = self.test() is not False
        except Exception as exc:
            return exc
        return None if passed else _ReturnedFalse(f"{self.name} returned False")


class _ReturnedFalse(Exception):
    """A check that failed by returning ``False``."""


def _name_of(check: Callable[[], object]) -> str:
    """``Database.check`` for a bound method, a function's name, else its class's."""
    owner = getattr(check, "__self__", None)
    name = getattr(check, "__name__", None)
    if name is None:
        return type(check).__name__
    return name if owner is None or isinstance(owner, ModuleType) else (
        f"{type(owner).__name__}.{name}")


class Health:
    """The checks ``/readyz`` runs, and how long a client is told to wait (``retry_after``).

    The probes have a rate limit of their own (``rate_limit``, by client, in this process's
    memory) instead of the site's: readiness must not depend on a shared limiter's store, and
    a store that is down must turn ``/readyz`` into a ``503``, never a ``500``.
    """

    def __init__(
        self,
        checks: Sequence[Check | Callable[[], object]] = (),
        *,
        retry_after: int = 5,
        rate_limit: RateLimit | None = None,
    ) -> None:
        self.checks = tuple(Check.coerce(c) for c in checks)
        self.retry_after = retry_after
        self.rate_limit = rate_limit or RateLimit("600/minute", name="health")
        self._down: set[str] = set()

    @classmethod
    def coerce(cls, value: Health | Sequence[Check | Callable[[], object]]) -> Health:
        """What ``Site(health=...)`` takes: a `Health`, or its checks."""
        return value if isinstance(value, Health) else cls(value)

    def install(self, site: Site) -> None:
        limited = {"rate_limit": self.rate_limit}
        site.add("/healthz", type("Live", (Live,), limited)(), name="healthz")
        site.add("/readyz", type("Ready", (Ready,), limited)(self), name="readyz")

    def failing(self) -> list[str]:
        """The names of the checks that fail now, in order; logged where that changed."""
        failed = []
        for check in self.checks:
            name, failure = check.name, check.failure()
            if failure is None:
                if name in self._down:
                    self._down.discard(name)
                    logger.info("health check %s passes again", name)
                continue
            failed.append(name)
            if name in self._down:
                logger.debug("health check %s still fails: %s", name, failure)
            else:
                self._down.add(name)
                traced = None if isinstance(failure, _ReturnedFalse) else failure
                logger.warning("health check %s fails: %s", name, failure, exc_info=traced)
        return failed


class _Probe(Resource):
    authentication = []  # none required, whatever the site's default
    documented = False
    vary = ()
    cache_control = "no-store"


class Live(_Probe):
    """``/healthz``: the process answers."""

    def get(self, request: Request) -> dict[str, Any]:
        return {"status": "ok"}


class Ready(_Probe):
    """``/readyz``: every check passes."""

    def __init__(self, health: Health) -> None:
        self.health = health

    def get(self, request: Request) -> dict[str, Any]:
        failing = self.health.failing()
        if failing:
            raise errors.ServiceUnavailable(
                f"not ready: {', '.join(failing)} failing", checks=failing,
                headers=[("Retry-After", str(self.health.retry_after))],
            )
        return {"status": "ready", "checks": [check.name for check in self.health.checks]}
