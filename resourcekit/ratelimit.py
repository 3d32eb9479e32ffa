"""Rate limits: GCRA buckets per client, answered with ``429`` and the IETF ``RateLimit`` headers.

``RateLimit("100/minute")`` lets each client make bursts of up to 100 requests and refills one
request every 0.6 s. The algorithm is GCRA (the generic cell rate algorithm): a token bucket whose
whole state per key is one number, the theoretical arrival time (TAT) of the next request, so a
store needs one read-modify-write per request and no timers. Headers follow
draft-ietf-httpapi-ratelimit-headers: ``RateLimit-Policy: "default";q=100;w=60`` and
``RateLimit: "default";r=42;t=30``.

Times given to a store are integer microseconds, so the arithmetic is exact, here and in a Lua
script (doubles hold integers exactly up to 2**53: 285 years of microseconds): a burst of N is
exactly N, never N - 1 by a rounding error.
"""

from __future__ import annotations

import abc
import math
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from . import errors
from .headers import quote
from .proxies import client_of
from .request import Request

__all__ = [
    "Decision",
    "MemoryRateLimitStore",
    "MemoryStore",
    "RateLimit",
    "RateLimitStore",
    "client_address",
    "parse_rate",
]

_MICROS = 1_000_000
_PERIODS = {
    "s": 1, "sec": 1, "second": 1,
    "min": 60, "minute": 60,
    "h": 3600, "hour": 3600,
    "d": 86400, "day": 86400,
}  # fmt: skip
_UNITS = {1: "second", 60: "minute", 3600: "hour", 86400: "day"}
_RATE = re.compile(r"\s*(\d+)\s*/\s*([a-z]+)\s*")


def client_address(request: Request) -> str:
    """The client a request counts against, the default key: its address as resolved through
    the site's trusted proxies (`resourcekit.proxies.client_of`), else the peer's."""
    return client_of(request.environ)


def parse_rate(rate: str) -> tuple[int, int]:
    """``"100/minute"`` -> ``(100, 60)``: requests and the period in seconds."""
    match = _RATE.fullmatch(rate.lower())
    period = _PERIODS.get(match.group(2)) if match else None
    if match is None or period is None or int(match.group(1)) < 1:
        raise ValueError(
            f"rate {rate!r} is not 'N/unit' with N >= 1 and unit one of second (s, sec), "
            "minute (min), hour (h), day (d)"
        )
    return int(match.group(1)), period


@dataclass(frozen=True)
class Decision:
    """The outcome of one hit: times are seconds from now.

    ``reset``: until the bucket is full again; ``retry_after``: until one request is allowed (0 when
    this one was).
    """

    allowed: bool
    limit: int
    remaining: int
    reset: float
    retry_after: float


class RateLimitStore(abc.ABC):
    """Where the TATs live. One atomic operation, so that a network store needs one round trip.

    `resourcekit.redis.RedisRateLimitStore` runs `gcra` as one Lua script (``EVALSHA``, atomic on
    the server): it reads the key's TAT (``now`` when there is none), refuses when
    ``tat - now > burst_tolerance``, else stores ``tat + emission_interval`` with an expiry at the
    moment the bucket is full again, and answers how far ahead of ``now`` the TAT is, which the
    store adds back to the caller's ``now``.

    Several processes sharing a store must share a clock too: that script reads Redis's ``TIME``
    in place of ``now`` by default; a store that cannot must be given the same wall clock by every
    process (``RateLimit(..., clock=time.time)``).
    """

    @abc.abstractmethod
    def gcra(
        self, key: str, now: int, emission_interval: int, burst_tolerance: int
    ) -> tuple[bool, int]:
        """Admit one request for ``key`` at ``now``, atomically; all times in microseconds.

        With ``tat = max(stored TAT or now, now)``: when ``tat - now > burst_tolerance``, refuse
        and return ``(False, tat)`` leaving the state alone; else store ``tat + emission_interval``
        and return ``(True, tat + emission_interval)``. A TAT at or before ``now`` is a full bucket,
        so the store may forget it.
        """


