"""JSON (RFC 8259): UTF-8 only, no NaN or Infinity read, compact output.

orjson writes and reads bodies, several times faster than the standard library, which takes
over where orjson stops: it writes integers beyond 64 bits, reads any body with a run of 19
digits (orjson would read a long integer as a float, losing digits a client sent), and reads
every body orjson refuses, to say exactly what is wrong with it. A float that is NaN or
infinite, which JSON cannot hold, is written ``null``, as JavaScript's ``JSON.stringify`` does.
A body nested deeper than `MAX_DEPTH` is refused (400): the parsers read deeper documents than the
encoders (and the XML renderer) can write back, and a handler echoing one would fail with a 500.
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
import re
import uuid
from typing import Any

import orjson
from marshmallow import Schema

from .. import errors
from . import MediaHandler

__all__ = ["MAX_DEPTH", "JSONHandler", "encode"]

MAX_DEPTH = 128
"""Deepest nesting of arrays and objects accepted in a request body, the outermost being 1."""


def _default(value: Any) -> Any:
    """Encode the values a schemaless handler commonly returns; a schema dumps them itself."""
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, uuid.UUID | decimal.Decimal):
        return str(value)
    if isinstance(value, set | frozenset):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


_std_encode = json.JSONEncoder(
    ensure_ascii=False, separators=(",", ":"), allow_nan=False, default=_default
).encode
_ORJSON_OPTIONS = (
    orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
)


def encode(data: Any) -> bytes:
    """``data`` as compact UTF-8 JSON; ``TypeError`` for a value neither encoder knows."""
    try:
        return orjson.dumps(data, default=_default, option=_ORJSON_OPTIONS)
    except TypeError:  # beyond orjson (big integers, lone surrogates): the standard encoder
        return _std_encode(data).encode()


_decoder = json.JSONDecoder(parse_constant=_reject_constant)


_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_LONG_NUMBER = re.compile(rb"\d{19}")  # orjson reads integers beyond 64 bits as floats


def _refuse_lone_surrogates(data: Any) -> None:
    """An escaped surrogate without its pair (``"\\ud800"``) is no character: refuse it here,
    as RFC 8259 allows, rather than let it fail later in a database or an encoder."""
    stack = [data]
    while stack:
        value = stack.pop()
        if isinstance(value, str):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                raise errors.BadRequest("malformed JSON: a lone surrogate is not text") from None
        elif isinstance(value, dict):
            stack.extend(value.keys())
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)


class JSONHandler(MediaHandler):
    media_types = ("application/json",)
    problem_type = "application/problem+json"

    def render(self, data: Any, schema: Schema | None, many: bool) -> bytes:
        return encode(data)

    def render_problem(self, problem: dict[str, Any]) -> bytes:
        return encode(problem)

    def parse(self, body: bytes, charset: str | None, schema: Schema | None) -> Any:
        if charset and charset.lower() not in ("utf-8", "utf8"):
            raise errors.UnsupportedMediaType(f"JSON must be UTF-8, not {charset}")
        data = _read(body)
        if body.count(b"[") + body.count(b"{") > MAX_DEPTH:  # else it cannot be that deep
            _check_depth(data)
        return data


def _read(body: bytes) -> Any:
    if not _LONG_NUMBER.search(body):
        try:
            return orjson.loads(body)
        except orjson.JSONDecodeError:
            pass  # the standard decoder below says what is wrong, or reads what orjson won't
    return _parse_standard(body)


def _check_depth(data: Any) -> None:
    """Refuse data nested deeper than `MAX_DEPTH`, level by level, without recursion."""
    level = [data] if isinstance(data, dict | list) else []
    for _ in range(MAX_DEPTH):
        level = [
            child
            for value in level
            for child in (value.values() if isinstance(value, dict) else value)
            if isinstance(child, dict | list)
        ]
        if not level:
            return
    raise errors.BadRequest(f"JSON is nested deeper than {MAX_DEPTH} levels")


def _parse_standard(body: bytes) -> Any:
    """Read ``body`` with the standard decoder; a 400 that says what is wrong with it."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise errors.BadRequest(f"JSON body is not valid UTF-8 (byte {exc.start})") from None
    try:
        data = _decoder.decode(text)
    except ValueError as exc:
        raise errors.BadRequest(f"malformed JSON: {exc}") from None
    except RecursionError:
        raise errors.BadRequest("malformed JSON: nested too deeply") from None
    if _SURROGATE_ESCAPE.search(text):
        _refuse_lone_surrogates(data)
    return data
