"""Form bodies: ``application/x-www-form-urlencoded`` and ``multipart/form-data``.

Both load through the resource's input schema, as JSON and XML do, so a plain HTML form works
without a script. A name repeated is a list where the schema's field is a `marshmallow.fields.List`
(else the last value counts); an empty value is left out, as the browsable page's script does; a
field that takes structured data (``Nested``, ``Dict``, ``Tuple``, a list of those) reads its
value as JSON. A number or boolean field's text is typed as XML's is (`resourcekit.media.scalars`),
with ``on`` (a checkbox without a value) true as well, so a strict field takes a form's ``"3"``;
other text is left for marshmallow to coerce or refuse as usual.

Multipart bodies are read as they arrive, by the ``multipart`` package (extra ``forms``): a part
for a `resourcekit.fields.File` field, or with a file name, goes to a ``SpooledTemporaryFile``
(`resourcekit.fields.UploadedFile`), so memory stays bounded whatever the body's size; a file
over its field's ``max_size`` is ``413`` as soon as it passes it, a declared type it does not
accept ``422`` before its bytes are stored. A body that is no multipart stream (no boundary,
truncated) is ``400``.

A form body is what a page of another site can make a browser send without asking (no CORS
preflight): a request with one whose ``Origin`` (or ``Sec-Fetch-Site``) names another site,
not one the site's CORS settings allow, is refused with ``403``.
"""

from __future__ import annotations

import functools
import json
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

from marshmallow import Schema, fields
from webob.multidict import MultiDict

from .. import errors
from ..fields import File, UploadedFile, clean_filename
from ..schemas import collect
from . import MediaHandler
from .scalars import FORM_BOOLEANS, typed

if TYPE_CHECKING:
    from ..request import Request

__all__ = ["FORM_TYPES", "FormHandler", "MultipartHandler"]

FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
"""The media types an HTML form sends."""

MAX_FIELDS = 256
"""Most names and values (urlencoded) or parts (multipart) one body may have: ``413`` beyond."""
MAX_TEXT_PART = 1024 * 1024
"""Largest multipart part that is not a file (it is held in memory): ``413`` beyond."""
SPOOL_SIZE = 64 * 1024
"""Bytes of an uploaded part kept in memory before it is written to a temporary file."""
_CHUNK = 64 * 1024
_STRUCTURED = (fields.Nested, fields.Mapping, fields.Tuple)


class FormHandler(MediaHandler):
    """Reads ``application/x-www-form-urlencoded`` bodies (UTF-8); renders nothing."""

    parses = (FORM_TYPES[0],)

    def read(self, request: Request, charset: str | None, schema: Schema | None) -> Any:
        check_origin(request)
        return super().read(request, charset, schema)

    def parse(self, body: bytes, charset: str | None, schema: Schema | None) -> Any:
        if charset and charset.lower() not in ("utf-8", "utf8"):
            raise errors.UnsupportedMediaType(f"form bodies must be UTF-8, not {charset}")
        try:
            text = body.decode("utf-8")
            pairs = parse_qsl(text, keep_blank_values=True, errors="strict",
                              max_num_fields=MAX_FIELDS)
        except UnicodeError:
            raise errors.BadRequest("the form body is not valid UTF-8") from None
        except ValueError:
            raise errors.ContentTooLarge(f"a form may have at most {MAX_FIELDS} fields") from None
        return form_data(schema, pairs)


class MultipartHandler(MediaHandler):
    """Reads ``multipart/form-data`` bodies as they arrive; renders nothing."""

    parses = (FORM_TYPES[1],)

    def read(self, request: Request, charset: str | None, schema: Schema | None) -> Any:
        check_origin(request)
        import multipart  # type: ignore[import-untyped]  # only sites that read uploads

        _, options = multipart.parse_options_header(request.environ.get("CONTENT_TYPE", ""))
        boundary = options.get("boundary")
        if not boundary:
            raise errors.BadRequest("a multipart/form-data body needs a boundary parameter")
        try:
            parser = multipart.PushMultipartParser(boundary, max_segment_count=MAX_FIELDS)
        except multipart.ParserError:
            raise errors.BadRequest("the multipart boundary is not valid") from None
        files = _file_fields(schema)
        try:
            pairs = list(_parts(parser, _chunks(request), files))
        except multipart.ParserLimitReached:
            raise errors.ContentTooLarge(f"a form may have at most {MAX_FIELDS} parts") from None
        except multipart.MultipartError as exc:
            raise errors.BadRequest(f"malformed multipart body: {exc}") from None
        return form_data(schema, pairs)

    def parse(self, body: bytes, charset: str | None, schema: Schema | None) -> Any:
        raise NotImplementedError("multipart bodies are read as they arrive: see read")


def _chunks(request: Request) -> Iterator[bytes]:
    """The body as it arrives, within ``max_body_size`` (webob stops at ``Content-Length``;
    the site bounds a chunked body), then an empty chunk for the end."""
    stream = request.body_file
    while True:
        try:
            chunk = stream.read(_CHUNK)
        except OSError:  # webob's DisconnectionError: the client sent less than it declared
            raise errors.BadRequest("the body ended before its Content-Length") from None
        yield chunk
        if not chunk:
            return


