"""XML: the same representations as JSON, mapped element for element through the schema.

Rendering turns dumped data into elements: an object's members are child elements named by their
keys, a list is a wrapper of ``<item>`` elements, ``None`` is an empty ``xsi:nil="true"`` element.
Parsing reads the tree back through the schema, handing every value to ``schema.load`` as text so
that marshmallow converts and validates it exactly as it does JSON. Bodies are parsed by defusedxml
with DTDs refused, so no entity is ever expanded, and fed to the parser in pieces, so a body nested
deeper than `MAX_DEPTH` or holding more than `MAX_ELEMENTS` elements is refused (400) as soon as
the parser reaches the element past the limit, before the rest is read into a tree.
"""

from __future__ import annotations

import datetime as dt
import decimal
import functools
import math
import re
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from marshmallow import Schema

from . import MediaHandler

if TYPE_CHECKING:
    from ..request import Request

__all__ = ["CHARSETS", "MAX_DEPTH", "MAX_ELEMENTS", "XMLHandler", "xml_name", "xml_plural"]

MAX_DEPTH = 32
"""Deepest element nesting accepted in a request body, the root being level 1."""

MAX_ELEMENTS = 10_000
"""Most elements accepted in a request body, the root included."""

CHARSETS = frozenset({
    "utf-8", "utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-le", "utf-32-be", "ascii",
    *(f"iso8859-{n}" for n in (*range(1, 12), *range(13, 17))),
    *(f"cp{n}" for n in range(1250, 1259)),
    "koi8-r", "koi8-u", "shift_jis", "euc_jp", "euc_kr", "gb2312", "gbk", "gb18030", "big5",
})
"""The text encodings a ``charset`` parameter may name, as Python's codecs call them.

A charset is looked up by any name Python knows (``UTF-8``, ``latin1``, ``windows-1252``,
``us-ascii``); one naming anything else, a transform such as ``unicode_escape``, ``utf-7`` or
``idna`` included, is refused with 415, as JSON refuses any charset but UTF-8.
"""

XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
_PROBLEM_NS = "urn:ietf:rfc:7807"
_DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>\n'


def _lazy(source: str) -> Callable[[], re.Pattern[str]]:
    """A pattern compiled on first use: the wide character classes take milliseconds to
    compile, which every site would pay at import, XML or not."""
    return functools.cache(lambda: re.compile(source))


