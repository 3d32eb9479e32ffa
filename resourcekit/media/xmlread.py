"""Reading XML request bodies, for `resourcekit.media.xml.XMLHandler`.

Imported at a site's first XML body, with ElementTree and defusedxml: rendering XML needs neither,
so a site that is never sent XML does not load them.
"""

from __future__ import annotations

import codecs
from collections.abc import Callable
from itertools import chain, repeat
from typing import Any
from xml.etree import ElementTree as ET

from marshmallow import Schema, fields

from .. import errors
from .scalars import typed
from .xml import CHARSETS, XSI_NS

__all__ = ["read"]

_XSI_NIL = f"{{{XSI_NS}}}nil"

_Spec = Schema | fields.Field[Any] | None
"""How to read an element: as an object of a schema, as the value of a field, or generically."""


def read(
    body: bytes, charset: str | None, schema: Schema | None, max_depth: int, max_elements: int
) -> Any:
    """What `resourcekit.media.xml.XMLHandler.parse` answers: the body as plain data."""
    return _load(_parse_tree(_document(body, charset), max_depth, max_elements), schema)


def _document(body: bytes, charset: str | None) -> bytes | str:
    """Without a charset the parser reads the encoding from the BOM or XML declaration; with one,
    the charset wins (RFC 7303), so decode here and hand over text. Only `CHARSETS` are read."""
    if charset is None:
        return body
    try:
        known = codecs.lookup(charset).name in CHARSETS
    except (LookupError, ValueError):
        known = False
    if not known:
        raise errors.UnsupportedMediaType(f"unknown charset {charset!r}")
    try:
        return body.decode(charset).removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        raise errors.BadRequest(f"XML body is not valid {charset} (byte {exc.start})") from None


class _LimitedBuilder(ET.TreeBuilder):
    """Builds the tree as ElementTree does, refusing the element that passes a limit.

    The parser calls `start` for every element as it reads it, so the refusal comes before the
    rest of the body is parsed.
    """

    def __init__(self, max_depth: int, max_elements: int) -> None:
        super().__init__()
        self.max_depth, self.max_elements = max_depth, max_elements
        self.depth = self.count = 0

    def start(self, tag: str, attrs: dict[str, str]) -> ET.Element:
        self.depth += 1
        self.count += 1
        if self.depth > self.max_depth:
            raise errors.BadRequest(f"XML is nested deeper than {self.max_depth} levels")
        if self.count > self.max_elements:
            raise errors.BadRequest(f"XML has more than {self.max_elements} elements")
        return super().start(tag, attrs)

    def end(self, tag: str) -> ET.Element:
        self.depth -= 1
        return super().end(tag)


_CHUNK = 64 * 1024


def _parse_tree(document: bytes | str, max_depth: int, max_elements: int) -> ET.Element:
    """The root element of ``document``, parsed with DTDs and entities refused, within limits."""
    import defusedxml.ElementTree  # imported by the sites that are sent XML

    parser = defusedxml.ElementTree.DefusedXMLParser(
        target=_LimitedBuilder(max_depth, max_elements),
        forbid_dtd=True,
        forbid_entities=True,
        forbid_external=True,
    )
    try:
        for start in range(0, len(document), _CHUNK):
            parser.feed(document[start : start + _CHUNK])
        root: ET.Element = parser.close()
        return root
    except defusedxml.DefusedXmlException:
        raise errors.BadRequest("XML with a DTD or entities is not accepted") from None
    except (ET.ParseError, LookupError, ValueError) as exc:
        # Lookup and value errors come from the encoding a document declares, e.g. "klingon"
        # or a multi-byte codec expat cannot use.
        raise errors.BadRequest(f"malformed XML: {exc}") from None


def _local(tag: str) -> str:
    """The name without its namespace, so a client may give its document a default namespace."""
    return tag.rpartition("}")[2]


def _key(elem: ET.Element) -> str:
    key = elem.get("key")
    return key if key is not None and _local(elem.tag) == "entry" else _local(elem.tag)


def _is_nil(elem: ET.Element) -> bool:
    return elem.get(_XSI_NIL, "").strip() in ("true", "1")


def _is_container(spec: _Spec) -> bool:
    return isinstance(spec, Schema | fields.Nested | fields.List | fields.Tuple | fields.Mapping)


def _children(elem: ET.Element) -> list[ET.Element]:
    """The child elements, refusing text beside them rather than dropping it."""
    children = list(elem)
    texts = [elem.text, *(child.tail for child in children)] if children else []
    if any(text and not text.isspace() for text in texts):
        raise errors.BadRequest(f"element {_local(elem.tag)!r} mixes text and child elements")
    return children


def _load(elem: ET.Element, spec: _Spec) -> Any:
    """The plain value of ``elem`` for ``schema.load``, as JSON would have carried it.

    The text of a number or boolean field becomes a number or boolean when it is spelled as JSON
    spells one, so a schema may refuse strings where it wants numbers, for XML and JSON alike.
    Content of the wrong shape (text for an object, children for a string) is passed on as read,
    so the schema answers it as invalid (422) just as it would the same mistake in JSON.
    """
    if _is_nil(elem):
        return None
    if isinstance(spec, fields.Pluck) and not spec.many:
        return _load(elem, _plucked(spec))
    children = _children(elem)
    text = elem.text or ""
    if not children and (text.strip() or not _is_container(spec)):
        return typed(text, spec)
    if isinstance(spec, Schema):
        return _mapping(children, _fields_by_key(spec).get)
    if isinstance(spec, fields.Nested):
        if not spec.many:
            return _mapping(children, _fields_by_key(spec.schema).get)
        item = _plucked(spec) if isinstance(spec, fields.Pluck) else spec.schema
        return [_load(child, item) for child in children]
    if isinstance(spec, fields.List):
        return [_load(child, spec.inner) for child in _items(elem, children)]
    if isinstance(spec, fields.Tuple):
        items = zip(_items(elem, children), chain(spec.tuple_fields, repeat(None)), strict=False)
        return [_load(child, item) for child, item in items]
    if isinstance(spec, fields.Mapping):
        return _mapping(children, lambda _: spec.value_field)
    return _generic(children)


def _plucked(spec: fields.Pluck) -> fields.Field[Any]:
    return spec.schema.fields[spec.field_name]


def _fields_by_key(schema: Schema) -> dict[str, fields.Field[Any]]:
    """Fields by the key they load from; elements matching none are read generically."""
    return {
        (field.data_key if field.data_key is not None else name): field
        for name, field in schema.fields.items()
    }


def _items(elem: ET.Element, children: list[ET.Element]) -> list[ET.Element]:
    for child in children:
        if _local(child.tag) != "item":
            raise errors.BadRequest(
                f"list element {_local(elem.tag)!r} may contain only <item> elements, "
                f"not <{_local(child.tag)}>"
            )
    return children


def _mapping(children: list[ET.Element], spec_for: Callable[[str], _Spec]) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for child in children:
        key = _key(child)
        if key in data:
            raise errors.BadRequest(f"element {key!r} appears more than once")
        data[key] = _load(child, spec_for(key))
    return data


def _generic(children: list[ET.Element]) -> Any:
    """Schemaless children: all ``<item>`` is a list, anything else an object."""
    if all(_local(child.tag) == "item" for child in children):
        return [_load(child, None) for child in children]
    return _mapping(children, lambda _: None)
