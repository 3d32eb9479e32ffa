"""Tokens and quoted strings: the field-value syntax of RFC 9110 section 5.6.

Header names, ``Forwarded`` parameters and authentication schemes are tokens; realms, policy
names and parameter values are quoted strings. Every module that reads or writes them uses these
definitions, so a header is quoted the same way wherever the site sends it.
"""

from __future__ import annotations

import re

__all__ = ["KEPT_LENGTH", "TCHARS", "add_vary", "is_token", "quote", "unquote"]

KEPT_LENGTH = 256
"""The longest header value a cache keyed by one keeps (the site's other such caches use it)."""
TCHARS = r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+"
"""A token (``1*tchar``) as a regular expression, to embed in larger ones."""
_TOKEN = re.compile(TCHARS)
_QUOTED_PAIR = re.compile(r"\\(.)")
_NOT_QDTEXT = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
"""What a quoted string cannot hold even escaped: the controls but horizontal tab."""


def is_token(value: str) -> bool:
    """Whether ``value`` is a token: a header name, say."""
    return _TOKEN.fullmatch(value) is not None


def quote(value: str) -> str:
    """``value`` as a quoted string; ValueError for a control character, which none can hold."""
    if _NOT_QDTEXT.search(value):
        raise ValueError(f"{value!r} may not contain control characters")
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def unquote(inner: str) -> str:
    """What a quoted string's content (between its quotes) stands for: each ``\\x`` is ``x``."""
    return _QUOTED_PAIR.sub(r"\1", inner)


def add_vary(headers: list[tuple[str, str]], names: str) -> None:
    """``names`` (a ``Vary`` value) added to the reply's ``Vary`` field, one field for all:
    a client reading headers as a mapping sees the first or the last only."""
    for index, (name, value) in enumerate(headers):
        if name == "Vary":
            if value.strip() == "*":
                return
            have = {part.strip().lower() for part in value.split(",")}
            more = [n.strip() for n in names.split(",") if n.strip().lower() not in have]
            if more:
                headers[index] = ("Vary", ", ".join([value, *more]))
            return
    headers.append(("Vary", names))