# XML 1.0 cannot carry these characters at all, not even as character references.
_ILLEGAL = _lazy("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
# XML 1.0's name characters, less the astral planes: expat (the parser that reads them back)
# refuses a name with a character beyond U+FFFF, so such a key is written as a <field name=...>.
_NAME_START = (
    "A-Z_a-z\xc0-\xd6\xd8-\xf6\xf8-\u02ff\u0370-\u037d\u037f-\u1fff\u200c\u200d\u2070-\u218f"
    "\u2c00-\u2fef\u3001-\ud7ff\uf900-\ufdcf\ufdf0-\ufffd"
)
_NCNAME = _lazy(f"[{_NAME_START}][{_NAME_START}\\-.0-9\xb7\u0300-\u036f\u203f\u2040]*")
_WORD_BOUNDARY = _lazy(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")

# -- names ------------------------------------------------------------------------------------


def xml_name(schema: Schema | type[Schema] | None) -> str:
    """The element name of one object of ``schema``: ``Meta.xml_name``, else the snake-cased class
    name without its ``Schema`` suffix (``WeatherReportSchema``: ``weather_report``)."""
    return _names(_schema_class(schema))[0]


def xml_plural(schema: Schema | type[Schema] | None) -> str:
    """The element name of a collection of ``schema`` objects: ``Meta.xml_plural``, else the
    English plural of `xml_name`."""
    return _names(_schema_class(schema))[1]


def _schema_class(schema: Schema | type[Schema] | None) -> type[Schema] | None:
    return schema if schema is None or isinstance(schema, type) else type(schema)


@functools.lru_cache(maxsize=256)
def _names(cls: type[Schema] | None) -> tuple[str, str]:
    """Resolved once per class: rendering asks on every response."""
    if cls is None:
        return "response", "responses"
    meta = getattr(cls, "Meta", None)
    base = cls.__name__.removesuffix("Schema") or cls.__name__
    name = getattr(meta, "xml_name", None) or _WORD_BOUNDARY().sub("_", base).lower()
    plural = getattr(meta, "xml_plural", None) or _pluralise(name)
    for candidate in (name, plural):
        if not _is_ncname(candidate):
            raise ValueError(f"{cls.__name__}: {candidate!r} is not a valid XML element name")
    return name, plural


def _pluralise(name: str) -> str:
    if name.endswith(("s", "x", "z", "ch", "sh")):
        return name + "es"
    if len(name) > 1 and name[-1] == "y" and name[-2] not in "aeiou":
        return name[:-1] + "ies"
    return name + "s"


@functools.lru_cache(maxsize=4096)
def _is_ncname(name: str) -> bool:
    """Keys repeat across responses; ElementTree itself writes any tag, valid or not."""
    return _NCNAME().fullmatch(name) is not None


# -- rendering --------------------------------------------------------------------------------


class _Writer:
    """Writes dumped data as XML text in one pass; values are escaped as they are written.

    Faster than building an ElementTree and serialising it, which matters on every response.
    """

    __slots__ = ("item", "nil", "nil_non_finite", "parts")

    def __init__(self, item: str, nil_non_finite: bool = False) -> None:
        self.item = item
        self.parts: list[str] = []
        self.nil = False
        self.nil_non_finite = nil_non_finite

    def element(self, name: str, value: Any, attrs: str = "") -> None:
        parts = self.parts
        if isinstance(value, dict | list | tuple | set | frozenset):
            if not value:
                parts.append(f"<{name}{attrs} />")
                return
            parts.append(f"<{name}{attrs}>")
            if isinstance(value, dict):
                self.members(value)
            else:
                for member in value:
                    self.element(self.item, member)
            parts.append(f"</{name}>")
        elif value is None or (
            self.nil_non_finite and isinstance(value, float) and not math.isfinite(value)
        ):
            # NaN and infinities, which JSON cannot spell, are nil as JSON writes them null:
            # the same data in either format.
            self.nil = True
            parts.append(f'<{name}{attrs} xsi:nil="true" />')
        else:
            text = _escape(_text(value))
            parts.append(f"<{name}{attrs}>{text}</{name}>" if text else f"<{name}{attrs} />")

    def members(self, value: dict[Any, Any]) -> None:
        """One child per key; keys that cannot be element names go in ``<entry key="...">``.

        So does a lone key equal to the item name, which would read back as a one-item list.
        """
        lone_item = len(value) == 1 and self.item in value
        for key, member in value.items():
            name = str(key)
            if _is_ncname(name) and not lone_item:
                self.element(name, member)
            else:
                self.element("entry", member, f' key="{_escape_attr(name)}"')

    def document(self, root: str, root_attrs: str = "") -> bytes:
        """The parts as a document; ``xmlns:xsi`` is declared only where a nil was written."""
        if self.nil:
            root_attrs += f' xmlns:xsi="{XSI_NS}"'
        if root_attrs:
            cut = len(root) + 1
            self.parts[0] = self.parts[0][:cut] + root_attrs + self.parts[0][cut:]
        return _DECLARATION + "".join(self.parts).encode()


def _escape(text: str) -> str:
    if "&" in text:
        text = text.replace("&", "&amp;")
    if "<" in text:
        text = text.replace("<", "&lt;")
    if ">" in text:
        text = text.replace(">", "&gt;")
    if "\r" in text:  # a literal CR would be read back as LF
        text = text.replace("\r", "&#13;")
    return text


def _escape_attr(text: str) -> str:
    return (
        _escape(_ILLEGAL().sub("\ufffd", text))
        .replace('"', "&quot;")
        .replace("\n", "&#10;")
        .replace("\t", "&#9;")
    )


def _text(value: Any) -> str:
    """The text of a scalar, spelled as JSON spells it; also the types `JSONHandler` accepts."""
    if isinstance(value, str):
        return _ILLEGAL().sub("\ufffd", value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{value!r} cannot be represented (no NaN or Infinity, as in JSON)")
        return repr(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, uuid.UUID | decimal.Decimal):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not XML serialisable")


@functools.cache
def _reader() -> Callable[[bytes, str | None, Schema | None, int, int], Any]:
    from .xmlread import read

    return read


class XMLHandler(MediaHandler):
    """XML 1.0 in UTF-8 out; any encoding the document or charset declares in.

    Strings holding characters XML 1.0 cannot carry (most C0 controls, U+FFFE, U+FFFF, lone
    surrogates) are rendered with U+FFFD in their place. A float that is NaN or infinite is
    answered ``xsi:nil="true"`` (`represent`, what the site calls), as JSON answers ``null``;
    `render` called directly refuses one with ``ValueError``. ``xmlns:xsi`` is declared on the
    root only when the document holds a ``None`` (or such a float).

    ``max_depth`` and ``max_elements`` (default `MAX_DEPTH`, `MAX_ELEMENTS`) bound what a request
    body may hold; set them on an instance (``XMLHandler()``, then ``handler.max_elements = ...``)
    or a subclass to change them.
    """

    media_types = ("application/xml", "text/xml")
    problem_type = "application/problem+xml"
    charset = "utf-8"
    max_depth = MAX_DEPTH
    max_elements = MAX_ELEMENTS

    def represent(self, request: Request, data: Any, schema: Schema | None, many: bool) -> bytes:
        """`render`, with NaN and infinities written nil rather than refused: a response never
        fails on a float a handler computed or a client sent (``1e400``)."""
        return self._render(_Writer("item", nil_non_finite=True), data, schema, many)

    def render(self, data: Any, schema: Schema | None, many: bool) -> bytes:
        return self._render(_Writer("item"), data, schema, many)

    @staticmethod
    def _render(writer: _Writer, data: Any, schema: Schema | None, many: bool) -> bytes:
        if many:
            name, plural = _names(_schema_class(schema))
            writer.parts.append(f"<{plural}>" if data else f"<{plural} />")
            for member in data:
                writer.element(name, member)
            if data:
                writer.parts.append(f"</{plural}>")
            return writer.document(plural)
        name = xml_name(schema)
        writer.element(name, data)
        return writer.document(name)

    def render_problem(self, problem: dict[str, Any]) -> bytes:
        """RFC 9457 Appendix B: members in namespace ``urn:ietf:rfc:7807``, arrays as ``<i>``."""
        writer = _Writer("i", nil_non_finite=True)
        writer.element("problem", problem)
        return writer.document("problem", f' xmlns="{_PROBLEM_NS}"')

    def parse(self, body: bytes, charset: str | None, schema: Schema | None) -> Any:
        """Read the root as one object of ``schema`` (its name is not checked), or generically.

        400 for a body nested deeper than ``max_depth`` or holding more than ``max_elements``
        elements, 415 for a ``charset`` not among `CHARSETS`.
        """
        return _reader()(body, charset, schema, self.max_depth, self.max_elements)
