"""``Idempotency-Key`` (draft-ietf-httpapi-idempotency-key-header), the way Stripe does it.

The first request with a key claims it and runs; its response is stored under the key. A retry
with the same key and the same request replays that response instead of running again; the same
key with a different request is ``422``; a retry while the first is still running is ``409``. A
``5xx`` or an exception releases the key, so the client may retry for real.

The store does the concurrency: `IdempotencyStore.begin` decides atomically who owns a key. The
site asks `Idempotency` for the key, the fingerprint and the decision, runs the handler, then
completes or releases.
"""

from __future__ import annotations

import abc
import enum
import hashlib
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

import webob.request

from . import errors
from .headers import unquote

__all__ = [
    "REPLAYED_HEADER",
    "Begin",
    "BeginState",
    "Idempotency",
    "IdempotencyStore",
    "MemoryIdempotencyStore",
    "MemoryStore",
    "StoredResponse",
]

REPLAYED_HEADER = ("Idempotent-Replayed", "true")


@dataclass(frozen=True)
class StoredResponse:
    """What a replay sends back; ``headers`` are kept in order, repeats included."""

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes

    def __post_init__(self) -> None:
        object.__setattr__(self, "headers", tuple((str(n), str(v)) for n, v in self.headers))

    @property
    def size(self) -> int:
        """Bytes it takes to keep: the body plus every header's name and value."""
        return len(self.body) + sum(len(n) + len(v) for n, v in self.headers)


class BeginState(enum.StrEnum):
    STARTED = "started"  # the caller owns the key now: run, then complete or release
    REPLAY = "replay"  # done before with the same request: send `Begin.response`
    IN_PROGRESS = "in_progress"  # another request with the same key is still running
    MISMATCH = "mismatch"  # the key belongs to a different request


@dataclass(frozen=True)
class Begin:
    """`IdempotencyStore.begin`'s answer; ``token`` proves ownership of a started key."""

    state: BeginState
    response: StoredResponse | None = None
    token: str | None = None


class IdempotencyStore(abc.ABC):
    """Where keys live. Each operation is atomic, and each is one script on a network store.

    `resourcekit.redis.RedisIdempotencyStore` keeps one hash per key, a claim (``fingerprint``
    and ``token``) or a result (``fingerprint`` and ``response``), expiring with it. `begin` is
    one Lua script that creates the claim only where the key does not exist, else reads the
    fingerprint and the response, so nothing happens between the test and the claim; `complete`
    and `release` are Lua compare-and-set on the claim's token: store the response (and forget
    the token) or delete the key only while the claim is still the caller's.
    """

    @abc.abstractmethod
    def begin(self, key: str, fingerprint: str, ttl: float) -> Begin:
        """Claim ``key`` for the request ``fingerprint``, or say why not.

        An unknown (or expired) key is claimed: ``STARTED`` with a fresh token. A known key gives
        ``MISMATCH`` when its fingerprint differs, else ``REPLAY`` (completed) or ``IN_PROGRESS``
        (claimed). ``ttl`` bounds how long the key is remembered; a claim lapses sooner, after the
        store's lock time, so a crashed request does not hold its key forever.
        """

    @abc.abstractmethod
    def complete(
        self, key: str, response: StoredResponse, ttl: float, *, token: str | None = None
    ) -> bool:
        """Store the response of a claimed key for ``ttl`` seconds, for replays.

        Only while the key is still claimed (by ``token``, when given): a claim that lapsed, or
        was taken over by a later request, is not overwritten. True when stored.
        """

    @abc.abstractmethod
    def release(self, key: str, *, token: str | None = None) -> None:
        """Forget a claim (by ``token``, when given), so a retry runs; a result stays."""


@dataclass
class _Entry:
    fingerprint: str
    expires: float
    token: str | None = None  # a claim has a token, a result a response
    response: StoredResponse | None = None

    def size(self, key: str) -> int:
        """What it weighs against ``max_bytes``: 200 bytes of bookkeeping, plus the data."""
        kept = self.response.size if self.response is not None else 0
        return 200 + len(key) + len(self.fingerprint) + kept


