"""Success responses: statuses, headers and bodies, from what each method does and what the
handler returns (`resourcekit.openapi.returns`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..methods import BODY_METHODS, IDEMPOTENCY_KEYED, SAFE_METHODS
from .headers import header, rate_limit_headers
from .returns import Shape, returned

if TYPE_CHECKING:
    from ..endpoint import Endpoint
    from ..routing import Route
    from .content import Media

__all__ = ["successes"]

_NOT_MODIFIED = "Not modified: the client's copy (`If-None-Match`, `If-Modified-Since`) is current."
_ONE = frozenset({Shape.OBJECT})  # what writes return: the resource as it now is


def successes(media: Media, route: Route[Endpoint], method: str) -> dict[str, Any]:
    """The ``2xx`` (and ``304``) responses of ``method`` on ``route``, by status."""
    endpoint = route.target
    if method == "OPTIONS":
        allow = {"Allow": header("Allow", required=True)}
        return {"204": _described("The methods the resource supports, in `Allow`.", allow)}
    if method in SAFE_METHODS:
        return _read(media, route, method)
    if method == "DELETE":
        return {"204": _described("Deleted.", _write_headers(endpoint, method))}
    if method == "POST":
        return {"201": _created(media, endpoint)}
    return _replaced(media, endpoint, method)


def _created(media: Media, endpoint: Endpoint) -> dict[str, Any]:
    headers = {"Location": header("Location", required=True),
               **_write_headers(endpoint, "POST")}
    text = "Created; the body is left out under `Prefer: return=minimal`."
    return {**_described(text, headers), "content": media.output(endpoint, _ONE)}


def _replaced(media: Media, endpoint: Endpoint, method: str) -> dict[str, Any]:
    """``PUT``/``PATCH``: the new state, or nothing where ``Prefer`` asked for no body."""
    headers = {**_validator_headers(endpoint, required=False), **_write_headers(endpoint, method)}
    done = _described("The resource as it now is.", headers)
    minimal = _described("Done, and `Prefer: return=minimal` asked for no body.", headers)
    return {"200": {**done, "content": media.output(endpoint, _ONE)}, "204": minimal}


def _read(media: Media, route: Route[Endpoint], method: str) -> dict[str, Any]:
    """``GET``: the representation (``HEAD``: its headers only, no content), ``304``, and
    ``204`` where the handler may return ``None``."""
    endpoint = route.target
    shapes = returned(route, endpoint.handlers[method])
    validators = {**_validator_headers(endpoint, required=True), **_rate_headers(endpoint)}
    responses: dict[str, Any] = {}
    bodies = shapes - {Shape.EMPTY}
    if bodies:
        link = {"Link": header("Link")} if Shape.ARRAY in bodies else {}
        if method == "HEAD":
            ok = _described("The headers a `GET` would send.", {**validators, **link})
        else:
            ok = {**_described("The representation.", {**validators, **link}),
                  "content": media.output(endpoint, bodies)}
        responses["200"] = ok
    if Shape.EMPTY in shapes:
        responses["204"] = _described("No content.", _rate_headers(endpoint))
    responses["304"] = _described(_NOT_MODIFIED, validators)
    return responses


def _validator_headers(endpoint: Endpoint, *, required: bool) -> dict[str, Any]:
    """``ETag`` is on every ``GET`` (made from the body where the resource has no ``etag``),
    but for a streamed export, whose bytes are not known before it is sent."""
    headers: dict[str, Any] = {}
    streamed = any(handler.streams for handler in endpoint.negotiator.handlers)
    if required or endpoint.etag:
        headers["ETag"] = header("ETag", required=required and not streamed)
    if endpoint.last_modified:
        headers["Last-Modified"] = header("Last-Modified")
    if required and endpoint.cache_control:
        headers["Cache-Control"] = header("Cache-Control", required=True)
    return headers


def _write_headers(endpoint: Endpoint, method: str) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    if method in IDEMPOTENCY_KEYED and endpoint.idempotent:
        headers["Idempotent-Replayed"] = header("Idempotent-Replayed")
    if method in BODY_METHODS:
        headers["Preference-Applied"] = header("Preference-Applied")
    return {**headers, **_rate_headers(endpoint)}


def _rate_headers(endpoint: Endpoint) -> dict[str, Any]:
    return rate_limit_headers(required=True) if endpoint.rate_limit is not None else {}


def _described(description: str, headers: dict[str, Any]) -> dict[str, Any]:
    """A response object; ``headers`` only where there are some."""
    if headers:
        return {"description": description, "headers": headers}
    return {"description": description}