def _parts(parser: Any, chunks: Iterable[bytes], files: dict[str, File]) -> Iterator[Any]:
    """Each part as a (name, value) pair: text, or an `UploadedFile`."""
    part: _Part | None = None
    for chunk in chunks:
        for event in parser.parse(chunk):
            if event is None:  # the end of the current part
                assert part is not None
                yield part.name, part.value()
                part = None
            elif isinstance(event, bytes):
                assert part is not None
                part.write(event)
            else:  # a new part's headers
                part = _Part(event, files.get(event.name or ""))
    parser.close()


class _Part:
    """One part being received: to memory for text, to a spooled file for a file."""

    def __init__(self, segment: Any, field: File | None) -> None:
        self.name: str = segment.name or ""
        self.field = field
        self.content_type: str = segment.content_type or "application/octet-stream"
        self.charset: str | None = segment.charset
        self.filename = clean_filename(segment.filename)
        self.size = 0
        self.is_file = field is not None or segment.filename is not None
        if field is not None:
            error = field.content_type_error(self.content_type)
            if error is not None:  # before a byte of it is stored
                raise errors.UnprocessableContent(
                    "the body does not match the schema", errors={self.name: error.messages}
                )
        spool = tempfile.SpooledTemporaryFile  # closed by the handler, or when collected
        self.file: Any = spool(SPOOL_SIZE) if self.is_file else None
        self.text = bytearray()

    def write(self, data: bytes) -> None:
        self.size += len(data)
        if self.field is not None:
            self.field.check_size(self.size)
        if self.file is not None:
            self.file.write(data)
            return
        if self.size > MAX_TEXT_PART:
            raise errors.ContentTooLarge(
                f"{self.name}: a field that is not a file may be at most {MAX_TEXT_PART} bytes"
            )
        self.text += data

    def value(self) -> Any:
        if self.file is not None:
            self.file.seek(0)
            return UploadedFile(self.file, self.size, self.content_type, self.filename)
        try:
            return self.text.decode(self.charset or "utf-8")
        except (UnicodeError, LookupError):
            raise errors.BadRequest(f"{self.name}: the value is not valid text") from None


def form_data(schema: Schema | None, pairs: Iterable[tuple[str, Any]]) -> Any:
    """The pairs as the data the schema loads (see the module's docstring); without a schema,
    a dict of them, a list where a name is repeated."""
    kept = [(k, v) for k, v in pairs if v != ""]
    if schema is None:
        return MultiDict(kept).mixed()
    data = collect(schema, kept, unknown=True)
    structured, by_key = _structured_fields(schema), _form_fields(schema)
    for key, value in data.items():
        if key in structured:
            data[key] = _json_value(key, value)
        elif (field := by_key.get(key)) is not None:
            data[key] = _typed(value, field)
    return data


def _typed(value: Any, field: fields.Field[Any]) -> Any:
    """A form's text typed by its field, each item of a list by the list's inner field, so a
    strict number or boolean field loads a form as it loads JSON; files are left as they are."""
    if isinstance(field, fields.List) and isinstance(value, list):
        return [_typed(item, field.inner) for item in value]
    if isinstance(value, str):
        return typed(value, field, FORM_BOOLEANS)
    return value


@functools.lru_cache(maxsize=256)
def _form_fields(schema: Schema) -> Mapping[str, fields.Field[Any]]:
    """The loadable fields by the name a form sends them under."""
    return {f.data_key or n: f for n, f in schema.load_fields.items()}


def _json_value(key: str, value: Any) -> Any:
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        raise errors.UnprocessableContent(
            "the body does not match the schema", errors={key: ["Not valid JSON."]}
        ) from None


@functools.lru_cache(maxsize=256)
def _structured_fields(schema: Schema) -> frozenset[str]:
    """The names of fields whose form value is JSON."""
    def structured(f: fields.Field[Any]) -> bool:
        if isinstance(f, fields.List):
            return isinstance(f.inner, (*_STRUCTURED, fields.List))
        return isinstance(f, _STRUCTURED)
    return frozenset(key for key, f in _form_fields(schema).items() if structured(f))


def _file_fields(schema: Schema | None) -> dict[str, File]:
    if schema is None:
        return {}
    return {key: f for key, f in _form_fields(schema).items() if isinstance(f, File)}


def check_origin(request: Request) -> None:
    """403 for a form body a page of another site had the browser send (see the module)."""
    environ = request.environ
    fetched_from = environ.get("HTTP_SEC_FETCH_SITE")
    if fetched_from in ("same-origin", "none"):
        return
    origin = environ.get("HTTP_ORIGIN")
    if origin is None and fetched_from is None:
        return  # not sent by a browser's page
    if origin is not None and _same_origin(origin, request.host_url):
        return
    cors = request.site.cors
    if origin is not None and cors is not None and cors.allows(origin):
        return
    raise errors.Forbidden("a form body sent from another site's page is refused")


def _same_origin(origin: str, host_url: str) -> bool:
    mine, theirs = urlsplit(host_url), urlsplit(origin)
    return (mine.scheme, mine.netloc.lower()) == (theirs.scheme, theirs.netloc.lower())
