"""What a resource declares, checked when it is registered, so that wrong usage fails at
`resourcekit.Site.add` with a message naming the resource and the attribute, instead of
answering 500 to every request.

Handlers and validator methods must take the request and the template's fields as keywords,
and be plain functions (WSGI calls them synchronously: an ``async def`` would return an
unawaited coroutine). Settings must have the types they are documented with: a string where a
list of authenticators belongs would be iterated one character at a time.
"""

from __future__ import annotations

import datetime as dt
import inspect
from collections.abc import Callable, Collection, Iterable, Mapping
from typing import Any

from .auth import Authenticator
from .errors import ConfigurationError
from .methods import HANDLER_METHODS, KNOWN_METHODS
from .ratelimit import RateLimit
from .resource import Resource

__all__ = ["check_authentication", "check_callable", "check_rate_limit", "check_resource"]

_METHOD_KEYS = frozenset({m.lower() for m in KNOWN_METHODS} | {"*"})


def check_resource(resource: Resource, fields: Collection[str]) -> None:
    """Every declaration of ``resource`` bound to a template with ``fields``."""
    resource_class = type(resource)
    owner = resource_class.__name__
    for name in HANDLER_METHODS:
        method = getattr(resource, name, None)
        if method is not None:
            check_callable(f"{owner}.{name}", method, fields)
    for name in ("etag", "last_modified"):
        if getattr(resource_class, name) is not getattr(Resource, name):
            check_callable(f"{owner}.{name}", getattr(resource, name), fields)
    _check_misspelled(resource_class)
    check_authentication(f"{owner}.authentication", resource_class.authentication)
    check_rate_limit(f"{owner}.rate_limit", resource_class.rate_limit)
    _check_type(f"{owner}.idempotent", resource_class.idempotent, (bool, type(None)))
    _check_type(f"{owner}.require_preconditions", resource_class.require_preconditions, bool)
    _check_type(f"{owner}.cache_control", resource_class.cache_control, (str, type(None)))
    _check_items(f"{owner}.permissions", resource_class.permissions, callable, "callables")
    _check_items(f"{owner}.vary", resource_class.vary, _is_token, "header names")
    _check_items(f"{owner}.hooks", resource_class.hooks, _anything, "hooks")
    _check_type(f"{owner}.since", resource_class.since, (str, type(None)))
    for name in ("deprecated", "sunset"):
        moment = getattr(resource_class, name)
        aware = isinstance(moment, dt.datetime) and moment.utcoffset() is not None
        if moment is not None and not aware:
            raise ConfigurationError(f"{owner}.{name} must be an aware datetime or None, "
                                     f"not {moment!r}")
    if resource_class.sunset is not None and resource_class.deprecated is None:
        raise ConfigurationError(f"{owner}.sunset needs {owner}.deprecated: when it was deprecated")


def check_callable(what: str, function: Any, fields: Collection[str] = ()) -> None:
    """``function`` is synchronous and takes ``(request, **fields)``."""
    if not callable(function):
        raise ConfigurationError(f"{what} must be callable, not {function!r}")
    if inspect.iscoroutinefunction(function) or inspect.isasyncgenfunction(function):
        raise ConfigurationError(f"{what} is async: WSGI handlers are plain functions (def)")
    try:
        signature = inspect.signature(function)
    except (TypeError, ValueError):  # a builtin without a signature: trust it
        return
    try:
        signature.bind("request", **dict.fromkeys(fields))
    except TypeError as exc:
        wanted = ", ".join(["request", *sorted(fields)])
        raise ConfigurationError(
            f"{what}{signature} cannot be called as ({wanted}): {exc}"
        ) from None


def check_authentication(what: str, value: Any) -> None:
    """None, a sequence of authenticators, or a mapping of method names to sequences."""
    if value is None:
        return
    if isinstance(value, Mapping):
        unknown = sorted(set(value) - _METHOD_KEYS)
        if unknown:
            raise ConfigurationError(f"{what} names unknown methods: {unknown}")
        for method, authenticators in value.items():
            _check_items(f"{what}[{method!r}]", authenticators, _is_authenticator, "authenticators")
        return
    _check_items(what, value, _is_authenticator, "authenticators")


def check_rate_limit(what: str, value: Any) -> None:
    """None or a `RateLimit`: a rate string alone names no store and no key."""
    if value is not None and not isinstance(value, RateLimit):
        raise ConfigurationError(
            f"{what} must be a resourcekit.ratelimit.RateLimit or None, not {value!r}"
            " (e.g. RateLimit(\"10/minute\"))"
        )


def _check_type(what: str, value: Any, kinds: type | tuple[type, ...]) -> None:
    if not isinstance(value, kinds):
        names = " or ".join(
            "None" if k is type(None) else k.__name__
            for k in (kinds if isinstance(kinds, tuple) else (kinds,))
        )
        raise ConfigurationError(f"{what} must be {names}, not {value!r}")


def _check_items(what: str, value: Any, valid: Callable[[Any], bool], kind: str) -> None:
    """A list or tuple (never a string, which would be iterated by character) of ``kind``."""
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        raise ConfigurationError(f"{what} must be a list of {kind}, not {value!r}")
    for item in value:
        if not valid(item):
            raise ConfigurationError(f"{what} must be a list of {kind}; {item!r} is not one")


def _check_misspelled(resource_class: type) -> None:
    """A method whose name is a handler's in the wrong case or with letters swapped (``Get``,
    ``psot``) would never be called: refuse it rather than answer 405."""
    for name, value in _own_attributes(resource_class):
        if not callable(value) or name in HANDLER_METHODS or name.startswith("_"):
            continue
        letters = sorted(name.lower())
        for method in HANDLER_METHODS:
            if letters == sorted(method):  # a handler's name in another case, or shuffled
                raise ConfigurationError(
                    f"{resource_class.__name__}.{name} looks like a misspelled {method}():"
                    f" handlers are lower-case {', '.join(HANDLER_METHODS)}"
                )


def _own_attributes(resource_class: type) -> Iterable[tuple[str, Any]]:
    """Attributes defined by the user's classes, not by `Resource` or `object`."""
    for cls in resource_class.__mro__:
        if cls in (Resource, object):
            break
        yield from vars(cls).items()


def _is_authenticator(value: Any) -> bool:
    """An `Authenticator`, or anything with its ``authenticate(request)``."""
    return isinstance(value, Authenticator) or callable(getattr(value, "authenticate", None))


def _is_token(value: Any) -> bool:
    return isinstance(value, str) and bool(value) and value.replace("-", "").isalnum()


def _anything(value: Any) -> bool:
    return True