class MemoryRateLimitStore(RateLimitStore):
    """TATs in a dict, for one process: a lock makes `gcra` atomic across waitress's threads.

    The dict is kept in least-recently-hit order. Each call drops the oldest entries while their
    bucket is full again, so idle clients are forgotten soon after they go quiet; at ``max_keys``
    the least recently hit client is forgotten (it gets a full bucket back), so hostile key churn
    costs bounded memory.
    """

    def __init__(self, max_keys: int = 100_000) -> None:
        if max_keys < 1:
            raise ValueError("max_keys must be at least 1")
        self.max_keys = max_keys
        self._tats: dict[str, int] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._tats)

    def gcra(
        self, key: str, now: int, emission_interval: int, burst_tolerance: int
    ) -> tuple[bool, int]:
        with self._lock:
            self._prune(now)
            tat = max(self._tats.pop(key, now), now)  # re-inserted below: most recently hit
            allowed = tat - now <= burst_tolerance
            if allowed:
                tat += emission_interval
            if len(self._tats) >= self.max_keys:
                del self._tats[next(iter(self._tats))]
            self._tats[key] = tat
            return allowed, tat

    def _prune(self, now: int) -> None:
        """Drop full buckets from the old end: amortised O(1), each entry goes once."""
        tats = self._tats
        while tats:
            oldest = next(iter(tats))
            if tats[oldest] > now:
                return
            del tats[oldest]


MemoryStore = MemoryRateLimitStore
"""The first name of `MemoryRateLimitStore`, kept so that code using it still works."""


class RateLimit:
    """``RateLimit("100/minute", key=..., store=..., name="default")``.

    ``key(request)`` names the client (default: `client_address`); ``name`` names the policy in
    the headers and in the store, so limits sharing a store need different names. ``clock`` returns
    seconds (monotonic by default; see `RateLimitStore` for several processes).
    """

    def __init__(
        self,
        rate: str,
        *,
        key: Callable[[Request], str] | None = None,
        store: RateLimitStore | None = None,
        name: str = "default",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not name or not all(" " <= c <= "~" for c in name):
            raise ValueError(f"rate limit name {name!r} must be printable ASCII")
        self.limit, self.period = parse_rate(rate)
        self.key = key or client_address
        self.store = store if store is not None else MemoryRateLimitStore()
        self.name = name
        self.clock = clock
        # ceil: rounding the interval never lets more than `limit` through in a period
        self.emission_interval = -(-self.period * _MICROS // self.limit)
        self.burst_tolerance = self.emission_interval * (self.limit - 1)
        self._quoted_name = quote(name)
        self.policy_header = (
            "RateLimit-Policy",
            f"{self._quoted_name};q={self.limit};w={self.period}",
        )
        self.description = f"{self.limit} per {_UNITS[self.period]}"

    def __repr__(self) -> str:
        return f"RateLimit({self.limit}/{_UNITS[self.period]}, name={self.name!r})"

    def hit(self, request: Request) -> Decision:
        """Count one request against its client's bucket."""
        now = round(self.clock() * _MICROS)
        allowed, tat = self.store.gcra(
            f"{self.name}:{self.key(request)}", now, self.emission_interval, self.burst_tolerance
        )
        ahead = tat - now  # how far the bucket is from full
        if allowed:
            remaining = max(0, (self.burst_tolerance - ahead) // self.emission_interval + 1)
            return Decision(True, self.limit, remaining, ahead / _MICROS, 0.0)
        wait = (ahead - self.burst_tolerance) / _MICROS
        return Decision(False, self.limit, 0, ahead / _MICROS, wait)

    def headers(self, decision: Decision) -> list[tuple[str, str]]:
        """``RateLimit-Policy`` and ``RateLimit`` for a decision."""
        state = f"{self._quoted_name};r={decision.remaining};t={_whole_seconds(decision.reset)}"
        return [self.policy_header, ("RateLimit", state)]

    def check(self, request: Request) -> list[tuple[str, str]]:
        """Hit, and raise 429 with ``Retry-After`` when refused; else the headers to send."""
        decision = self.hit(request)
        headers = self.headers(decision)
        if not decision.allowed:
            retry = max(1, _whole_seconds(decision.retry_after))
            raise errors.TooManyRequests(
                f"rate limit exceeded: {self.description}",
                headers=[("Retry-After", str(retry)), *headers],
            )
        return headers


def _whole_seconds(seconds: float) -> int:
    """Round up: a client that waits this long is never early."""
    return math.ceil(seconds)