class MemoryIdempotencyStore(IdempotencyStore):
    """Keys in a dict, for one process: a lock makes each operation atomic across threads.

    Claims lapse after ``lock_ttl`` seconds, results after the ``ttl`` they were stored with.
    Expired entries are dropped from the old end of the dict as calls come. Memory is bounded
    twice: past ``max_keys`` entries or ``max_bytes`` of kept responses (a running count of bodies,
    headers and keys) the oldest entries are forgotten, and their retries run again, as after
    expiry. `Idempotency.max_response_bytes` keeps any single reply well below the total.
    """

    def __init__(
        self,
        *,
        lock_ttl: float = 60.0,
        max_keys: int = 10_000,
        max_bytes: int = 64 * 1024 * 1024,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if lock_ttl <= 0 or max_keys < 1 or max_bytes < 1:
            raise ValueError("lock_ttl must be positive, max_keys and max_bytes at least 1")
        self.lock_ttl = lock_ttl
        self.max_keys = max_keys
        self.max_bytes = max_bytes
        self.clock = clock
        self._entries: dict[str, _Entry] = {}
        self._bytes = 0
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def bytes(self) -> int:
        """What the entries kept now count against ``max_bytes``."""
        return self._bytes

    def begin(self, key: str, fingerprint: str, ttl: float) -> Begin:
        with self._lock:
            now = self.clock()
            entry = self._live(key, now)
            if entry is not None:
                if entry.fingerprint != fingerprint:
                    return Begin(BeginState.MISMATCH)
                if entry.response is not None:
                    return Begin(BeginState.REPLAY, entry.response)
                return Begin(BeginState.IN_PROGRESS)
            token = secrets.token_urlsafe(12)
            self._put(key, _Entry(fingerprint, now + min(ttl, self.lock_ttl), token))
            return Begin(BeginState.STARTED, token=token)

    def complete(
        self, key: str, response: StoredResponse, ttl: float, *, token: str | None = None
    ) -> bool:
        with self._lock:
            now = self.clock()
            entry = self._live(key, now)
            if entry is None or not _owns(entry, token):
                return False
            self._drop(key)  # re-insert at the end: expiry order stays roughly sorted
            self._put(key, _Entry(entry.fingerprint, now + ttl, None, response))
            return True

    def release(self, key: str, *, token: str | None = None) -> None:
        with self._lock:
            entry = self._live(key, self.clock())
            if entry is not None and _owns(entry, token):
                self._drop(key)

    def _live(self, key: str, now: float) -> _Entry | None:
        """``key``'s entry unless expired; prunes expired entries from the old end first."""
        entries = self._entries
        while entries:
            oldest = next(iter(entries))
            if entries[oldest].expires > now:
                break
            self._drop(oldest)
        entry = entries.get(key)
        if entry is not None and entry.expires <= now:
            self._drop(key)
            return None
        return entry

    def _put(self, key: str, entry: _Entry) -> None:
        """Add ``entry`` at the new end, first forgetting the oldest until both bounds hold."""
        size = entry.size(key)
        entries = self._entries
        while entries and (len(entries) >= self.max_keys or self._bytes + size > self.max_bytes):
            self._drop(next(iter(entries)))
        entries[key] = entry
        self._bytes += size

    def _drop(self, key: str) -> None:
        self._bytes -= self._entries.pop(key).size(key)


MemoryStore = MemoryIdempotencyStore
"""The first name of `MemoryIdempotencyStore`, kept so that code using it still works."""


def _owns(entry: _Entry, token: str | None) -> bool:
    return entry.response is None and (token is None or entry.token == token)


class Idempotency:
    """``Idempotency(store=None, ttl=24 * 3600, header="Idempotency-Key")``: the coordinator.

    The site calls `key_for` and `fingerprint`, then `begin`; on ``STARTED`` it runs the handler
    and calls `complete` with the response (or `release` on an exception); on ``REPLAY`` it sends
    `replayed` of the stored response.

    Only replies up to ``max_response_bytes`` (body and headers, 64 KiB by default) are kept: a
    larger one releases its key like a ``5xx``, so a retry runs again rather than a client filling
    the store (memory or Redis) with one huge problem after another.
    """

    def __init__(
        self,
        store: IdempotencyStore | None = None,
        ttl: float = 24 * 3600,
        header: str = "Idempotency-Key",
        *,
        max_response_bytes: int = 64 * 1024,
    ) -> None:
        if max_response_bytes < 0:
            raise ValueError("max_response_bytes must not be negative")
        self.store = store if store is not None else MemoryIdempotencyStore()
        self.ttl = ttl
        self.header = header
        self.max_response_bytes = max_response_bytes

    def key_for(self, request: webob.request.BaseRequest, scope: str) -> str | None:
        """The store key for the request's key header within ``scope``, or None without one.

        The value is 1 to 255 printable ASCII characters, bare or as a structured-field string
        (``"abc"``), else 400. ``scope`` (who, which method, which path) keeps one client's keys
        from meeting another's; the result is a hash, so its length and characters are fixed.
        """
        value = request.headers.get(self.header)
        if value is None:
            return None
        if len(value) >= 2 and value[0] == value[-1] == '"':
            value = unquote(value[1:-1])
        if not 1 <= len(value) <= 255 or not all(" " <= c <= "~" for c in value):
            raise errors.BadRequest(f"{self.header} must be 1 to 255 printable ASCII characters")
        return _digest(scope, value)

    def fingerprint(self, request: webob.request.BaseRequest) -> str:
        """What makes two requests "the same": method, path, query, content type (its media
        type and charset, UTF-8 where none is named, so a retry spelling it otherwise is the
        same request), body, and the API version where the site has versions (a retry at
        another version would be answered in the first one's shape, so it is another one)."""
        read_body = getattr(request, "read_body", None)  # resourcekit's, which enforces the limit
        body = read_body() if read_body is not None else request.body
        body_type = getattr(request, "body_type", None)  # the same type however it is written
        if body_type is not None:
            media_type, charset = body_type()
            content_type = media_type and f"{media_type}; charset={(charset or 'utf-8').lower()}"
        else:
            content_type = request.headers.get("Content-Type", "")
        parts = [request.method, request.path, request.query_string, content_type, body]
        version = getattr(request, "version", None)
        if version is not None:
            parts.append(version)
        return _digest(*parts)

    def begin(self, key: str, fingerprint: str) -> Begin:
        """``STARTED`` or ``REPLAY``; raises 409 while the key is in progress, 422 on a mismatch."""
        begin = self.store.begin(key, fingerprint, self.ttl)
        if begin.state is BeginState.IN_PROGRESS:
            raise errors.Conflict(
                f"a request with this {self.header} is still in progress; retry later"
            )
        if begin.state is BeginState.MISMATCH:
            raise errors.UnprocessableContent(
                f"this {self.header} was already used with a different request"
            )
        return begin

    def complete(self, key: str, begin: Begin, response: StoredResponse) -> None:
        """Remember the response for replays; a ``5xx`` or an oversized reply releases the key."""
        if response.status >= 500 or response.size > self.max_response_bytes:
            self.store.release(key, token=begin.token)
        else:
            self.store.complete(key, response, self.ttl, token=begin.token)

    def release(self, key: str, begin: Begin) -> None:
        """The request failed (an exception): forget the key so the client may retry."""
        self.store.release(key, token=begin.token)

    @staticmethod
    def replayed(response: StoredResponse) -> StoredResponse:
        """The stored response, marked ``Idempotent-Replayed: true``."""
        return replace(response, headers=(*response.headers, REPLAYED_HEADER))


def _digest(*parts: str | bytes) -> str:
    """SHA-256 of length-prefixed parts, so no two different part lists collide by joining."""
    sha = hashlib.sha256()
    for part in parts:
        data = part.encode("utf-8", "surrogateescape") if isinstance(part, str) else part
        sha.update(len(data).to_bytes(8, "big"))
        sha.update(data)
    return sha.hexdigest()
