"""Response compression: ``Site(compression=True)`` codes replies per ``Accept-Encoding``.

A reply of a compressible media type (text, JSON, XML and their ``+json``/``+xml`` kin) and of
at least ``min_size`` bytes is coded with the coding the client prefers (q-values, RFC 9110
section 12.5.3) among ``zstd``, ``br`` and ``gzip`` (`resourcekit.codings`), the site's order
breaking ties. Such replies carry ``Vary: Accept-Encoding`` coded or not, as the representation
depends on it. A strong ``ETag`` names exact bytes, so a coded reply's tag is a variant of the
identity one (``"abc-gzip"``); the site's preconditions match any of them.

The default levels are chosen for throughput: on the JSON of a 100-item list (10.5 kB), zstd 1
codes it in about 32 microseconds to 9% of its size, brotli 2 in 56 to 9.4%, gzip 1 in 31 to
13%; gzip 6 takes three times gzip 1's time for 12.4%, brotli 4 twice brotli 2's for 10%.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from webob.acceptparse import AcceptEncodingValidHeader, create_accept_encoding_header

from .codings import Encoder, get
from .conditional import parse_etag, parse_tag_list, variant
from .headers import KEPT_LENGTH, add_vary
from .memo import Memo
from .reply import Chunks, Reply

__all__ = ["Compression"]

_COMPRESSIBLE_SUFFIXES = ("+json", "+xml")
_COMPRESSIBLE = frozenset({
    "application/json", "application/xml", "application/javascript", "application/x-ndjson",
    "application/xhtml+xml", "application/yaml", "application/wasm", "image/svg+xml",
})
_UNCODED = frozenset({206, 304})  # a range of bytes is of the identity body; a 304 has none
_MEMO_LIMIT = 256


class Compression:
    """What ``Site(compression=...)`` takes (``True`` means the defaults).

    ``min_size``: smaller bodies are sent as they are (coding them saves less than it costs).
    ``codings``: those offered, in the order that breaks ties of q-value; those whose library
    is missing are left out. ``levels``: per coding, replacing the defaults.
    """

    LEVELS: Mapping[str, int] = {"zstd": 1, "br": 2, "gzip": 1}

    def __init__(
        self,
        min_size: int = 1024,
        codings: tuple[str, ...] = ("zstd", "br", "gzip"),
        levels: Mapping[str, int] | None = None,
    ) -> None:
        self.min_size = min_size
        self._coders = {c.name: c for c in map(get, codings) if c is not None}
        self.codings = tuple(self._coders)
        self.levels = {**self.LEVELS, **(levels or {})}
        self._choices: Memo[str, str | None] = Memo(_MEMO_LIMIT)

    @classmethod
    def coerce(cls, value: Compression | bool | None) -> Compression | None:
        """``True``: the defaults; ``False``/None: no compression."""
        if isinstance(value, Compression):
            return value
        return cls() if value else None

    def choose(self, accept_encoding: str | None) -> str | None:
        """The coding to send for this ``Accept-Encoding``, or None for the identity body.

        No header, or one that does not parse, is the identity body; so is one that refuses
        every coding (even with ``identity;q=0``: RFC 9110 section 12.5.3 lets a server send
        it anyway, and an uncoded body serves the client better than a ``406``). A coding is
        sent only if it ranks at least as high as ``identity`` (`_ranked`).
        """
        if not accept_encoding:
            return None
        try:
            return self._choices[accept_encoding]
        except KeyError:
            pass
        parsed = create_accept_encoding_header(accept_encoding)
        choice = None
        if isinstance(parsed, AcceptEncodingValidHeader):
            choice = _ranked(parsed, self.codings)
        if len(accept_encoding) <= KEPT_LENGTH:
            self._choices.keep(accept_encoding, choice)
        return choice

    def apply(self, environ: dict[str, Any], reply: Reply) -> None:
        """Code ``reply`` in place if it should be; called by the site as it sends it."""
        headers = reply.headers
        if reply.status == 304:
            add_vary(headers, "Accept-Encoding")
            _not_modified_tag(headers, environ.get("HTTP_IF_NONE_MATCH"), self.codings)
            return
        if reply.status in _UNCODED or not compressible(reply.header("Content-Type")):
            return
        if reply.header("Content-Encoding") is not None:  # a handler's own webob.Response
            return
        add_vary(headers, "Accept-Encoding")
        stream = reply.stream
        if stream is None and len(reply.body) < self.min_size:
            return
        coding = self.choose(environ.get("HTTP_ACCEPT_ENCODING"))
        if coding is None:
            return
        coder, level = self._coders[coding], self.levels[coding]
        if stream is not None:  # coded as it is made: its size is not known, only likely large
            reply.stream = Chunks(_coded(stream.chunks, coder.encoder(level)), stream.close)
        else:
            reply.body = coder.compress(reply.body, level)
        headers.append(("Content-Encoding", coding))
        for index, (name, value) in enumerate(headers):
            if name == "ETag":
                headers[index] = ("ETag", str(variant(parse_etag(value), coding)))


def _ranked(parsed: AcceptEncodingValidHeader, codings: tuple[str, ...]) -> str | None:
    """The client's favourite of ``codings`` (by q, then by the site's order), unless it
    ranks ``identity`` higher: ``gzip;q=0.5, identity`` asks for the body as it is.

    A tie goes to the coding, the smaller body. ``identity`` not named (nor ``*``) does not
    compete: it is acceptable by default, but no preference over a coding the client lists.
    """
    offers = parsed.acceptable_offers(codings)
    if not offers:
        return None
    coding, q = offers[0][:2]
    identity = _identity_q(parsed.parsed)
    return coding if identity is None or q >= identity else None


def _identity_q(parsed: Iterable[tuple[str, float]]) -> float | None:
    """The q-value the header gives ``identity``: its own entry, else ``*``'s, else None."""
    entries = [(token.lower(), q) for token, q in parsed]
    for wanted in ("identity", "*"):
        q = next((q for token, q in entries if token == wanted), None)
        if q is not None:
            return q
    return None


def _coded(chunks: Iterator[bytes], encoder: Encoder) -> Iterator[bytes]:
    for chunk in chunks:
        coded = encoder.compress(chunk)
        if coded:
            yield coded
    yield encoder.flush()


def compressible(content_type: str | None) -> bool:
    """Whether a body of ``content_type`` gains from coding: text, JSON, XML; not images,
    archives or other media types that are compressed already."""
    if not content_type:
        return False
    media_type = content_type.partition(";")[0].strip().lower()
    return (
        media_type.startswith("text/")
        or media_type in _COMPRESSIBLE
        or media_type.endswith(_COMPRESSIBLE_SUFFIXES)
    )


def _not_modified_tag(
    headers: list[tuple[str, str]], if_none_match: str | None, offered: tuple[str, ...]
) -> None:
    """A ``304`` names the variant the client holds, as its ``If-None-Match`` does: a cache
    updates the stored response whose strong tag the ``304`` carries (RFC 9111 section 4.3.4)."""
    if not if_none_match:
        return
    held = parse_tag_list(if_none_match)
    if not held:
        return
    named = {tag.opaque for tag in held}
    for index, (name, value) in enumerate(headers):
        if name != "ETag":
            continue
        etag = parse_etag(value)
        if etag.weak or etag.opaque in named:
            return
        coded = next((c for c in offered if variant(etag, c).opaque in named), None)
        if coded is not None:
            headers[index] = ("ETag", str(variant(etag, coded)))
        return
