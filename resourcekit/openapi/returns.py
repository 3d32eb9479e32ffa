"""What a handler returns, as its return annotation and its route say: an object, an array,
nothing (``204``), or any of these."""

from __future__ import annotations

import enum
import types
import typing
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import webob

from ..pagination import Page
from ..results import Stream

if TYPE_CHECKING:
    from ..routing import Route

__all__ = ["Shape", "returned"]


class Shape(enum.Enum):
    """What a handler answers: one object, an array of them, or no content."""

    OBJECT = "object"
    ARRAY = "array"
    EMPTY = "empty"


_UNSAID: frozenset[Shape] = frozenset()
_EITHER = frozenset({Shape.OBJECT, Shape.ARRAY})


def returned(route: Route[Any], handler: Callable[..., Any]) -> frozenset[Shape]:
    """The shapes ``handler`` may return: its annotation's; without one, one object where the
    template ends in a field (``/stations/{id}`` names one item); else an object or an array."""
    shapes = annotated(handler)
    if shapes:
        return shapes
    last = route.segments[-1] if route.segments else None
    return frozenset({Shape.OBJECT}) if last is not None and last.converter else _EITHER


def annotated(handler: Callable[..., Any]) -> frozenset[Shape]:
    """The shapes the return annotation allows; none where it says nothing (absent, ``Any``,
    ``object``, a ``webob.Response``, or names that do not resolve)."""
    try:
        hints = typing.get_type_hints(handler)
    except (NameError, TypeError, AttributeError, SyntaxError):  # evaluating the user's text
        return _UNSAID
    return _shapes(hints["return"]) if "return" in hints else _UNSAID


def _shapes(annotation: Any) -> frozenset[Shape]:
    if annotation is type(None):
        return frozenset({Shape.EMPTY})
    origin = typing.get_origin(annotation)
    if origin is typing.Union or origin is types.UnionType:
        members = [_shapes(member) for member in typing.get_args(annotation)]
        return _UNSAID if _UNSAID in members else frozenset().union(*members)
    cls = origin or annotation
    if annotation is Any or cls is object or _subclass(cls, webob.Response):
        return _UNSAID
    many = _subclass(cls, (list, tuple, Sequence)) and not _subclass(cls, (str, bytes))
    if many or _subclass(cls, (Page, Stream)):
        return frozenset({Shape.ARRAY})
    return frozenset({Shape.OBJECT})  # a dict, a model, a `resourcekit.Result` of one


def _subclass(cls: Any, bases: type | tuple[type, ...]) -> bool:
    return isinstance(cls, type) and issubclass(cls, bases)
