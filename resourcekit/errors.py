"""HTTP errors, raised by handlers and by the site, answered as RFC 9457 problem details.

Raise any of these from a handler (or from a schema hook, a precondition, an authenticator) and the
site turns it into a ``problem+json`` or ``problem+xml`` body, negotiated like any other response.
Keyword arguments beyond the standard members become extension members of the problem.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from http import HTTPStatus
from typing import Any

from .reply import Headers, header_list

__all__ = [
    "BadRequest",
    "ConfigurationError",
    "Conflict",
    "ContentTooLarge",
    "Forbidden",
    "Gone",
    "HTTPError",
    "InternalServerError",
    "MethodNotAllowed",
    "NotAcceptable",
    "NotFound",
    "PayloadTooLarge",
    "PreconditionFailed",
    "PreconditionRequired",
    "ServiceUnavailable",
    "TooManyRequests",
    "Unauthorized",
    "UnprocessableContent",
    "UnsupportedMediaType",
    "flatten_messages",
]


class ConfigurationError(TypeError, ValueError):
    """A site or resource declared wrongly, raised when it is registered, never per request.

    The message names the resource and the attribute. It is a `TypeError` and a `ValueError`,
    as the checks it replaces raised either.
    """


class HTTPError(Exception):
    """An HTTP error response: ``status``, a human ``detail`` and optional extension members.

    ``headers`` are sent with the problem (``Allow``, ``WWW-Authenticate``, ``Retry-After``...).
    ``type`` is a URI naming the problem type; ``about:blank`` means "see the status code".
    """

    status: int = 500

    def __init__(
        self,
        status: int,
        detail: str | None = None,
        *,
        headers: Headers | None = None,
        type: str = "about:blank",
        title: str | None = None,
        **extra: Any,
    ) -> None:
        self.status = status
        self.detail = detail
        self.type = type
        self.title = title or _phrase(status)
        self.headers = header_list(headers)
        self.extra = extra
        super().__init__(f"{status} {self.title}" + (f": {detail}" if detail else ""))

    def to_problem(self) -> dict[str, Any]:
        """The RFC 9457 problem object, standard members first; an error raised without a
        detail has its title as one, so every problem has the same four members."""
        problem: dict[str, Any] = {
            "type": self.type,
            "title": self.title,
            "status": self.status,
            "detail": self.title if self.detail is None else self.detail,
        }
        problem.update(self.extra)
        return problem


_RFC9110_PHRASES = {413: "Content Too Large", 422: "Unprocessable Content"}


def _phrase(status: int) -> str:
    """The reason phrase, with RFC 9110's names where older ones linger in ``http.HTTPStatus``."""
    try:
        return _RFC9110_PHRASES.get(status) or HTTPStatus(status).phrase
    except ValueError:
        return "Error"


STATUS_LINES = {s.value: f"{s.value} {_phrase(s.value)}" for s in HTTPStatus}
"""``"422 Unprocessable Content"`` and so on, for ``start_response``."""


class _StatusError(HTTPError):
    """An `HTTPError` whose status is fixed by its class."""

    def __init__(self, detail: str | None = None, **kwargs: Any) -> None:
        super().__init__(self.status, detail, **kwargs)


class BadRequest(_StatusError):
    status = 400


class Unauthorized(_StatusError):
    status = 401


class Forbidden(_StatusError):
    status = 403


class NotFound(_StatusError):
    status = 404


class MethodNotAllowed(_StatusError):
    status = 405

    def __init__(self, detail: str | None = None, *, allow: Iterable[str] = (), **kwargs: Any):
        headers = [*kwargs.pop("headers", ()), ("Allow", ", ".join(allow))]
        super().__init__(detail, headers=headers, **kwargs)


class NotAcceptable(_StatusError):
    status = 406


class Conflict(_StatusError):
    status = 409


class Gone(_StatusError):
    status = 410


class PreconditionFailed(_StatusError):
    status = 412


class ContentTooLarge(_StatusError):
    """413, RFC 9110's Content Too Large."""

    status = 413


PayloadTooLarge = ContentTooLarge
"""The name RFC 7231 gave 413, kept for code written against it."""


class UnsupportedMediaType(_StatusError):
    status = 415


class UnprocessableContent(_StatusError):
    """422: the content parsed but did not validate; ``errors`` maps field paths to messages."""

    status = 422


class PreconditionRequired(_StatusError):
    status = 428


class TooManyRequests(_StatusError):
    status = 429


class InternalServerError(_StatusError):
    status = 500


class ServiceUnavailable(_StatusError):
    status = 503


def flatten_messages(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    """Turn marshmallow's nested error dict into ``{"field.path": [messages]}``.

    Nested schemas and list items become dotted paths (``readings.0.value``); errors about the whole
    document (marshmallow's ``_schema``) keep that key.
    """
    if isinstance(messages, Mapping):
        flat: dict[str, list[str]] = {}
        for key, value in messages.items():
            path = f"{prefix}.{key}" if prefix else str(key)
            flat.update(flatten_messages(value, path))
        return flat
    if isinstance(messages, list | tuple) and any(isinstance(m, Mapping) for m in messages):
        flat = {}
        for message in messages:
            flat.update(flatten_messages(message, prefix))
        return flat
    items = messages if isinstance(messages, list | tuple) else [messages]
    return {prefix or "_schema": [str(m) for m in items]}
