"""CSV (RFC 4180): a header line naming the members, then a line per record.

A list is written as it is made, a chunk of lines at a time, so an export of any length is sent
in constant memory. The columns are the first record's members (a sparse ``fields`` choice
included), or the schema's when there is no record. A cell is the member's text: numbers as
JSON writes them, ``true``/``false``, nothing for null, and JSON for a nested object or list
(an ``expand``-ed relationship). Cells are written as they are stored: a spreadsheet opening
the file may read a cell beginning with ``=``, ``+``, ``-`` or ``@`` as a formula, so a
consumer that opens exports of values its users wrote in a spreadsheet should escape them.
"""

from __future__ import annotations

import csv
import itertools
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from marshmallow import Schema

from . import MediaHandler, chunked
from .json import encode

__all__ = ["CSVHandler"]


class CSVHandler(MediaHandler):
    """``text/csv`` representations, in UTF-8 with a header line; it reads no bodies."""

    media_types = ("text/csv",)
    charset = "utf-8"
    parses = ()
    streams = True

    def render(self, data: Any, schema: Schema | None, many: bool) -> bytes:
        return b"".join(_lines(data if many else [data], schema))

    def stream(self, records: Iterable[Any], schema: Schema | None) -> Iterator[bytes]:
        return chunked(_lines(records, schema))


class _Line:
    """Where `csv.writer` writes: the last line it wrote, taken as UTF-8 bytes."""

    __slots__ = ("text",)

    def __init__(self) -> None:
        self.text = ""

    def write(self, text: str) -> None:
        self.text = text

    def take(self) -> bytes:
        return self.text.encode()


def _lines(records: Iterable[Any], schema: Schema | None) -> Iterator[bytes]:
    line = _Line()
    writer = csv.writer(line, lineterminator="\r\n")
    rows = iter(records)
    first = next(rows, None)
    columns = _columns(first, schema)
    writer.writerow(columns)
    yield line.take()
    if first is None:
        return
    for record in itertools.chain((first,), rows):
        writer.writerow([_cell(_member(record, name)) for name in columns])
        yield line.take()


def _columns(first: Any, schema: Schema | None) -> list[str]:
    if isinstance(first, Mapping):
        return [str(name) for name in first]
    if schema is not None:
        return [field.data_key or name for name, field in schema.dump_fields.items()]
    return ["value"]


def _member(record: Any, name: str) -> Any:
    return record.get(name) if isinstance(record, Mapping) else record


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return encode(value).decode()
