"""Content codings (RFC 9110 section 8.4): ``gzip``, ``br`` and ``zstd``, in both directions.

``gzip`` is the standard library's; ``br`` needs the ``brotli`` package (extra ``brotli``) and
``zstd`` Python 3.14's ``compression.zstd`` or, before, ``backports.zstd`` (extra ``zstd``). A
coding whose library is missing is neither sent nor read, and an optional library is imported
only when a site first codes or decodes with it.

Request bodies are decoded as they are read, through the same streams every reader of
``wsgi.input`` uses (``request.body``, ``body_file``, the media parsers): the site's
``max_body_size`` counts decoded bytes, so a small coded bomb is refused with ``413`` after at
most that many bytes were produced, never expanded whole in memory.
"""

from __future__ import annotations

import functools
import gzip
import importlib
import io
import threading
import zlib
from collections.abc import Callable
from typing import Any, NamedTuple, Protocol

from . import errors
from .request import LimitedInput

__all__ = ["Coding", "Encoder", "available", "decode_body", "get"]

ZSTD_WINDOW = 8 * 1024 * 1024
"""The largest ``zstd`` window read (RFC 9659 section 3: what HTTP recipients must support),
so a frame cannot make the decoder allocate more."""
_CHUNK = 64 * 1024
_ALIASES: dict[str, str] = {"x-gzip": "gzip"}  # RFC 9110 section 8.4.1.3
_MAX_CODINGS = 4
"""More codings stacked on one body serve no purpose but to multiply the work of decoding."""


class Encoder(Protocol):
    """Codes a body given in pieces (a streamed reply): ``compress`` returns what is ready,
    ``flush`` the rest, once, at the end."""

    def compress(self, data: bytes, /) -> bytes: ...

    def flush(self) -> bytes: ...


class Coding(NamedTuple):
    """One content coding: how to code a body at a level, whole or in pieces (an `Encoder`
    at a level), how to read a coded stream, and the exceptions its library raises for
    malformed data."""

    name: str
    compress: Callable[[bytes, int], bytes]
    reader: Callable[[Any], Any]
    malformed: tuple[type[BaseException], ...]
    encoder: Callable[[int], Encoder]


@functools.cache
def get(name: str) -> Coding | None:
    """The coding called ``name`` (lower case), or None when unknown or not installed."""
    if name == "gzip":
        return Coding("gzip", _gzip, _gzip_reader, (OSError, zlib.error), _gzip_encoder)
    if name == "br":
        brotli = _optional("brotli")
        if brotli is None:
            return None
        return Coding(
            "br", _brotli_compress(brotli), _brotli_reader(brotli), (brotli.error,),
            functools.partial(_BrotliEncoder, brotli),
        )
    if name == "zstd":
        return _zstd()
    return None


def available() -> tuple[str, ...]:
    """The codings this process can code and read, in the site's order of preference."""
    return tuple(name for name in ("zstd", "br", "gzip") if get(name) is not None)


def _optional(module: str) -> Any:
    try:
        return importlib.import_module(module)
    except ImportError:
        return None


def _gzip(data: bytes, level: int) -> bytes:
    return gzip.compress(data, level, mtime=0)  # no timestamp: equal bodies, equal bytes


def _gzip_encoder(level: int) -> Encoder:
    return zlib.compressobj(level, zlib.DEFLATED, 16 + zlib.MAX_WBITS)  # a gzip member, mtime 0


def _gzip_reader(source: Any) -> Any:
    return gzip.GzipFile(fileobj=source, mode="rb")  # members in sequence, bounded reads


def _brotli_compress(brotli: Any) -> Callable[[bytes, int], bytes]:
    def compress(data: bytes, quality: int) -> bytes:
        return bytes(brotli.compress(data, quality=quality))

    return compress


class _BrotliEncoder:
    def __init__(self, brotli: Any, quality: int) -> None:
        self._compressor = brotli.Compressor(quality=quality)

    def compress(self, data: bytes, /) -> bytes:
        return bytes(self._compressor.process(data))

    def flush(self) -> bytes:
        return bytes(self._compressor.finish())


def _brotli_reader(brotli: Any) -> Callable[[Any], Any]:
    def reader(source: Any) -> Any:
        return io.BufferedReader(_BrotliStream(source, brotli.Decompressor()))

    return reader


class _BrotliStream(io.RawIOBase):
    """A brotli stream read a buffer at a time: the decoder's output is capped per call
    (``output_buffer_limit``), so one small input cannot produce more than a buffer's worth."""

    def __init__(self, source: Any, decoder: Any) -> None:
        self._source = source
        self._decoder = decoder
        self._pending = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        size = len(buffer)
        while not self._pending:
            decoder = self._decoder
            if not decoder.can_accept_more_data():  # output held back from the last input
                self._pending = decoder.process(b"", output_buffer_limit=size)
            elif decoder.is_finished():
                return 0
            else:
                data = self._source.read(_CHUNK)
                if not data:
                    raise EOFError("the brotli stream ends before its last block")
                self._pending = decoder.process(data, output_buffer_limit=size)
        out, self._pending = self._pending[:size], self._pending[size:]
        buffer[: len(out)] = out
        return len(out)


