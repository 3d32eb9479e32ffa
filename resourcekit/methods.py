"""The HTTP methods, grouped by what the site does with them; one definition for every module."""

from __future__ import annotations

__all__ = [
    "BODY_METHODS",
    "CONDITIONAL_WRITES",
    "HANDLER_METHODS",
    "IDEMPOTENCY_KEYED",
    "KNOWN_METHODS",
    "QUERY_STRING_READS",
    "SAFE_METHODS",
]

HANDLER_METHODS = ("get", "post", "put", "patch", "delete", "query")
"""The HTTP methods a resource implements by defining a method of that name in lower case."""

KNOWN_METHODS = frozenset(
    {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT", "QUERY"}
)
"""The methods this server knows (a resource lacking one answers 405); any other is 501.
``QUERY`` is RFC 10008's safe method with a body."""

SAFE_METHODS = frozenset({"GET", "HEAD", "QUERY"})
"""Read-only methods with a representation: conditions on them give 304, caching applies."""

QUERY_STRING_READS = frozenset({"GET", "HEAD"})
"""The methods whose ``query_schema`` loads the query string; ``QUERY``'s loads its body."""

BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
"""The methods whose request body is loaded through the input schema."""

CONDITIONAL_WRITES = frozenset({"PUT", "PATCH", "DELETE"})
"""The writes ``Resource.require_preconditions`` refuses (428) without ``If-Match``."""

IDEMPOTENCY_KEYED = frozenset({"POST", "PATCH"})
"""The methods that are not idempotent by definition, so ``Idempotency-Key`` applies."""
