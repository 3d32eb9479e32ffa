"""resourcekit: class-based REST resources on WSGI; JSON and XML from one marshmallow schema."""

from . import errors
from .pagination import Page
from .request import Request
from .resource import Resource
from .results import Created, Result
from .site import Site

__version__ = "0.1.0"

__all__ = ["Created", "Page", "Request", "Resource", "Result", "Site", "errors"]
