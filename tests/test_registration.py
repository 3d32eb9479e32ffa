"""Wrong declarations fail at `Site.add` (or `Site(...)`) with a `ConfigurationError` naming the
resource and the attribute; each of these used to register fine and answer 500 to every request.
"""

from __future__ import annotations

from typing import Any

import pytest

from resourcekit import ConfigurationError, Resource, Result, Site, auth, errors
from resourcekit.ratelimit import RateLimit


def _register(template: str, **namespace: Any) -> None:
    Site().add(template, type("Notes", (Resource,), namespace))


def _get(self, request, note_id):
    return {"id": note_id}


@pytest.mark.parametrize(
    ("template", "namespace", "message"),
    [
        ("/notes/{note_id}", {"get": lambda self, request: {}}, r"Notes\.get.*note_id"),
        ("/notes/{note_id}", {"get": lambda self, request, id: {}}, r"Notes\.get"),
        ("/notes", {"get": lambda self: {}}, r"Notes\.get"),
        ("/notes", {"post": lambda self, request, body: {}}, r"Notes\.post"),
        ("/notes/{note_id}", {"get": _get, "etag": lambda self, request: "v1"}, r"Notes\.etag"),
        ("/notes/{note_id}", {"get": _get, "last_modified": lambda self: None},
         r"Notes\.last_modified"),
    ],
    ids=["no-field", "wrong-field", "no-request", "extra-arg", "etag", "last-modified"],
)
def test_signatures_must_take_the_request_and_the_templates_fields(
    template: str, namespace: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigurationError, match=message):
        _register(template, **namespace)


def test_signatures_may_take_fields_as_keywords_or_kwargs() -> None:
    _register("/notes/{note_id}", get=lambda self, request, **fields: fields)
    _register("/notes/{note_id}", get=lambda self, request, note_id, extra=1: {})
    _register("/notes/{note_id}", get=_get, etag=lambda self, request, note_id: "v")
    _register("/files/{rest:path}", get=lambda self, request, rest: {})


def test_async_handlers_are_refused() -> None:
    async def get(self, request):
        return {}

    with pytest.raises(ConfigurationError, match=r"Notes\.get is async"):
        _register("/notes", get=get)


@pytest.mark.parametrize("name", ["psot", "Get", "POST", "ptach", "deltee", "tup"])
def test_a_misspelled_handler_beside_a_real_one_is_refused(name: str) -> None:
    with pytest.raises(ConfigurationError, match=rf"Notes\.{name} looks like a misspelled"):
        _register("/notes", get=lambda self, request: [], **{name: lambda self, request: {}})


def test_helper_methods_with_other_names_are_fine() -> None:
    _register("/notes", get=lambda self, request: [], posts=lambda self: [], gets=lambda self: 1,
              set=lambda self: 1, _psot=lambda self: 1)


def _bearer() -> auth.Bearer:
    return auth.Bearer(auth.tokens({"t": "alice"}))


@pytest.mark.parametrize(
    ("attribute", "value", "message"),
    [
        ("authentication", "bearer", r"Notes\.authentication must be a list of authenticators"),
        ("authentication", ["bearer"], r"'bearer' is not one"),
        ("authentication", {"gte": []}, r"unknown methods: \['gte'\]"),
        ("authentication", {"get": "bearer"}, r"Notes\.authentication\['get'\]"),
        ("rate_limit", "10/minute", r"Notes\.rate_limit must be a resourcekit\.ratelimit"),
        ("idempotent", "yes", r"Notes\.idempotent must be bool or None"),
        ("require_preconditions", 1, r"Notes\.require_preconditions must be bool"),
        ("cache_control", 60, r"Notes\.cache_control must be str or None"),
        ("permissions", auth.authenticated, r"Notes\.permissions must be a list"),
        ("permissions", ["admin"], r"'admin' is not one"),
        ("vary", "Accept", r"Notes\.vary must be a list of header names"),
        ("hooks", "timing", r"Notes\.hooks must be a list"),
    ],
)
def test_attributes_must_have_their_documented_types(
    attribute: str, value: Any, message: str
) -> None:
    with pytest.raises(ConfigurationError, match=message):
        _register("/notes", get=lambda self, request: [], **{attribute: value})


def test_right_attributes_pass() -> None:
    _register(
        "/notes",
        get=lambda self, request: [],
        authentication={"get": [], "*": [_bearer()]},
        rate_limit=RateLimit("10/minute"),
        idempotent=True,
        require_preconditions=True,
        cache_control="max-age=60",
        permissions=[auth.authenticated_or_read_only],
        vary=("Accept", "Accept-Language"),
    )


def test_site_defaults_are_checked_too() -> None:
    with pytest.raises(ConfigurationError, match=r"Site\.authentication"):
        Site(authentication="bearer")  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match=r"Site\.rate_limit"):
        Site(rate_limit="10/minute")  # type: ignore[arg-type]


def test_configuration_errors_are_type_and_value_errors() -> None:
    assert issubclass(ConfigurationError, TypeError)
    assert issubclass(ConfigurationError, ValueError)
    assert errors.ConfigurationError is ConfigurationError
    with pytest.raises(ConfigurationError, match="defines none of get"):
        Site().add("/x", type("Empty", (Resource,), {}))
    with pytest.raises(ConfigurationError, match="neither a Resource"):
        Site().add("/x", object)  # type: ignore[arg-type]


@pytest.mark.parametrize("status", ["201", 201.0, True, 99, 600, None])
def test_result_statuses_are_checked_when_made(status: Any) -> None:
    if status is None:
        assert Result({}).status == 200
        return
    with pytest.raises(TypeError, match="status must be an int from 100 to 599"):
        Result({}, status=status)


def test_nothing_is_registered_when_a_declaration_fails() -> None:
    site = Site()
    with pytest.raises(ConfigurationError):
        site.add("/notes/{note_id}", type("Notes", (Resource,), {"get": lambda self, r: {}}))
    assert site.routes == []
    site.add("/notes/{note_id}", type("Notes", (Resource,), {"get": _get}))
    assert [r.template for r in site.routes] == ["/notes/{note_id}"]
