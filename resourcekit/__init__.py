"""resourcekit: class-based REST resources on WSGI; JSON and XML from one marshmallow schema.

The names below are imported on first use (PEP 562), so ``import resourcekit`` alone, or a
program importing one submodule, does not pay for the rest.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from . import auth, errors, ratelimit
    from .cors import CORS
    from .errors import ConfigurationError
    from .hooks import Hook
    from .hosts import AllowedHosts
    from .idempotency import Idempotency
    from .media import MediaHandler
    from .media.html import HTMLHandler
    from .media.json import JSONHandler
    from .media.xml import XMLHandler
    from .pagination import Page
    from .proxies import TrustedProxies
    from .ratelimit import RateLimit
    from .reply import Reply
    from .request import Request
    from .resource import Resource
    from .results import Created, Result, Stream
    from .routing import RouteError
    from .site import Site

__version__ = "0.1.0"

_HOMES = {
    "CORS": "cors",
    "AllowedHosts": "hosts",
    "ConfigurationError": "errors",
    "Created": "results",
    "HTMLHandler": "media.html",
    "Hook": "hooks",
    "Idempotency": "idempotency",
    "JSONHandler": "media.json",
    "MediaHandler": "media",
    "Page": "pagination",
    "RateLimit": "ratelimit",
    "Reply": "reply",
    "Request": "request",
    "Resource": "resource",
    "Result": "results",
    "RouteError": "routing",
    "Site": "site",
    "Stream": "results",
    "TrustedProxies": "proxies",
    "XMLHandler": "media.xml",
}
_SUBMODULES = ("auth", "errors", "ratelimit")

__all__ = [
    "CORS",
    "AllowedHosts",
    "ConfigurationError",
    "Created",
    "HTMLHandler",
    "Hook",
    "Idempotency",
    "JSONHandler",
    "MediaHandler",
    "Page",
    "RateLimit",
    "Reply",
    "Request",
    "Resource",
    "Result",
    "RouteError",
    "Site",
    "Stream",
    "TrustedProxies",
    "XMLHandler",
    "auth",
    "errors",
    "ratelimit",
]


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    globals()[name] = value  # found once; later lookups are plain attribute reads
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
