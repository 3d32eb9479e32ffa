"""NDJSON: one compact JSON object per line, the format of bulk exports and log pipelines.

A list is written a record per line as it is made, so an export of any length is sent in
constant memory and a client can read each record as it arrives. It renders no problems: an
error is answered in the site's default format.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from marshmallow import Schema

from . import MediaHandler, chunked
from .json import encode

__all__ = ["NDJSONHandler"]


class NDJSONHandler(MediaHandler):
    """``application/x-ndjson`` representations; it reads no bodies."""

    media_types = ("application/x-ndjson",)
    parses = ()
    streams = True

    def render(self, data: Any, schema: Schema | None, many: bool) -> bytes:
        return b"".join(_lines(data if many else [data]))

    def stream(self, records: Iterable[Any], schema: Schema | None) -> Iterator[bytes]:
        return chunked(_lines(records))


def _lines(records: Iterable[Any]) -> Iterator[bytes]:
    for record in records:
        yield encode(record) + b"\n"
