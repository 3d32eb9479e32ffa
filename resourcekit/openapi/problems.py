"""Problem responses (RFC 9457): one component per status, each with its own example, and the
statuses each operation can give."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .. import errors
from ..methods import BODY_METHODS, CONDITIONAL_WRITES, IDEMPOTENCY_KEYED, QUERY_STRING_READS
from .headers import header, rate_limit_headers
from .parameters import conditional
from .schemas import problem_schema

if TYPE_CHECKING:
    from apispec import APISpec

    from ..endpoint import Endpoint
    from ..routing import Route
    from .content import Media

__all__ = ["PROBLEMS", "Problem", "components", "names", "statuses"]


@dataclass(frozen=True)
class Problem:
    """A problem status as documented: its component name, when it happens, and an example
    ``detail`` (with extension members) as the site would write it."""

    name: str
    description: str
    detail: str
    extra: dict[str, Any] = field(default_factory=dict)

    def example(self, status: int) -> dict[str, Any]:
        """The problem document the site sends, built as the site builds it."""
        return errors.HTTPError(status, self.detail, **self.extra).to_problem()


PROBLEMS: dict[int, Problem] = {
    400: Problem("BadRequest", "The request is malformed: a query string the query schema "
                 "rejects, a body that does not parse or is missing, an invalid "
                 "`Idempotency-Key`, or an API version the site does not have.",
                 "the query string does not match the schema",
                 {"errors": {"limit": ["Must be greater than or equal to 1 and less than or "
                                       "equal to 100."]}}),
    401: Problem("Unauthorized", "Credentials are missing or were refused; `WWW-Authenticate` "
                 "names every accepted scheme.", "authentication required"),
    403: Problem("Forbidden", "A permission check refused the request.",
                 "permission denied: authenticated"),
    404: Problem("NotFound", "No such resource: a path field that does not convert, or nothing "
                 "there.", "no station 42"),
    406: Problem("NotAcceptable", "None of the media types the resource has is acceptable to "
                 "`Accept`; `available` lists them.",
                 "none of the media types this resource has is acceptable",
                 {"available": ["application/json", "application/xml"]}),
    409: Problem("Conflict", "A request with this `Idempotency-Key` is still in progress.",
                 "a request with this Idempotency-Key is still in progress; retry later"),
    412: Problem("PreconditionFailed", "`If-Match`, `If-None-Match` or `If-Unmodified-Since` "
                 "failed: the resource has changed since the client saw it.",
                 "the resource has changed since the client last saw it: fetch it again and "
                 "retry"),
    413: Problem("ContentTooLarge", "The body is larger than the site accepts.",
                 "the body may be at most 1048576 bytes"),
    415: Problem("UnsupportedMediaType", "The body's `Content-Type` (or its charset) cannot be "
                 "read; `accepted` lists the media types that can.",
                 "cannot read text/plain", {"accepted": ["application/json", "application/xml"]}),
    422: Problem("UnprocessableContent", "The body parsed but the schema rejected it (`errors` "
                 "maps each field path to its messages), or the `Idempotency-Key` was used with "
                 "another request.", "the body does not match the schema",
                 {"errors": {"name": ["Missing data for required field."]}}),
    428: Problem("PreconditionRequired", "This resource takes changes only with `If-Match` (or "
                 "`If-Unmodified-Since`).", "this resource takes changes only with If-Match (or "
                 "If-Unmodified-Since): send the ETag you last received"),
    429: Problem("TooManyRequests", "The client is over its rate limit; retry after "
                 "`Retry-After` seconds.", "rate limit exceeded: 600 per minute"),
    500: Problem("InternalServerError", "The server failed; the problem shows no more, its "
                 "`request_id` finds the server's log record.",
                 "the server failed to answer this request"),
}
"""The statuses a site can document; ``405`` and ``501`` are left out: they answer methods an
operation is not."""


def components(
    spec: APISpec, media: Media, *, rate_limited: bool, every: dict[str, Any] | None = None
) -> None:
    """The ``Problem`` schema and one response per status, written only where referenced;
    ``every`` adds headers every response carries (``API-Version``)."""
    spec.components.schema("Problem", problem_schema())
    ref = {"$ref": "#/components/schemas/Problem"}
    for status, problem in PROBLEMS.items():
        content = media.content(ref, media.problems, example=problem.example(status))
        response: dict[str, Any] = {"description": problem.description, "content": content}
        headers = {**_headers(status, rate_limited=rate_limited), **(every or {})}
        if headers:
            response["headers"] = headers
        spec.components.response(problem.name, response, lazy=True)


def names(route: Route[Any], method: str, versioned: bool = False) -> dict[str, str]:
    """Each status the operation can give, by the name of its component (apispec refs it)."""
    return {str(s): PROBLEMS[s].name for s in sorted(statuses(route, method, versioned))}


def statuses(route: Route[Any], method: str, versioned: bool = False) -> set[int]:
    """The problem statuses an operation can answer, from what its route and endpoint declare;
    every one can be ``500``, and on a ``versioned`` site ``400`` (a version it does not
    have)."""
    endpoint = route.target
    has_fields = any(s.name for s in route.segments)
    found = {400, 500} if versioned else {500}  # any handler may fail
    if method == "OPTIONS":
        return found | {404} if has_fields else found
    found.add(406)
    if has_fields:
        found.add(404)
    if method in QUERY_STRING_READS and endpoint.query_schema is not None:
        found.add(400)
    if method in BODY_METHODS or method == "QUERY":
        found |= {400, 413, 415, 422}
    found |= _guard_statuses(endpoint, method)
    if method in CONDITIONAL_WRITES and conditional(endpoint):
        found.add(412)
        if endpoint.require_preconditions:
            found.add(428)
    if method in IDEMPOTENCY_KEYED and endpoint.idempotent:
        found |= {400, 409, 422}
    return found


def _guard_statuses(endpoint: Endpoint, method: str) -> set[int]:
    """401 with authentication (and for anonymous clients a permission refuses), 403, 429."""
    found = set()
    every = any(endpoint.authenticators.values())
    if endpoint.authenticators.get(method) or (endpoint.permissions and every):
        found.add(401)
    if endpoint.permissions:
        found.add(403)
    if endpoint.rate_limit is not None:
        found.add(429)
    return found


def _headers(status: int, *, rate_limited: bool) -> dict[str, Any]:
    found: dict[str, Any] = {}
    if status == 401:
        found["WWW-Authenticate"] = header("WWW-Authenticate", required=True)
    if status == 429:
        found["Retry-After"] = header("Retry-After", required=True)
    if rate_limited:
        found.update(rate_limit_headers(required=status == 429))
    return found
