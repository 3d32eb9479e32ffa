"""Redis stores for rate limits and idempotency keys, shared by every process of a site.

A site served by several processes (behind a load balancer, on several machines) must keep its
rate-limit counters and its idempotency keys where every process sees them: with the in-memory
stores each process has its own, so a client gets N times its limit and a retried ``POST`` that
lands on another process runs twice. These stores keep them in Redis, one Lua script per
operation, so each operation is atomic on the server and costs one round trip::

    import redis
    from resourcekit.idempotency import Idempotency
    from resourcekit.ratelimit import RateLimit
    from resourcekit.redis import RedisIdempotencyStore, RedisRateLimitStore

    client = redis.Redis.from_url("redis://127.0.0.1:6379/0")
    site = Site(
        idempotent=True,
        idempotency=Idempotency(RedisIdempotencyStore(client)),
        rate_limit=RateLimit("600/minute", store=RedisRateLimitStore(client)),
    )

The ``redis`` package (``pip install resourcekit[redis]``) is not imported here: the stores take
a ready client (``redis.Redis``, or anything with ``register_script``), so this module costs
nothing to sites that do not use it. Scripts run with ``EVALSHA`` (redis-py loads them again
after a server restart), and each touches one key, so they work on Redis Cluster too. Each
store's ``check`` is a readiness check (`resourcekit.health`): ``Site(health=[store.check])``.
"""

from __future__ import annotations

import base64
import json
import math
import secrets
from typing import TYPE_CHECKING, Any

from .idempotency import Begin, BeginState, IdempotencyStore, StoredResponse
from .ratelimit import RateLimitStore

if TYPE_CHECKING:
    import redis

__all__ = ["RedisIdempotencyStore", "RedisRateLimitStore"]


def _answers(client: redis.Redis) -> bool:
    """Whether ``client``'s server answers ``PING`` (within the client's ``socket_timeout``)."""
    from redis.exceptions import RedisError  # the stores are only made with redis installed

    try:
        return bool(client.ping())
    except RedisError:
        return False


# -- rate limits --------------------------------------------------------------------------------

_GCRA = """
local interval, tolerance = tonumber(ARGV[2]), tonumber(ARGV[3])
local now = tonumber(ARGV[1])
if ARGV[4] == '1' then
    local time = redis.call('TIME')
    now = tonumber(time[1]) * 1000000 + tonumber(time[2])
end
local tat = tonumber(redis.call('GET', KEYS[1])) or now
if tat < now then tat = now end
if tat - now > tolerance then
    return {0, tat - now}
end
tat = tat + interval
redis.call('SET', KEYS[1], string.format('%d', tat), 'PX', math.ceil((tat - now) / 1000))
return {1, tat - now}
"""
# Numbers go into Redis through string.format('%d'): Lua's own number-to-string conversion keeps
# 14 significant digits, and a TAT in microseconds since 1970 has 16.


class RedisRateLimitStore(RateLimitStore):
    """GCRA buckets in Redis: ``RedisRateLimitStore(client, prefix="resourcekit:ratelimit:")``.

    One key per bucket, holding its TAT in microseconds and expiring when the bucket is full
    again, so idle clients cost nothing.

    **Clocks.** Processes sharing buckets must agree on the time. By default
    (``server_time=True``) the script reads Redis's own clock (``TIME``) and ignores the ``now``
    each `RateLimit` passes, whatever its ``clock``: one clock for every process, on every
    machine. The answer is translated back to the caller's time base (the TAT it returns is the
    caller's ``now`` plus how far the bucket is from full), so `RateLimit`'s arithmetic holds
    with its default monotonic clock. With ``server_time=False`` the caller's ``now`` is used as
    it is, which is only correct when every process's `RateLimit` has the same wall clock
    (``RateLimit(..., clock=time.time)`` on machines kept in sync by NTP); tests use it to drive a
    bucket with a fake clock.
    """

    def __init__(
        self,
        client: redis.Redis,
        *,
        prefix: str = "resourcekit:ratelimit:",
        server_time: bool = True,
    ) -> None:
        self.client = client
        self.prefix = prefix
        self.server_time = server_time
        self._gcra = client.register_script(_GCRA)

    def check(self) -> bool:
        """Readiness (`resourcekit.health`): True when Redis answers ``PING``."""
        return _answers(self.client)

    def gcra(
        self, key: str, now: int, emission_interval: int, burst_tolerance: int
    ) -> tuple[bool, int]:
        allowed, ahead = self._gcra(
            keys=[self.prefix + key],
            args=[now, emission_interval, burst_tolerance, "1" if self.server_time else "0"],
        )
        return bool(allowed), now + int(ahead)


