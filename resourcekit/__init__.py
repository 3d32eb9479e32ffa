"""resourcekit: class-based REST resources on WSGI; JSON and XML from one marshmallow schema."""

from . import auth, errors, ratelimit
from .cors import CORS
from .errors import ConfigurationError
from .hooks import Hook
from .idempotency import Idempotency
from .pagination import Page
from .proxies import TrustedProxies
from .reply import Reply
from .request import Request
from .resource import Resource
from .results import Created, Result
from .site import Site

__version__ = "0.1.0"

__all__ = [
    "CORS",
    "ConfigurationError",
    "Created",
    "Hook",
    "Idempotency",
    "Page",
    "Reply",
    "Request",
    "Resource",
    "Result",
    "Site",
    "TrustedProxies",
    "auth",
    "errors",
    "ratelimit",
]
