"""Errors as RFC 9457 problem details: the error classes, extensions, headers, 500s, webob's."""

from __future__ import annotations

import logging

import pytest
import webob.exc
from helpers import assert_problem, media_type_of, xml_problem

from resourcekit import Resource, Site, errors
from resourcekit.testing import Client

ERROR_CLASSES = [
    ("BadRequest", 400, "Bad Request"),
    ("Unauthorized", 401, "Unauthorized"),
    ("Forbidden", 403, "Forbidden"),
    ("NotFound", 404, "Not Found"),
    ("MethodNotAllowed", 405, "Method Not Allowed"),
    ("NotAcceptable", 406, "Not Acceptable"),
    ("Conflict", 409, "Conflict"),
    ("Gone", 410, "Gone"),
    ("PreconditionFailed", 412, "Precondition Failed"),
    ("PayloadTooLarge", 413, "Content Too Large"),
    ("UnsupportedMediaType", 415, "Unsupported Media Type"),
    ("UnprocessableContent", 422, "Unprocessable Content"),
    ("PreconditionRequired", 428, "Precondition Required"),
    ("TooManyRequests", 429, "Too Many Requests"),
    ("InternalServerError", 500, "Internal Server Error"),
    ("ServiceUnavailable", 503, "Service Unavailable"),
]

SECRET = "s3cr3t-db-password"


def raising(exception: BaseException | type[BaseException], **site_options) -> Client:
    """A client for a site whose resource at /boom raises ``exception`` from GET and POST."""
    site = Site(**site_options)

    class Boom(Resource):
        def get(self, request):
            raise exception

        post = get

    site.add("/boom", Boom)
    return Client(site)


XML = "application/problem+xml"
JSON = "application/problem+json"


@pytest.mark.parametrize(("accept", "media_type"), [(None, JSON), ("application/xml", XML)])
@pytest.mark.parametrize(("name", "status", "title"), ERROR_CLASSES)
def test_error_classes(name: str, status: int, title: str, accept, media_type) -> None:
    cls = getattr(errors, name)
    assert issubclass(cls, errors.HTTPError)
    error = cls(f"detail of {name}")
    assert error.status == status
    headers = {"Accept": accept} if accept else {}
    response = raising(error).get("/boom", headers=headers)
    problem = assert_problem(response, status, media_type=media_type)
    assert problem == {
        "type": "about:blank",
        "title": title,
        "status": status,
        "detail": f"detail of {name}",
    }
    assert response.status == f"{status} {title}"


def test_every_error_class_is_exported() -> None:
    assert {name for name, _, _ in ERROR_CLASSES} | {"HTTPError"} <= set(errors.__all__)


@pytest.mark.parametrize(("accept", "media_type"), [(None, JSON), ("text/xml", XML)])
def test_http_error_with_extension_members(accept, media_type) -> None:
    error = errors.HTTPError(
        403,
        "Your current balance is 30, but that costs 50.",
        type="https://example.com/probs/out-of-credit",
        title="You do not have enough credit.",
        balance=30,
        accounts=["/account/12345", "/account/67890"],
    )
    headers = {"Accept": accept} if accept else {}
    response = raising(error).get("/boom", headers=headers)
    assert response.status_code == 403
    assert media_type_of(response) == media_type
    if media_type == JSON:
        problem = response.json
        assert problem["balance"] == 30
    else:
        problem = xml_problem(response.body)
        assert problem["balance"] == "30"
    assert problem["type"] == "https://example.com/probs/out-of-credit"
    assert problem["title"] == "You do not have enough credit."
    assert problem["status"] == 403
    assert problem["detail"] == "Your current balance is 30, but that costs 50."
    assert problem["accounts"] == ["/account/12345", "/account/67890"]


@pytest.mark.parametrize(("status", "title"), [(418, None), (451, "Unavailable For Legal Reasons")])
def test_http_error_any_status(status: int, title: str | None) -> None:
    response = raising(errors.HTTPError(status, "because")).get("/boom")
    problem = assert_problem(response, status)
    assert problem["detail"] == "because"
    if title:
        assert problem["title"] == title


def test_http_error_without_detail() -> None:
    response = raising(errors.Conflict()).get("/boom")
    assert response.status_code == 409
    assert response.json["title"] == "Conflict"
    assert response.json["detail"] == "Conflict"
    assert raising(errors.HTTPError(418)).get("/boom").json["detail"] == "I'm a Teapot"


@pytest.mark.parametrize("accept", ["application/json", "application/xml"])
def test_an_extra_member_the_format_cannot_hold_is_a_logged_500(
    accept: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="resourcekit"):
        response = raising(errors.Conflict("x", value=b"ab")).get(
            "/boom", headers={"Accept": accept, "X-Request-ID": "odd-1"}
        )
    kind = "application/problem+" + accept.rpartition("/")[2]
    problem = assert_problem(response, 500, media_type=kind)  # it checks the request id
    assert response.headers["X-Request-ID"] == "odd-1" and "value" not in problem
    assert any(r.exc_info for r in caplog.records)


def test_method_not_allowed_sets_allow() -> None:
    response = raising(errors.MethodNotAllowed("read only", allow=["GET", "HEAD"])).post("/boom")
    assert_problem(response, 405)
    assert response.headers["Allow"] == "GET, HEAD"


