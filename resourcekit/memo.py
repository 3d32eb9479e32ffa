"""Memos: results kept by the text that produced them, in bounded memory.

A site sees few distinct ``Accept`` headers, query strings and mount points, so it keeps what it
derived from each and answers repeats with one lookup. Clients choose those keys, so the memo is
emptied when full: a client sending ever new values costs the site no memory, only the time to
derive them again, and the common values are back after a few requests. Emptying needs no
bookkeeping per hit (as least-recently-used order would) and no lock: each dict operation is
atomic, and two threads deriving one value at once both store the same thing.
"""

from __future__ import annotations

from typing import TypeVar

__all__ = ["Memo"]

K = TypeVar("K")
V = TypeVar("V")


class Memo(dict[K, V]):
    """A dict of at most ``limit`` derived values: read it as a dict, add to it with `keep`.

    A dict itself, so that a lookup, the common case, costs what a dict's does.
    """

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError("a memo keeps at least one value")
        super().__init__()
        self.limit = limit

    def keep(self, key: K, value: V) -> V:
        """Remember ``value`` for ``key``, first forgetting everything when full; ``value``."""
        if len(self) >= self.limit:
            self.clear()
        self[key] = value
        return value
