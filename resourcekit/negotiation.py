"""Content negotiation: which media handler answers a request, and which one reads its body.

``Accept`` is parsed by webob's ``acceptparse`` (q-values, wildcards); a range's media-type
parameters (``charset=utf-8``) are not compared, as every representation here is UTF-8. A site
sees few distinct ``Accept`` values, so each decision is cached by the header's exact text and
the common case costs one dictionary lookup. The cache is bounded, and values longer than
browsers send (they send 100 to 300 characters) are decided each time and never kept, so
hostile headers cannot fill it with megabytes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from webob.acceptparse import AcceptValidHeader, create_accept_header

from . import errors
from .headers import KEPT_LENGTH
from .media import MediaHandler
from .memo import Memo

__all__ = ["Choice", "Negotiator"]

Choice = tuple[MediaHandler, str]
"""A handler and the ``Content-Type`` it answers with."""

_MEMO_LIMIT = 512
MAX_ACCEPT_LENGTH = 4096
"""A longer ``Accept`` is ignored, as an unparseable one is (RFC 9110 section 12.5.1 lets a
server disregard it): webob's parser takes time in proportion to the number of ranges times the
number of offers, and no client needs more than a few dozen ranges."""
V = TypeVar("V")


class Negotiator:
    """Chooses handlers from the site's ordered list; the first handler is the default."""

    def __init__(self, handlers: Sequence[MediaHandler]) -> None:
        if not handlers:
            raise ValueError("a site needs at least one media handler")
        self.handlers = tuple(handlers)
        self.default: Choice = (handlers[0], _content_type(handlers[0], handlers[0].media_types[0]))
        self.offers: tuple[str, ...] = tuple(t for h in handlers for t in h.media_types)
        self._by_type: dict[str, MediaHandler] = {}
        self._readers: dict[str, MediaHandler] = {}
        for handler in handlers:
            for media_type in handler.media_types:
                self._by_type.setdefault(media_type, handler)
            for media_type in handler.readable_types():
                self._readers.setdefault(media_type, handler)
        self.accepted: tuple[str, ...] = tuple(self._readers)
        """The media types of the request bodies the site reads: what a ``415`` lists."""
        self._problem_by_type: dict[str, Choice] = {}
        for handler in handlers:
            if handler.problem_type is not None:
                choice = (handler, _content_type(handler, handler.problem_type))
                for media_type in (handler.problem_type, *handler.media_types):
                    self._problem_by_type.setdefault(media_type, choice)
        self._problem_default: Choice = next(iter(self._problem_by_type.values()), self.default)
        self.tag_suffixes: dict[MediaHandler, str | None] = {
            handler: None if index == 0 else handler.media_types[0].rpartition("/")[2]
            for index, handler in enumerate(handlers)
            if handler.media_types  # a handler that only reads bodies represents nothing
        }
        """What `resourcekit.conditional.variant` appends to a strong tag, per handler."""
        self._responses: Memo[str | None, Choice | None] = Memo(_MEMO_LIMIT)
        self._problems: Memo[str | None, Choice] = Memo(_MEMO_LIMIT)

    def select(self, accept: str | None) -> Choice | None:
        """The handler for a representation acceptable to ``accept``; None means 406."""
        try:
            return self._responses[accept]
        except KeyError:
            pass
        best = _best(accept, self.offers)
        choice = (self._by_type[best], _content_type(self._by_type[best], best)) if best else None
        return _remember(self._responses, accept, choice)

    def select_problem(self, accept: str | None) -> Choice:
        """The handler for a problem document; never fails, as an error must always be sent."""
        try:
            return self._problems[accept]
        except KeyError:
            pass
        best = _best(accept, tuple(self._problem_by_type))
        choice = self._problem_by_type[best] if best else self._problem_default
        return _remember(self._problems, accept, choice)

    def parser(self, media_type: str) -> MediaHandler:
        """The handler that reads a body of ``media_type`` (lower case, without parameters);
        ``415`` listing `accepted` when none does.

        Structured-syntax suffixes count: ``application/merge-patch+json`` is read as JSON.
        """
        handler = self._readers.get(media_type)
        if handler is None and "+" in media_type:
            suffix = media_type.rpartition("+")[2]
            handler = self._readers.get(f"application/{suffix}")
        if handler is None:
            readable = ", ".join(self.accepted) or "none"
            raise errors.UnsupportedMediaType(
                f"cannot read {media_type}; request bodies this site reads: {readable}",
                accepted=list(self.accepted),
            )
        return handler


def _content_type(handler: MediaHandler, media_type: str) -> str:
    return f"{media_type}; charset={handler.charset}" if handler.charset else media_type


def _remember(memo: Memo[str | None, V], key: str | None, value: V) -> V:
    """``value``, kept for ``key`` unless the header is longer than browsers send."""
    if key is not None and len(key) > KEPT_LENGTH:
        return value
    return memo.keep(key, value)


def _best(accept: str | None, offers: tuple[str, ...]) -> str | None:
    """The most preferred offer: highest q, then the most specific matching range, then our order.

    webob orders equal q-values by our order alone, which would answer ``Accept: application/xml,
    */*`` with JSON; the client named XML, so the explicit range wins the tie.
    """
    if accept is not None and len(accept) > MAX_ACCEPT_LENGTH:
        accept = None
    header = create_accept_header(accept)
    if not isinstance(header, AcceptValidHeader):  # absent or unparseable: anything goes
        return offers[0] if offers else None
    if any(params for _, _, params, _ in header.parsed):
        header = _without_parameters(header)
    ranked = header.acceptable_offers(list(offers))
    if not ranked:
        return None
    ranges = [media_range.lower() for media_range, *_ in header.parsed]
    order = {offer: index for index, offer in enumerate(offers)}
    return min(ranked, key=lambda oq: (-oq[1], -_specificity(oq[0], ranges), order[oq[0]]))[0]


def _without_parameters(header: AcceptValidHeader) -> AcceptValidHeader:
    """``header`` with its ranges' media-type parameters dropped, q-values kept: webob matches
    a range with parameters only to an offer with the same, so ``application/json;
    charset=utf-8`` (the ``Content-Type`` a client got back) would match nothing here, whose
    representations are all UTF-8 and take no parameters."""
    ranges = ", ".join(
        f"{media_range.partition(';')[0]};q={q}" for media_range, q, _, _ in header.parsed
    )
    stripped = create_accept_header(ranges)
    assert isinstance(stripped, AcceptValidHeader)
    return stripped


def _specificity(offer: str, ranges: list[str]) -> int:
    kind = offer.split("/", 1)[0]
    if offer in ranges:
        return 2
    return 1 if f"{kind}/*" in ranges else 0