@pytest.mark.parametrize(
    ("error", "header", "value"),
    [
        (
            errors.Unauthorized("log in", headers={"WWW-Authenticate": 'Bearer realm="api"'}),
            "WWW-Authenticate",
            'Bearer realm="api"',
        ),
        (errors.TooManyRequests("slow down", headers=[("Retry-After", "30")]), "Retry-After", "30"),
        (
            errors.ServiceUnavailable("maintenance", headers={"Retry-After": "120"}),
            "Retry-After",
            "120",
        ),
        (errors.HTTPError(409, "taken", headers={"X-Conflict": "name"}), "X-Conflict", "name"),
    ],
)
def test_headers_are_sent_with_the_problem(error, header: str, value: str) -> None:
    response = raising(error).get("/boom")
    assert_problem(response, error.status)
    assert response.headers[header] == value


# -- unexpected exceptions ----------------------------------------------------------------------


@pytest.mark.parametrize(("accept", "media_type"), [(None, JSON), ("application/xml", XML)])
def test_unexpected_exception_is_a_quiet_500(caplog, accept, media_type) -> None:
    headers = {"Accept": accept} if accept else {}
    with caplog.at_level(logging.ERROR, logger="resourcekit"):
        response = raising(RuntimeError(SECRET)).get("/boom", headers=headers)
    problem = assert_problem(response, 500, media_type=media_type)
    assert problem["title"] == "Internal Server Error"
    for leak in (b"Traceback", SECRET.encode(), b"RuntimeError", b"test_errors.py"):
        assert leak not in response.body
    records = [r for r in caplog.records if r.name == "resourcekit" and r.exc_info]
    assert len(records) == 1
    (record,) = records
    assert record.levelno >= logging.ERROR
    assert record.exc_info[0] is RuntimeError
    assert str(record.exc_info[1]) == SECRET


def test_failure_while_rendering_is_a_500(caplog) -> None:
    site = Site()

    class Odd(Resource):
        def get(self, request):
            return {"value": object()}  # no schema, and nothing can encode it

    site.add("/odd", Odd)
    with caplog.at_level(logging.ERROR, logger="resourcekit"):
        response = Client(site).get("/odd")
    assert_problem(response, 500)
    assert b"Traceback" not in response.body
    assert any(r.name == "resourcekit" and r.exc_info for r in caplog.records)


@pytest.mark.parametrize("accept", [None, "application/xml"])
def test_debug_shows_the_traceback(caplog, accept) -> None:
    headers = {"Accept": accept} if accept else {}
    with caplog.at_level(logging.ERROR, logger="resourcekit"):
        response = raising(RuntimeError(SECRET), debug=True).get("/boom", headers=headers)
    assert response.status_code == 500
    assert b"Traceback (most recent call last)" in response.body
    assert f"RuntimeError: {SECRET}".encode() in response.body
    assert any(r.name == "resourcekit" and r.exc_info for r in caplog.records)


def test_expected_errors_are_not_logged_as_failures(caplog) -> None:
    with caplog.at_level(logging.ERROR, logger="resourcekit"):
        raising(errors.NotFound("nothing")).get("/boom")
    assert not [r for r in caplog.records if r.name == "resourcekit" and r.exc_info]


# -- webob's exceptions -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("exception", "status", "title"),
    [
        (webob.exc.HTTPNotFound("no such thing"), 404, "Not Found"),
        (webob.exc.HTTPForbidden(), 403, "Forbidden"),
        (webob.exc.HTTPConflict("already there"), 409, "Conflict"),
        (webob.exc.HTTPServiceUnavailable(), 503, "Service Unavailable"),
    ],
)
@pytest.mark.parametrize(("accept", "media_type"), [(None, JSON), ("application/xml", XML)])
def test_webob_errors_become_problems(exception, status, title, accept, media_type) -> None:
    headers = {"Accept": accept} if accept else {}
    response = raising(exception).get("/boom", headers=headers)
    problem = assert_problem(response, status, media_type=media_type)
    assert problem["title"] == title
    if exception.detail:
        assert problem["detail"] == exception.detail


def test_webob_method_not_allowed_keeps_allow() -> None:
    exception = webob.exc.HTTPMethodNotAllowed(headers={"Allow": "GET"})
    response = raising(exception).post("/boom")
    assert_problem(response, 405)
    assert response.headers["Allow"] == "GET"


@pytest.mark.parametrize(
    ("exception", "status", "location"),
    [
        (webob.exc.HTTPFound, 302, "/elsewhere"),
        (webob.exc.HTTPSeeOther, 303, "/other"),
        (webob.exc.HTTPMovedPermanently, 301, "/moved"),
        (webob.exc.HTTPTemporaryRedirect, 307, "https://example.com/tmp"),
    ],
)
def test_webob_redirects_pass_through(exception, status: int, location: str) -> None:
    response = raising(exception(location=location)).get(
        "/boom", headers={"Accept": "application/xml"}
    )
    assert response.status_code == status
    assert response.headers["Location"] in (location, "http://localhost" + location)
    assert "problem" not in (media_type_of(response) or "")