# -- idempotency keys ---------------------------------------------------------------------------

# One hash per key: a claim has `fingerprint` and `token`; a result has `fingerprint` and
# `response` (complete drops the token). The hash expires with the claim or the result.
_BEGIN = """
if redis.call('EXISTS', KEYS[1]) == 0 then
    redis.call('HSET', KEYS[1], 'fingerprint', ARGV[1], 'token', ARGV[2])
    redis.call('PEXPIRE', KEYS[1], ARGV[3])
    return {1}
end
return {0, unpack(redis.call('HMGET', KEYS[1], 'fingerprint', 'response'))}
"""

_COMPLETE = """
local token = redis.call('HGET', KEYS[1], 'token')
if not token or (ARGV[3] ~= '' and token ~= ARGV[3]) then
    return 0
end
redis.call('HDEL', KEYS[1], 'token')
redis.call('HSET', KEYS[1], 'response', ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
"""

_RELEASE = """
local token = redis.call('HGET', KEYS[1], 'token')
if token and (ARGV[1] == '' or token == ARGV[1]) then
    redis.call('DEL', KEYS[1])
    return 1
end
return 0
"""


class RedisIdempotencyStore(IdempotencyStore):
    """Idempotency keys in Redis: ``RedisIdempotencyStore(client, lock_ttl=60, prefix=...)``.

    `begin` claims a key atomically (a Lua script: create the key only if it does not exist,
    else read its fingerprint and result); `complete` and `release` are compare-and-set on the
    claim's token, so a request whose claim lapsed (after ``lock_ttl`` seconds) and was taken
    over cannot overwrite or free its successor's claim. Responses are stored as JSON with the
    body in base64. Expiry is Redis's own (``PEXPIRE``), one clock for every process.

    ``lock_ttl`` must be longer than any request takes: a claim that lapses while its request is
    still running lets a retry run it a second time. After a crash the claim blocks retries
    (``409``) for up to ``lock_ttl``.
    """

    def __init__(
        self,
        client: redis.Redis,
        *,
        lock_ttl: float = 60.0,
        prefix: str = "resourcekit:idempotency:",
    ) -> None:
        if lock_ttl <= 0:
            raise ValueError("lock_ttl must be positive")
        self.client = client
        self.lock_ttl = lock_ttl
        self.prefix = prefix
        self._begin = client.register_script(_BEGIN)
        self._complete = client.register_script(_COMPLETE)
        self._release = client.register_script(_RELEASE)

    def check(self) -> bool:
        """Readiness (`resourcekit.health`): True when Redis answers ``PING``."""
        return _answers(self.client)

    def begin(self, key: str, fingerprint: str, ttl: float) -> Begin:
        token = secrets.token_urlsafe(12)
        reply = self._begin(
            keys=[self.prefix + key],
            args=[fingerprint, token, _millis(min(ttl, self.lock_ttl))],
        )
        if reply[0] == 1:
            return Begin(BeginState.STARTED, token=token)
        stored_fingerprint = _text(reply[1]) if len(reply) > 1 else None
        if stored_fingerprint != fingerprint:
            return Begin(BeginState.MISMATCH)
        if len(reply) > 2 and reply[2] is not None:
            return Begin(BeginState.REPLAY, _loads(reply[2]))
        return Begin(BeginState.IN_PROGRESS)

    def complete(
        self, key: str, response: StoredResponse, ttl: float, *, token: str | None = None
    ) -> bool:
        stored: int = self._complete(
            keys=[self.prefix + key], args=[_dumps(response), _millis(ttl), token or ""]
        )
        return stored == 1

    def release(self, key: str, *, token: str | None = None) -> None:
        self._release(keys=[self.prefix + key], args=[token or ""])


def _millis(seconds: float) -> int:
    """A Redis expiry: whole milliseconds, rounded up, at least one."""
    return max(1, math.ceil(seconds * 1000))


def _text(value: Any) -> str | None:
    """A reply as text, whether the client decodes responses or not."""
    if value is None or isinstance(value, str):
        return value
    return bytes(value).decode("utf-8")


def _dumps(response: StoredResponse) -> str:
    return json.dumps({
        "status": response.status,
        "headers": [list(header) for header in response.headers],
        "body": base64.b64encode(response.body).decode("ascii"),
    }, separators=(",", ":"))  # fmt: skip


def _loads(value: str | bytes) -> StoredResponse:
    data = json.loads(value)
    return StoredResponse(
        data["status"],
        tuple((name, header) for name, header in data["headers"]),
        base64.b64decode(data["body"]),
    )
