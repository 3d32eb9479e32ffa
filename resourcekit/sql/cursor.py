"""Opaque keyset cursors: the position after (or before) one row in one sort order.

A cursor holds the sort it was made for and the row's sort values and primary key, written by
the fields that read them back, as URL-safe base64 of JSON. It is validated, not secret: a
client that edits one only moves its own position, which a filter could do as well. A cursor
made for another sort, or that does not decode, is a ``400``.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from marshmallow import ValidationError, fields

from .. import errors
from .model import utc

__all__ = ["Cursor", "CursorCodec"]


@dataclass(frozen=True)
class Cursor:
    """A position: the rows ``after`` (else before) the one with these ``values``."""

    after: bool
    values: tuple[Any, ...]


class CursorCodec:
    """Writes and reads the cursors of one sort (``sort``, its text) with one field per key."""

    def __init__(self, sort: str, keys: Sequence[fields.Field[Any]]) -> None:
        self.sort = sort
        self.keys = tuple(keys)

    def encode(self, cursor: Cursor) -> str:
        pairs = zip(self.keys, cursor.values, strict=True)
        values = [key._serialize(value, None, None) for key, value in pairs]
        data = json.dumps([self.sort, cursor.after, values], separators=(",", ":"), default=str)
        return base64.urlsafe_b64encode(data.encode()).decode().rstrip("=")

    def decode(self, text: str) -> Cursor:
        """The cursor ``text`` names; 400 when it is not one of this sort's."""
        try:
            data = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
            sort, after, values = data
            if sort != self.sort:
                raise errors.BadRequest(
                    "the cursor was made for another sort order",
                    errors={"cursor": ["The cursor does not belong to this sort order."]},
                )
            if not isinstance(after, bool) or len(values) != len(self.keys):
                raise ValueError(text)
            pairs = zip(self.keys, values, strict=True)
            return Cursor(after, tuple(_loaded(key, value) for key, value in pairs))
        except (ValueError, TypeError, binascii.Error, ValidationError, UnicodeDecodeError):
            raise errors.BadRequest(
                "the cursor is not one this collection made",
                errors={"cursor": ["Not a valid cursor."]},
            ) from None


def _loaded(key: fields.Field[Any], value: Any) -> Any:
    """A cursor's value as its field reads it; null for a row whose column held NULL."""
    return None if value is None else utc(key.deserialize(value))
