"""resourcekit: class-based REST resources on WSGI; JSON and XML from one marshmallow schema."""

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
from .results import Created, Result
from .routing import RouteError
from .site import Site

__version__ = "0.1.0"

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
    "TrustedProxies",
    "XMLHandler",
    "auth",
    "errors",
    "ratelimit",
]
