"""Summaries, descriptions and tags, from the resources' and handlers' docstrings."""

from __future__ import annotations

import inspect
from typing import Any

__all__ = ["default_summary", "summary", "tag"]

_VERBS = {"GET": "Read", "HEAD": "Read", "POST": "Add to", "PUT": "Replace",
          "PATCH": "Update", "DELETE": "Delete", "OPTIONS": "Methods of", "QUERY": "Query"}


def summary(doc: str | None, default: str | None = None) -> dict[str, str]:
    """``summary`` (plain text) from a docstring's first paragraph, ``description`` (CommonMark,
    where reST's double backticks become single ones) from the rest."""
    text = inspect.cleandoc(doc) if doc else ""
    first, _, rest = text.partition("\n\n")
    line = " ".join(first.replace("`", "").split()) or default
    result = {"summary": line} if line else {}
    if rest.strip():
        result["description"] = rest.strip().replace("``", "`")
    return result


def default_summary(name: str, method: str) -> str:
    """``Read Stations``, for a handler without a docstring."""
    return f"{_VERBS.get(method, method)} {name}"


def tag(name: str, resource: Any) -> dict[str, str]:
    """The route's tag, described by the resource class's docstring."""
    doc = type(resource).__doc__
    text = " ".join(inspect.cleandoc(doc).replace("``", "`").split()) if doc else ""
    return {"name": name, "description": text} if text else {"name": name}
