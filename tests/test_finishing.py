"""How a reply is finished, in one place: framing headers, 304s, 201 validators, the 406
fallback's hooks, identity-scoped idempotency keys, and error handlers along the MRO."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
import webob
from helpers import assert_problem

from resourcekit import (
    ConfigurationError,
    Created,
    Hook,
    Reply,
    Resource,
    Result,
    Site,
    auth,
    errors,
)
from resourcekit.testing import Client


class Trace(Hook):
    def __init__(self) -> None:
        self.seen: list[str] = []

    def before(self, request):
        self.seen.append(f"before {request.method}")

    def after(self, request, reply):
        self.seen.append(f"after {reply.status}")


def _site(trace: Trace | None = None, **options: Any) -> Site:
    site = Site(**options)
    notes: dict[int, dict[str, Any]] = {1: {"id": 1, "title": "one", "version": 1}}

    @site.route("/notes")
    class Notes(Resource):
        hooks = [trace] if trace else []

        def get(self, request):
            if "text/csv" in request.headers.get("Accept", ""):
                return webob.Response("id\n1\n", content_type="text/csv")
            return list(notes.values())

        def post(self, request):
            note_id = max(notes) + 1
            notes[note_id] = {"id": note_id, "title": "new", "version": 1}
            return Created(notes[note_id], location=request.url_for(Note, note_id=note_id))

    @site.route("/notes/{note_id:int}")
    class Note(Resource):
        def etag(self, request, note_id):
            return f"v{notes[note_id]['version']}" if note_id in notes else None

        def get(self, request, note_id):
            return notes[note_id]

        def put(self, request, note_id):
            return Created(notes[note_id], location=None)

        def delete(self, request, note_id):
            return Result(None, status=204)

    @site.route("/empty")
    class Empty(Resource):
        def get(self, request):
            return Result(None, status=204)

        def post(self, request):
            return Result(None, status=202)

    @site.route("/fixed")
    class Fixed(Resource):
        vary = ()

        def etag(self, request):
            return "f1"

        def get(self, request):
            response = webob.Response(b"{}", content_type="application/json")
            response.etag = "f1"  # a passthrough carries its own validators
            return response

    return site


# -- framing --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "path"), [("GET", "/empty"), ("DELETE", "/notes/1")])
def test_a_204_has_no_content_length(method: str, path: str) -> None:
    response = Client(_site()).request(method, path)
    assert response.status_code == 204
    assert "Content-Length" not in response.headers and response.body == b""


def test_an_empty_result_of_another_status_says_length_zero() -> None:
    response = Client(_site()).post("/empty")
    assert response.status_code == 202 and response.headers["Content-Length"] == "0"


def test_every_reply_has_one_length_that_is_its_bodys() -> None:
    client = Client(_site())
    for response in [client.get("/notes"), client.get("/nowhere"), client.get("/fixed"),
                     client.get("/notes", headers={"Accept": "text/csv"})]:
        assert response.headers.getall("Content-Length") == [str(len(response.body))]
        assert len(response.headers.getall("Date")) == 1


def test_head_sends_the_length_of_the_get() -> None:
    client = Client(_site())
    assert client.head("/notes").headers["Content-Length"] == str(len(client.get("/notes").body))


def test_an_after_hook_that_changes_the_body_gets_a_true_length() -> None:
    class Shout(Hook):
        def after(self, request, reply: Reply) -> None:
            reply.body = reply.body.upper() + b"!!"

    response = Client(_site(hooks=[Shout()])).get("/notes/1")
    assert response.headers["Content-Length"] == str(len(response.body))
    assert response.body.endswith(b"!!")


def test_created_without_location_sends_no_location() -> None:
    response = Client(_site()).put("/notes/1")
    assert response.status_code == 201 and "Location" not in response.headers
    with pytest.raises(TypeError, match="location"):
        Created({}, location=42)  # type: ignore[arg-type]


# -- 304 ------------------------------------------------------------------------------------------


def test_a_304_carries_the_vary_of_its_200() -> None:
    client = Client(_site())
    ok = client.get("/notes/1")
    assert ok.headers["Vary"] == "Accept"
    again = client.get("/notes/1", headers={"If-None-Match": ok.headers["ETag"]})
    assert again.status_code == 304 and again.headers.getall("Vary") == ["Accept"]
    fixed = client.get("/fixed")
    assert "Vary" not in fixed.headers
    unchanged = client.get("/fixed", headers={"If-None-Match": fixed.headers["ETag"]})
    assert unchanged.status_code == 304 and "Vary" not in unchanged.headers
    listed = client.get("/notes")
    cached = client.get("/notes", headers={"If-None-Match": listed.headers["ETag"]})
    assert cached.status_code == 304 and cached.headers.getall("Vary") == ["Accept"]
    assert "Content-Length" not in cached.headers


# -- 201 validators -------------------------------------------------------------------------------


def test_a_201_carries_the_new_resources_validators() -> None:
    client = Client(_site())
    created = client.post("/notes")
    assert created.status_code == 201
    fetched = client.get(created.headers["Location"])
    assert created.headers["ETag"] == fetched.headers["ETag"]
    changed = client.put(created.headers["Location"], headers={"If-Match": created.headers["ETag"]})
    assert changed.status_code == 201  # a conditional write right after the POST, no GET


def test_a_201_to_elsewhere_has_no_validators() -> None:
    site = Site()

    @site.route("/jobs")
    class Jobs(Resource):
        def post(self, request):
            return Created({"id": 1}, location="https://other.example/jobs/1")

    assert "ETag" not in Client(site).post("/jobs").headers


# -- the 406 fallback -----------------------------------------------------------------------------


def test_the_406_fallback_runs_the_resources_hooks() -> None:
    trace = Trace()
    response = Client(_site(trace)).get("/notes", headers={"Accept": "text/csv"})
    assert response.status_code == 200 and response.body == b"id\n1\n"
    assert trace.seen == ["before GET", "after 200"]


# -- idempotency keys scoped by identity ----------------------------------------------------------


class User:  # no __repr__ of its own: its default names a memory address
    def __init__(self, user_id: int) -> None:
        self.id = user_id


@dataclasses.dataclass
class Account:
    name: str


class Anonymous:
    pass


def _keyed_site(identity: Any, runs: list[int]) -> Site:
    site = Site(idempotent=True)

    def verify(token: str) -> Any:
        return identity(token) if callable(identity) else identity

    @site.route("/orders")
    class Orders(Resource):
        authentication = [auth.Bearer(verify)]

        def post(self, request):
            runs.append(1)
            return Created({"n": len(runs)}, location=f"/orders/{len(runs)}")

    return site


@pytest.mark.parametrize(
    "identity", [lambda t: User(7), lambda t: Account("a"), lambda t: "alice", lambda t: 42]
)
def test_a_key_replays_for_identities_made_afresh_each_request(identity: Any) -> None:
    runs: list[int] = []
    client = Client(_keyed_site(identity, runs))
    headers = {"Authorization": "Bearer t", "Idempotency-Key": "k-1"}
    first, second = client.post("/orders", headers=headers), client.post("/orders", headers=headers)
    assert first.status_code == second.status_code == 201
    assert second.headers["Idempotent-Replayed"] == "true" and len(runs) == 1


def test_two_users_never_share_a_key() -> None:
    runs: list[int] = []
    client = Client(_keyed_site(lambda token: User(int(token)), runs))
    for token in ("1", "2"):
        client.post("/orders", headers={"Authorization": f"Bearer {token}", "Idempotency-Key": "k"})
    assert len(runs) == 2


def test_an_identity_without_a_stable_key_is_a_clear_server_error(caplog) -> None:
    runs: list[int] = []
    client = Client(_keyed_site(lambda token: Anonymous(), runs))
    response = client.post("/orders", headers={"Authorization": "Bearer t", "Idempotency-Key": "k"})
    assert_problem(response, 500)
    assert runs == []
    assert "has no stable key" in caplog.text
    assert auth.identity_key(None) == "-"
    assert auth.identity_key(User(3)) == "User.id:3"
    with pytest.raises(ConfigurationError):
        auth.identity_key(Anonymous())


# -- error handlers -------------------------------------------------------------------------------


class StoreError(Exception):
    pass


class NoRow(StoreError):
    pass


def _failing_site() -> Site:
    site = Site()

    @site.route("/rows/{name}")
    class Rows(Resource):
        def get(self, request, name):
            raise {"missing": NoRow, "broken": StoreError, "other": KeyError}[name]("x")

    return site


def test_error_handlers_are_found_along_the_mro() -> None:
    site = _failing_site()
    site.add_error_handler(StoreError, lambda request, exc: errors.ServiceUnavailable("store down"))
    client = Client(site)
    assert assert_problem(client.get("/rows/broken"), 503)["detail"] == "store down"
    assert assert_problem(client.get("/rows/missing"), 503)["detail"] == "store down"
    site.add_error_handler(NoRow, lambda request, exc: errors.NotFound("no such row"))
    assert assert_problem(client.get("/rows/missing"), 404)["detail"] == "no such row"
    assert assert_problem(client.get("/rows/broken"), 503)
    assert_problem(client.get("/rows/other"), 500)


def test_an_error_handler_may_raise_or_answer_with_a_reply() -> None:
    site = _failing_site()

    def raise_gone(request, exc):
        raise errors.Gone("it went")

    site.add_error_handler(NoRow, raise_gone)
    site.add_error_handler(StoreError, lambda request, exc: Reply(503, [("Retry-After", "5")]))
    client = Client(site)
    assert assert_problem(client.get("/rows/missing"), 410)["detail"] == "it went"
    busy = client.get("/rows/broken")
    assert busy.status_code == 503 and busy.headers["Retry-After"] == "5"


def test_a_failing_error_handler_is_a_500(caplog) -> None:
    site = _failing_site()
    site.add_error_handler(NoRow, lambda request, exc: 1 / 0)
    site.add_error_handler(StoreError, lambda request, exc: "not an answer")
    client = Client(site)
    assert_problem(client.get("/rows/missing"), 500)
    assert_problem(client.get("/rows/broken"), 500)
    assert "ZeroDivisionError" in caplog.text and "returned 'not an answer'" in caplog.text


def test_error_handlers_are_checked_when_added() -> None:
    with pytest.raises(ConfigurationError, match="not an exception class"):
        Site().add_error_handler(int, lambda request, exc: None)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="not callable"):
        Site().add_error_handler(KeyError, "handler")  # type: ignore[arg-type]
