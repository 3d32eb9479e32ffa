"""The media handlers of a site that names none."""

from __future__ import annotations

from importlib.util import find_spec

from . import MediaHandler
from .formdata import FormHandler, MultipartHandler
from .html import HTMLHandler
from .json import JSONHandler
from .xml import XMLHandler

__all__ = ["default_handlers"]


def default_handlers() -> tuple[MediaHandler, ...]:
    """JSON (the default), XML and HTML representations; JSON, XML and urlencoded form bodies,
    and ``multipart/form-data`` where the ``multipart`` package (extra ``forms``) is installed."""
    handlers: list[MediaHandler] = [JSONHandler(), XMLHandler(), HTMLHandler(), FormHandler()]
    if find_spec("multipart") is not None:
        handlers.append(MultipartHandler())
    return tuple(handlers)