def _zstd() -> Coding | None:
    """zstd through PEP 784's API: the standard library's from Python 3.14, ``backports.zstd``
    before. (``zstandard``'s stream reader ends a truncated frame silently, and its
    ``decompressobj`` has no bound on the output of one input.)"""
    zstd = _optional("compression.zstd") or _optional("backports.zstd")
    if zstd is None:
        return None
    options = {zstd.DecompressionParameter.window_log_max: ZSTD_WINDOW.bit_length() - 1}

    compressors = threading.local()  # a context costs more to make than 10 kB to code

    def compress(data: bytes, level: int) -> bytes:
        kept: dict[int, Any] = compressors.__dict__.setdefault("by_level", {})
        compressor = kept.get(level) or kept.setdefault(level, zstd.ZstdCompressor(level))
        return bytes(compressor.compress(data, zstd.ZstdCompressor.FLUSH_FRAME))

    def reader(source: Any) -> Any:
        return zstd.ZstdFile(source, "rb", options=options)

    def encoder(level: int) -> Encoder:
        made: Encoder = zstd.ZstdCompressor(level)
        return made

    return Coding("zstd", compress, reader, (zstd.ZstdError,), encoder)


class _Declared:
    """The body as declared: no read goes past ``Content-Length`` (WSGI forbids it)."""

    def __init__(self, stream: Any, length: int) -> None:
        self._stream = stream
        self._left = length

    def read(self, size: int = -1) -> bytes:
        wanted = self._left if size is None or size < 0 else min(size, self._left)
        data = self._stream.read(wanted) if wanted else b""
        self._left -= len(data)
        return bytes(data)


class DecodedInput(LimitedInput):
    """``wsgi.input`` decoded: more than ``limit`` decoded bytes is ``413``, malformed coded
    data ``400``, whichever reader meets it first."""

    def __init__(self, stream: Any, limit: int, malformed: tuple[type[BaseException], ...]):
        super().__init__(stream, limit)
        self.malformed: tuple[type[BaseException], ...] = (EOFError, *malformed)  # cut short

    def read(self, size: int = -1) -> bytes:
        try:
            return super().read(size)
        except self.malformed:
            raise _malformed() from None

    def readline(self, size: int = -1) -> bytes:
        try:
            return super().readline(size)
        except self.malformed:
            raise _malformed() from None


def _malformed() -> errors.BadRequest:
    return errors.BadRequest("the body is not valid data of the coding its Content-Encoding names")


def decode_body(environ: dict[str, Any], limit: int) -> None:
    """Replace ``wsgi.input`` of a request with a ``Content-Encoding`` by its decoded stream.

    The codings are undone last first (RFC 9110 section 8.4: they are listed in the order they
    were applied). Afterwards the environ describes what ``wsgi.input`` yields: no
    ``Content-Encoding``, and no ``Content-Length``, the decoded length being unknown until read.
    An unknown coding is ``415`` with ``Accept-Encoding`` naming those the site reads.
    """
    header: str = environ.pop("HTTP_CONTENT_ENCODING", "")
    names = [_ALIASES.get(n, n) for n in (c.strip().lower() for c in header.split(",")) if n]
    names = [n for n in names if n != "identity"]
    declared = environ.get("CONTENT_LENGTH", "")
    length = int(declared) if declared.isdigit() else 0
    chunked = bool(environ.get("wsgi.input_terminated")) and not declared
    if not names or not (chunked or length):
        return
    if len(names) > _MAX_CODINGS:
        raise errors.BadRequest(f"a body may carry at most {_MAX_CODINGS} content codings")
    codings = [coding for coding in map(get, names) if coding is not None]
    if len(codings) < len(names):
        unknown = ", ".join(name for name in names if get(name) is None)
        readable = ", ".join(available())
        raise errors.UnsupportedMediaType(
            f"cannot decode the content coding {unknown}; this site reads {readable}",
            headers=[("Accept-Encoding", readable)],
        )
    stream = environ["wsgi.input"] if chunked else _Declared(environ["wsgi.input"], length)
    malformed: tuple[type[BaseException], ...] = ()
    for coding in reversed(codings):
        stream = coding.reader(stream)
        malformed += coding.malformed
    environ["wsgi.input"] = DecodedInput(stream, limit, malformed)
    environ.pop("CONTENT_LENGTH", None)
    environ["wsgi.input_terminated"] = True
    environ["webob.is_body_seekable"] = False  # webob copies it once when it needs to seek
