"""Response headers the site sends, described once and referenced by name."""

from __future__ import annotations

from typing import Any

__all__ = ["header", "rate_limit_headers"]

_HEADERS: dict[str, dict[str, Any]] = {
    "ETag": {"description": "The entity tag of the representation.",
             "schema": {"type": "string", "pattern": '^(W/)?".*"$'}},
    "Last-Modified": {"description": "When the resource last changed (an HTTP-date).",
                      "schema": {"type": "string"}},
    "Cache-Control": {"description": "How caches may keep the representation.",
                      "schema": {"type": "string"}},
    "Location": {"description": "The URL of the created resource.",
                 "schema": {"type": "string", "format": "uri"}},
    "Link": {"description": "RFC 8288 links to the `first`, `prev`, `next` and `last` pages, "
                            "when the handler returned a page.",
             "schema": {"type": "string"}},
    "Allow": {"description": "The methods the resource supports.", "schema": {"type": "string"}},
    "RateLimit": {"description": "The client's remaining quota (draft-ietf-httpapi-ratelimit-"
                                 "headers).", "schema": {"type": "string"}},
    "RateLimit-Policy": {"description": "The quota policy.", "schema": {"type": "string"}},
    "Retry-After": {"description": "Seconds to wait before retrying.",
                    "schema": {"type": "integer", "minimum": 1}},
    "WWW-Authenticate": {"description": "A challenge per accepted scheme.",
                         "schema": {"type": "string"}},
    "Idempotent-Replayed": {"description": "`true` when this is the stored response to an "
                                           "earlier request with the same `Idempotency-Key`.",
                            "schema": {"type": "string", "enum": ["true"]}},
    "Preference-Applied": {"description": "`return=minimal` when the body was left out as "
                                          "`Prefer` asked.", "schema": {"type": "string"}},
}


def header(name: str, *, required: bool = False) -> dict[str, Any]:
    """The Header Object of ``name``, a copy the caller may change."""
    found = dict(_HEADERS[name])
    if required:
        found["required"] = True
    return found


def rate_limit_headers(*, required: bool) -> dict[str, Any]:
    """``RateLimit`` and ``RateLimit-Policy``: on every reply (``required``), or on a 429."""
    return {name: header(name, required=required) for name in ("RateLimit", "RateLimit-Policy")}
