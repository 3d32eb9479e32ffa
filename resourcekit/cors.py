"""CORS (the Fetch standard's CORS protocol): which browser origins may call the site.

The site asks `CORS` for headers on every request, so everything that does not depend on the
request is computed once, at construction. A refused preflight is answered without CORS headers,
as the Fetch standard expects: the browser then blocks the real request itself.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping, Sequence
from typing import Any

from .headers import is_token

__all__ = ["CORS", "is_preflight"]

Headers = list[tuple[str, str]]

_ORIGIN = re.compile(
    r"([A-Za-z][A-Za-z0-9+.\-]*)://(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.\-_]+)(?::(\d{1,5}))?"
)
_DEFAULT_PORTS = {"http": "80", "https": "443"}
_SAFELISTED = ("Accept", "Accept-Language", "Content-Language")
_PREFLIGHT_VARY = ("Vary", "Origin, Access-Control-Request-Method, Access-Control-Request-Headers")
_VARY_ORIGIN: Headers = [("Vary", "Origin")]

DEFAULT_ALLOW_HEADERS = (
    "Content-Type",
    "Authorization",
    "If-Match",
    "If-None-Match",
    "Idempotency-Key",
    "Prefer",
)
DEFAULT_EXPOSE_HEADERS = (
    "ETag",
    "Location",
    "Link",
    "Retry-After",
    "RateLimit",
    "RateLimit-Policy",
    "Preference-Applied",
    "Idempotent-Replayed",
    "WWW-Authenticate",
)


def is_preflight(environ: Mapping[str, Any]) -> bool:
    """An ``OPTIONS`` request with ``Origin`` and ``Access-Control-Request-Method``."""
    return (
        environ.get("REQUEST_METHOD") == "OPTIONS"
        and bool(environ.get("HTTP_ORIGIN"))
        and bool(environ.get("HTTP_ACCESS_CONTROL_REQUEST_METHOD"))
    )


class CORS:
    """The origins allowed to read the site's responses from a browser, and how.

    ``origins`` are serialized origins (``https://app.example.com``, ``http://localhost:8080``:
    scheme, host and port, no path), matched case-insensitively; a default port is dropped, as
    browsers send none. ``"null"`` (sandboxed documents, ``file:`` pages) matches only when
    listed, except under a literal ``*``.

    ``"*"`` allows every origin, and makes the site public: every response carries
    ``Access-Control-Allow-Origin: *``, even to requests without ``Origin``, so a cache never
    hands a browser a copy without it (the Fetch standard's advice), and no ``Vary: Origin`` is
    needed; a literal ``*`` is readable by ``null`` origins too. ``"*"`` with
    ``allow_credentials`` is refused (``ValueError``): browsers refuse ``*`` with credentials, and
    echoing every origin instead would let any page read a signed-in user's data. List the origins
    that may send credentials.

    The CORS-safelisted request headers a browser may still list in a preflight (``Accept``,
    ``Accept-Language``, ``Content-Language``) are always allowed, beside ``allow_headers``.
    """

    is_preflight = staticmethod(is_preflight)

    def __init__(
        self,
        origins: Sequence[str],
        *,
        allow_credentials: bool = False,
        max_age: int = 600,
        allow_headers: Sequence[str] = DEFAULT_ALLOW_HEADERS,
        expose_headers: Sequence[str] = DEFAULT_EXPOSE_HEADERS,
    ) -> None:
        if isinstance(origins, str):
            origins = [origins]
        if not origins:
            raise ValueError("CORS needs at least one origin; use None to turn it off")
        if isinstance(max_age, bool) or not isinstance(max_age, int) or max_age < 0:
            raise ValueError(f"max_age must be a number of seconds, not {max_age!r}")
        self.any_origin = "*" in origins
        if self.any_origin and allow_credentials:
            raise ValueError(
                "CORS(['*'], allow_credentials=True) would let every site read responses with the"
                " user's credentials; list the origins allowed to send them"
            )
        self.origins = frozenset(_normalize_origin(o) for o in origins if o != "*")
        self.allow_credentials = allow_credentials
        self.max_age = max_age
        self.allow_headers = tuple(_header_names(allow_headers))
        self.expose_headers = tuple(_header_names(expose_headers))
        self._allowed_headers = frozenset(h.lower() for h in (*_SAFELISTED, *allow_headers))
        credentials = [("Access-Control-Allow-Credentials", "true")] if allow_credentials else []
        expose = [("Access-Control-Expose-Headers", ", ".join(self.expose_headers))]
        self._actual: Headers = [*credentials, *(expose if self.expose_headers else [])]
        self._preflight: Headers = [("Access-Control-Max-Age", str(max_age)), *credentials]
        self._wildcard_response: Headers = [("Access-Control-Allow-Origin", "*"), *self._actual]

    @classmethod
    def coerce(cls, value: CORS | Sequence[str] | None) -> CORS | None:
        """What ``Site(cors=...)`` takes: a `CORS`, a list of origins (or one), or None."""
        if value is None or isinstance(value, CORS):
            return value
        return cls(value)

    def allows(self, origin: str | None) -> bool:
        """Whether the ``Origin`` value may read responses."""
        if not origin:
            return False
        origin = origin.lower()
        return self.any_origin or origin in self.origins

    def preflight_headers(
        self, environ: Mapping[str, Any], allowed_methods: Sequence[str]
    ) -> Headers:
        """The headers of the answer to a preflight for a resource with ``allowed_methods``.

        A disallowed origin, method or request header gets only ``Vary``: a preflight fails by
        the absence of CORS headers, and the site answers 204 either way.
        """
        origin: str = environ.get("HTTP_ORIGIN") or ""
        method = environ.get("HTTP_ACCESS_CONTROL_REQUEST_METHOD", "")
        if not self.allows(origin) or method not in allowed_methods:
            return [_PREFLIGHT_VARY]
        requested = _split(environ.get("HTTP_ACCESS_CONTROL_REQUEST_HEADERS", ""))
        if not self._allowed_headers.issuperset(requested):
            return [_PREFLIGHT_VARY]
        headers = [
            ("Access-Control-Allow-Origin", "*" if self.any_origin else origin),
            ("Access-Control-Allow-Methods", ", ".join(allowed_methods)),
        ]
        if requested:
            headers.append(("Access-Control-Allow-Headers", ", ".join(requested)))
        return [*headers, *self._preflight, _PREFLIGHT_VARY]

    def response_headers(self, environ: Mapping[str, Any]) -> Headers:
        """The CORS headers of an actual (not preflight) response.

        ``Vary: Origin`` comes with every answer that depends on ``Origin``, allowed or not, so
        a shared cache does not hand one origin's answer to another.
        """
        if self.any_origin:
            return list(self._wildcard_response)
        origin: str = environ.get("HTTP_ORIGIN") or ""
        if not self.allows(origin):
            return list(_VARY_ORIGIN)
        return [("Access-Control-Allow-Origin", origin), *self._actual, *_VARY_ORIGIN]


def _normalize_origin(origin: str) -> str:
    """A configured origin in the form browsers send: lower case, without a default port."""
    if not isinstance(origin, str):
        raise ValueError(f"{origin!r} is not an origin")
    if origin.lower() == "null":
        return "null"
    match = _ORIGIN.fullmatch(origin)
    if not match:
        raise ValueError(
            f"{origin!r} is not an origin: write scheme://host[:port], without path or slash"
        )
    scheme, host, port = match[1].lower(), match[2].lower(), match[3]
    if host.startswith("["):
        try:
            ipaddress.IPv6Address(host[1:-1])
        except ValueError:
            raise ValueError(f"{origin!r} has an invalid IPv6 address") from None
    if port is not None and int(port) > 65535:
        raise ValueError(f"{origin!r} has an invalid port")
    if port is None or _DEFAULT_PORTS.get(scheme) == port:
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"


def _header_names(names: Sequence[str]) -> list[str]:
    if isinstance(names, str):
        raise ValueError("header names must be a sequence of names, not one string")
    for name in names:
        if not isinstance(name, str) or not is_token(name):
            raise ValueError(f"{name!r} is not a header name")
    return list(names)


def _split(value: str) -> list[str]:
    """The names of a comma-separated header list, in lower case, without empty items."""
    return [name for name in (part.strip().lower() for part in value.split(",")) if name]
