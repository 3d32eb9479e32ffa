"""Validators and conditional requests: RFC 9110 section 13, evaluated by the site, not handlers.

A resource states its validators (``etag``, ``last_modified``); the site checks ``If-Match``,
``If-Unmodified-Since``, ``If-None-Match`` and ``If-Modified-Since`` in the order of RFC 9110
section 13.2.2 before the handler runs, so an unsafe method never runs against a stale tag.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import re
from collections.abc import Callable, Mapping
from email.utils import format_datetime
from typing import TYPE_CHECKING, Any, NamedTuple
from urllib.parse import quote

from . import errors
from .methods import CONDITIONAL_WRITES, SAFE_METHODS

if TYPE_CHECKING:
    from .endpoint import Endpoint
    from .request import Request

__all__ = [
    "ETag",
    "Preconditions",
    "Validators",
    "auto_etag",
    "coded",
    "evaluate",
    "http_date",
    "parse_etag",
    "parse_tag_list",
    "variant",
]

_ETAGC = r"\x21\x23-\x7e\x80-\xff"
_OPAQUE = re.compile(f"[{_ETAGC}]*")
_LIST_MEMBER = re.compile(f'[ \\t]*(W/)?"([{_ETAGC}]*)"[ \\t]*(?:,|$)')
MAX_TAGS = 64
"""Tags read from one ``If-Match``/``If-None-Match``; the rest are ignored, which fails safe:
an ``If-Match`` then fails (412) and an ``If-None-Match`` answers the full representation."""
_ETAGC_SAFE = "".join(chr(c) for c in range(0x21, 0x7F) if chr(c) not in '"%')


class ETag(NamedTuple):
    """An entity tag: its opaque text and whether it is weak (a tuple: cheap and hashable)."""

    opaque: str
    weak: bool = False

    def __str__(self) -> str:
        return f'W/"{self.opaque}"' if self.weak else f'"{self.opaque}"'

    def strong_match(self, other: ETag) -> bool:
        return not self.weak and not other.weak and self.opaque == other.opaque

    def weak_match(self, other: ETag) -> bool:
        return self.opaque == other.opaque


@functools.lru_cache(maxsize=4096)
def parse_etag(value: str) -> ETag:
    """Read what ``Resource.etag`` returns: ``'abc'``, ``'"abc"'`` or ``'W/"abc"'``.

    Characters an entity tag cannot hold (spaces, quotes, controls: RFC 9110 section 8.8.3) are
    percent-encoded, so a tag made from, say, a timestamp still round-trips through clients.
    """
    weak = value.startswith("W/")
    opaque = value[2:] if weak else value
    if len(opaque) >= 2 and opaque[0] == opaque[-1] == '"':
        opaque = opaque[1:-1]
    if not _OPAQUE.fullmatch(opaque):
        opaque = quote(opaque, safe=_ETAGC_SAFE)
    return ETag(opaque, weak)


def auto_etag(body: bytes, suffix: str | None = None) -> ETag:
    """A strong tag from the representation's bytes, so JSON and XML get different tags; with
    ``suffix`` (an API version's tag), its `variant`, made at once.

    SHA-1 for speed (it is the fastest hashlib digest here on bodies of a few kilobytes), cut to
    96 bits: a validator must not collide by chance, it need not resist attackers.
    """
    opaque = hashlib.sha1(body, usedforsecurity=False).hexdigest()[:24]
    return ETag(opaque if suffix is None else f"{opaque}-{suffix}")


@functools.lru_cache(maxsize=4096)
def http_date(moment: dt.datetime) -> str:
    """An IMF-fixdate; cached, as a resource's ``Last-Modified`` repeats across requests."""
    return format_datetime(moment.astimezone(dt.UTC), usegmt=True)


class Validators:
    """What a resource says of its current state, and the tags of each of its representations.

    A strong tag from ``Resource.etag`` names the state, but a strong tag must name exact bytes,
    and JSON and XML differ: each media handler but the default gets its own variant
    (``"v7"`` for JSON, ``"v7-xml"`` for XML). A weak tag is shared by every representation.
    ``exists`` is what ``*`` in ``If-Match``/``If-None-Match`` tests.
    """

    __slots__ = ("etag", "exists", "last_modified", "variants")

    def __init__(
        self,
        etag: ETag | None = None,
        last_modified: dt.datetime | None = None,
        variants: tuple[ETag, ...] = (),
        exists: bool = True,
    ) -> None:
        self.etag = etag
        self.last_modified = last_modified
        self.variants = variants
        self.exists = exists

    @classmethod
    def of(
        cls,
        etag: ETag | None,
        last_modified: dt.datetime | None,
        suffixes: tuple[str | None, ...] = (),
    ) -> Validators:
        """The validators with the variants of ``etag`` for each representation's ``suffixes``
        (none given: no variants, for a request that compares no tags)."""
        variants = _variants(etag, suffixes) if etag is not None and suffixes else ()
        exists = etag is not None or last_modified is not None
        return cls(etag, last_modified, variants, exists)

    def selecting(self, etag: ETag | None) -> Validators:
        """The validators of one representation: what a ``GET`` compares tags with."""
        return Validators(
            self.etag, self.last_modified, (etag,) if etag is not None else (), self.exists
        )

    def headers(self, etag: ETag | None) -> list[tuple[str, str]]:
        headers = [("ETag", str(etag))] if etag is not None else []
        if self.last_modified is not None:
            headers.append(("Last-Modified", http_date(self.last_modified)))
        return headers


@functools.lru_cache(maxsize=4096)
def _variants(etag: ETag, suffixes: tuple[str | None, ...]) -> tuple[ETag, ...]:
    return tuple({variant(etag, suffix) for suffix in suffixes})


@functools.lru_cache(maxsize=4096)
def variant(etag: ETag, suffix: str | None) -> ETag:
    """The tag of one representation: strong tags get the media handler's suffix."""
    if etag.weak or suffix is None:
        return etag
    return ETag(f"{etag.opaque}-{suffix}")


@functools.lru_cache(maxsize=4096)
def coded(tags: tuple[ETag, ...], codings: tuple[str, ...]) -> tuple[ETag, ...]:
    """``tags`` and, for each strong one, its variant per content coding (``"v7-gzip"``)."""
    return tags + tuple(variant(t, c) for t in tags if not t.weak for c in codings)


def parse_tag_list(header: str) -> list[ETag] | None:
    """The tags of an ``If-Match``/``If-None-Match`` list; None for ``*``.

    Malformed members are skipped: a header that names no valid tag matches nothing. Read by
    anchored matches from left to right, so time grows with the header's length, never with its
    square (a search for a member at every offset is quadratic in whitespace).
    """
    if header.strip() == "*":
        return None
    tags: list[ETag] = []
    position, end = 0, len(header)
    while position < end and len(tags) < MAX_TAGS:
        member = _LIST_MEMBER.match(header, position)
        if member is not None:
            tags.append(ETag(member.group(2), bool(member.group(1))))
            position = member.end()
        else:  # skip the malformed member; each character is read a bounded number of times
            position = header.find(",", position) + 1 or end
    return tags


_DAY = r"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)"
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_MONTH = "(?P<month>" + "|".join(_MONTHS) + ")"
_TIME = r"(?P<hour>[0-9][0-9]):(?P<minute>[0-9][0-9]):(?P<second>[0-9][0-9])"
_HTTP_DATES = (
    # IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT
    re.compile(rf"{_DAY}, (?P<day>[0-9][0-9]) {_MONTH} (?P<year>[0-9]{{4}}) {_TIME} GMT"),
    # obsolete RFC 850: Sunday, 06-Nov-94 08:49:37 GMT
    re.compile(rf"(?:Mon|Tues|Wednes|Thurs|Fri|Satur|Sun)day, (?P<day>[0-9][0-9])-{_MONTH}-"
               rf"(?P<year2>[0-9][0-9]) {_TIME} GMT"),
    # asctime: Sun Nov  6 08:49:37 1994
    re.compile(rf"{_DAY} {_MONTH} (?P<day>[0-9][0-9]| [0-9]) {_TIME} (?P<year>[0-9]{{4}})"),
)
"""The three forms of an HTTP-date (RFC 9110 section 5.6.7), case-sensitive as it says, in GMT."""


def _parse_date(header: str | None) -> dt.datetime | None:
    """An HTTP-date, or None where it is absent or invalid (RFC 9110: then it is ignored).

    Only the three forms RFC 9110 section 5.6.7 defines are dates: a list of dates, another zone,
    or whatever a lenient e-mail date parser would make of other text is not, since a guessed
    date would turn a client's garbled condition into a 304 or a 412 it never asked for.
    """
    if not header:
        return None
    value = header.strip(" \t")
    for form in _HTTP_DATES:
        if (match := form.fullmatch(value)) is not None:
            return _moment(match)
    return None


def _moment(match: re.Match[str]) -> dt.datetime | None:
    """The moment a matched HTTP-date names; None for one that does not exist (30 Feb)."""
    year2 = match.groupdict().get("year2")
    year = _full_year(int(year2)) if year2 is not None else int(match["year"])
    second = 59 if match["second"] == "60" else int(match["second"])  # a leap second: :59
    try:
        return dt.datetime(year, _MONTHS.index(match["month"]) + 1, int(match["day"]),
                           int(match["hour"]), int(match["minute"]), second, tzinfo=dt.UTC)
    except ValueError:
        return None


def _full_year(two_digits: int) -> int:
    """An RFC 850 year: the latest year ending in these digits that is at most 50 years ahead
    (RFC 9110 section 5.6.7)."""
    this_year = dt.datetime.now(dt.UTC).year
    year = this_year - this_year % 100 + two_digits
    return year - 100 if year > this_year + 50 else year


def _seconds(moment: dt.datetime) -> dt.datetime:
    return moment.replace(microsecond=0)


def _if_match(header: str, validators: Validators) -> bool:
    tags = parse_tag_list(header)
    if tags is None:
        return validators.exists
    return any(tag.strong_match(current) for tag in tags for current in validators.variants)


def _if_none_match(header: str, validators: Validators) -> bool:
    """True when the condition holds, i.e. no listed tag matches (weak comparison)."""
    tags = parse_tag_list(header)
    if tags is None:
        return not validators.exists
    return not any(tag.weak_match(current) for tag in tags for current in validators.variants)


def _compares_tags(environ: Mapping[str, Any]) -> bool:
    return "HTTP_IF_MATCH" in environ or "HTTP_IF_NONE_MATCH" in environ


def has_conditions(environ: Mapping[str, Any]) -> bool:
    """Whether the request carries any of the four conditional headers."""
    return (
        "HTTP_IF_MATCH" in environ
        or "HTTP_IF_NONE_MATCH" in environ
        or "HTTP_IF_MODIFIED_SINCE" in environ
        or "HTTP_IF_UNMODIFIED_SINCE" in environ
    )


def evaluate(method: str, environ: dict[str, Any], validators: Validators) -> int | None:
    """RFC 9110 section 13.2.2: None to go on, 304 or 412 to stop here."""
    if not has_conditions(environ):
        return None
    if_match = environ.get("HTTP_IF_MATCH")
    if if_match is not None:
        if not _if_match(if_match, validators):
            return 412
    else:
        since = _parse_date(environ.get("HTTP_IF_UNMODIFIED_SINCE"))
        modified = validators.last_modified
        if since is not None and modified is not None and _seconds(modified) > since:
            return 412
    if_none_match = environ.get("HTTP_IF_NONE_MATCH")
    if if_none_match is not None:
        if not _if_none_match(if_none_match, validators):
            return 304 if method in SAFE_METHODS else 412
    elif method in SAFE_METHODS:
        since = _parse_date(environ.get("HTTP_IF_MODIFIED_SINCE"))
        modified = validators.last_modified
        if since is not None and modified is not None and _seconds(modified) <= since:
            return 304
    return None


def precondition_failed() -> errors.PreconditionFailed:
    return errors.PreconditionFailed(
        "the resource has changed since the client last saw it: fetch it again and retry"
    )


def require_precondition(environ: dict[str, Any]) -> None:
    """428 for an unsafe request that states no precondition (``require_preconditions``).

    An ``If-Unmodified-Since`` that is not a valid date is ignored, so it states none either.
    """
    unmodified_since = _parse_date(environ.get("HTTP_IF_UNMODIFIED_SINCE"))
    if "HTTP_IF_MATCH" not in environ and unmodified_since is None:
        raise errors.PreconditionRequired(
            "this resource takes changes only with If-Match (or If-Unmodified-Since): "
            "send the ETag you last received"
        )


class Preconditions:
    """The precondition flow of one site, around a resource's handlers.

    ``suffixes`` maps each media handler to what its variant of a strong tag gets (see
    `variant`); the site's default handler maps to None. ``codings`` are the content codings
    the site may send (`resourcekit.compression`): a tag with a coding's variant appended
    names the same representation, coded, and matches wherever the tag does.
    """

    def __init__(
        self, suffixes: Mapping[Any, str | None], codings: tuple[str, ...] = ()
    ) -> None:
        self.suffixes = dict(suffixes)
        self.all_suffixes = tuple(set(suffixes.values()))
        self.codings = codings

    def add_formats(self, suffixes: Mapping[Any, str | None]) -> None:
        """Media handlers of a resource's own (`resourcekit.Resource.media`) and their
        suffixes, beside the site's, which keep theirs."""
        for handler, suffix in suffixes.items():
            self.suffixes.setdefault(handler, suffix)
        self.all_suffixes = tuple(set(self.suffixes.values()))

    def validators(
        self, request: Request, endpoint: Endpoint, params: dict[str, Any]
    ) -> Validators:
        raw = endpoint.etag(request, **params) if endpoint.etag else None
        modified = endpoint.last_modified(request, **params) if endpoint.last_modified else None
        etag = parse_etag(raw) if raw is not None else None
        return Validators.of(etag, modified)

    def _every(self, validators: Validators | None, version: str | None = None) -> Validators:
        """``validators`` with the tags of every representation (at the client's API
        ``version``): what a write is checked against, whichever one its client read."""
        if validators is None:
            return _NO_STATE
        suffixes = self.all_suffixes if version is None else _versioned(self.all_suffixes, version)
        every = Validators.of(validators.etag, validators.last_modified, suffixes)
        return self._coded(every)

    def _coded(self, validators: Validators) -> Validators:
        """``validators`` with each strong variant's coded variants too."""
        if self.codings:
            validators.variants = coded(validators.variants, self.codings)
        return validators

    def tag(
        self, validators: Validators | None, media_handler: Any, version: str | None = None
    ) -> ETag | None:
        """The tag of the representation ``media_handler`` renders, at the API ``version``
        given (`resourcekit.exchange.Target.version_tag`), if any."""
        if validators is None or validators.etag is None:
            return None
        suffix = self.suffixes[media_handler]
        if version is not None:
            suffix = version if suffix is None else f"{suffix}-{version}"
        return validators.etag if suffix is None else variant(validators.etag, suffix)

    def before(
        self,
        request: Request,
        endpoint: Endpoint,
        params: dict[str, Any],
        media_handler: Any,
        version: str | None = None,
        current: Callable[[Validators | None], Validators | None] | None = None,
    ) -> tuple[Validators | None, int | None]:
        """Check what can be checked before the handler: the validators, and 304 or None.

        Unsafe requests are checked against every representation's tag and fail with 412 here;
        where the resource names no tag, a tag list is compared with what ``current`` makes
        of the validators (the tag of the representation its ``GET`` gives now). Safe requests
        whose resource has an ``etag`` are checked against the selected representation's tag;
        safe requests without, and every ``QUERY`` (whose answer depends on its body, which no
        ``etag`` of the resource names), wait for the body's own tag (`for_body`, then
        `not_modified`).
        """
        environ = request.environ
        method = environ["REQUEST_METHOD"]
        if endpoint.require_preconditions and method in CONDITIONAL_WRITES:
            require_precondition(environ)
        validators = (
            self.validators(request, endpoint, params)
            if endpoint.has_validators and method != "QUERY" else None
        )
        if method not in SAFE_METHODS:
            if not has_conditions(environ):
                return validators, None
            every = self._every(validators, version)
            untagged = validators is None or validators.etag is None
            if untagged and current is not None and _compares_tags(environ):
                every = current(validators) or every
            if evaluate(method, environ, every):
                raise precondition_failed()
            return validators, None
        if validators is not None and validators.etag is not None and has_conditions(environ):
            selected = validators.selecting(self.tag(validators, media_handler, version))
            return validators, _not_modified(evaluate(method, environ, self._coded(selected)))
        return validators, None

    def for_body(self, validators: Validators | None, etag: ETag) -> Validators:
        """The validators of a ``GET`` whose resource has no ``etag``: the tag made from its
        body, with the resource's ``Last-Modified`` if it has one."""
        modified = validators.last_modified if validators is not None else None
        return self._coded(Validators(etag, modified, (etag,)))

    @staticmethod
    def not_modified(request: Request, validators: Validators) -> bool:
        """Whether a ``GET``/``HEAD`` is answered 304 now; a failed ``If-Match`` raises 412."""
        return _not_modified(evaluate(request.method, request.environ, validators)) is not None


@functools.lru_cache(maxsize=64)
def _versioned(suffixes: tuple[str | None, ...], version: str) -> tuple[str, ...]:
    """Each representation's suffix with an API version appended (`Preconditions.tag`)."""
    return tuple(version if s is None else f"{s}-{version}" for s in suffixes)


_NO_STATE = Validators()  # a resource without validators: no tags, assumed to exist


def _not_modified(status: int | None) -> int | None:
    """304 passes through to the caller; 412 on a safe method is raised here."""
    if status == 412:
        raise precondition_failed()
    return status
