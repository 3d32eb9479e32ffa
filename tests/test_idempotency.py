"""Idempotency keys (contract section 7): the store's atomic claims and the coordinator's checks.

Stores run on a `FakeClock`, so claims and results expire exactly when a test advances time.
"""

from __future__ import annotations

import pytest
import webob
from helpers import FakeClock
from marshmallow import Schema, fields

from resourcekit import Request, Resource, Site, errors
from resourcekit.idempotency import (
    REPLAYED_HEADER,
    BeginState,
    Idempotency,
    MemoryIdempotencyStore,
    MemoryStore,
    StoredResponse,
)
from resourcekit.testing import Client

CREATED = StoredResponse(201, (("Content-Type", "application/json"), ("Location", "/n/1")), b"{}")
DAY = 24 * 3600


def store(**options) -> tuple[MemoryIdempotencyStore, FakeClock]:
    clock = FakeClock()
    return MemoryIdempotencyStore(clock=clock, **options), clock


def post(body: bytes = b'{"title": "x"}', key: str | None = "k-1", **options) -> webob.Request:
    headers = {"Content-Type": "application/json"}
    if key is not None:
        headers["Idempotency-Key"] = key
    options.setdefault("method", "POST")
    return webob.Request.blank("/notes", headers=headers, body=body, **options)


# -- the store ----------------------------------------------------------------------------------
# What every store must do (start, replay, mismatch, races, release) is held to one contract for
# the memory and the Redis store in test_stores.py; here, what only the memory store shows.


def test_results_expire_after_their_ttl() -> None:
    s, clock = store()
    s.complete("k", CREATED, 10, token=s.begin("k", "fp", DAY).token)
    clock.advance(9.9)
    assert s.begin("k", "fp", DAY).state is BeginState.REPLAY
    clock.advance(0.1)
    assert s.begin("k", "other fp", DAY).state is BeginState.STARTED


def test_a_claim_lapses_at_the_key_ttl_when_that_is_shorter() -> None:
    s, clock = store(lock_ttl=30)
    s.begin("k", "fp", 5)
    clock.advance(5)
    assert s.begin("k", "fp", DAY).state is BeginState.STARTED  # this claim lasts lock_ttl
    clock.advance(29.9)
    assert s.begin("k", "fp", DAY).state is BeginState.IN_PROGRESS
    clock.advance(0.1)
    assert s.begin("k", "fp", DAY).state is BeginState.STARTED


def test_expired_entries_are_pruned() -> None:
    s, clock = store()
    for key in ["a", "b", "c"]:
        s.begin(key, "fp", DAY)
    s.complete("c", CREATED, DAY)
    clock.advance(61)  # the claims on a and b lapsed; c's result lives on
    s.begin("d", "fp", DAY)
    assert len(s) == 2
    assert s.begin("c", "fp", DAY).state is BeginState.REPLAY


def test_the_store_is_bounded() -> None:
    s, _ = store(max_keys=3)
    for i in range(100):
        s.begin(f"churn-{i}", "fp", DAY)
        assert len(s) <= 3
    assert len(s) == 3
    assert s.begin("churn-0", "fp", DAY).state is BeginState.STARTED  # the oldest went first
    assert s.begin("churn-99", "fp", DAY).state is BeginState.IN_PROGRESS
    with pytest.raises(ValueError, match="max_keys"):
        MemoryIdempotencyStore(max_keys=0)
    with pytest.raises(ValueError, match="lock_ttl"):
        MemoryIdempotencyStore(lock_ttl=0)


def test_stored_headers_become_a_tuple() -> None:
    response = StoredResponse(200, [("ETag", '"1"'), ("Vary", "Accept")], b"x")  # type: ignore[arg-type]
    assert response.headers == (("ETag", '"1"'), ("Vary", "Accept"))
    hash(response)


# -- the coordinator: keys ----------------------------------------------------------------------


def test_no_header_no_key() -> None:
    assert Idempotency().key_for(post(key=None), "alice POST /notes") is None


def test_keys_are_scoped_hashes() -> None:
    idem = Idempotency()
    key = idem.key_for(post(key="k-1"), "alice POST /notes")
    assert key is not None and len(key) == 64 and int(key, 16) >= 0
    assert idem.key_for(post(key="k-1"), "alice POST /notes") == key
    assert idem.key_for(post(key="k-2"), "alice POST /notes") != key
    assert idem.key_for(post(key="k-1"), "bob POST /notes") != key
    assert idem.key_for(post(key="1"), "alice POST /notes/k-") != idem.key_for(
        post(key="k-1"), "alice POST /notes/"
    )  # scope and value cannot run into each other


def test_keys_may_be_structured_field_strings() -> None:
    idem = Idempotency()
    assert idem.key_for(post(key='"k-1"'), "s") == idem.key_for(post(key="k-1"), "s")
    assert idem.key_for(post(key='"a\\"b"'), "s") == idem.key_for(post(key='a"b'), "s")


@pytest.mark.parametrize("value", ["", '""', "x" * 256, '"' + "x" * 256 + '"', "a\x01b", "caf\xe9"])
def test_invalid_keys_are_400(value: str) -> None:
    with pytest.raises(errors.BadRequest, match="1 to 255 printable ASCII"):
        Idempotency().key_for(post(key=value), "s")


def test_the_longest_and_shortest_keys_are_fine() -> None:
    for value in ["x", "~" * 255, "a key with spaces"]:
        assert Idempotency().key_for(post(key=value), "s") is not None


def test_a_custom_header() -> None:
    idem = Idempotency(header="X-Request-Id")
    req = webob.Request.blank("/notes", method="POST", headers={"X-Request-Id": "abc"})
    assert idem.key_for(req, "s") is not None
    assert idem.key_for(post(key="abc"), "s") is None


# -- the coordinator: fingerprints ---------------------------------------------------------------


def test_fingerprints_tell_requests_apart() -> None:
    fp = Idempotency().fingerprint
    base = fp(post())
    assert fp(post(key="another key")) == base  # the key itself is not part of the request
    assert len({
        base,
        fp(post(body=b'{"title": "y"}')),
        fp(post(method="PUT")),
        fp(webob.Request.blank("/notes?x=1", method="POST", body=b'{"title": "x"}',
                               headers={"Content-Type": "application/json"})),
        fp(webob.Request.blank("/notes/", method="POST", body=b'{"title": "x"}',
                               headers={"Content-Type": "application/json"})),
        fp(webob.Request.blank("/notes", method="POST", body=b'{"title": "x"}',
                               headers={"Content-Type": "application/json; charset=latin-1"})),
    }) == 6  # fmt: skip


def test_a_content_type_spelled_otherwise_is_the_same_request() -> None:
    def request(content_type: str) -> Request:
        req = Request.blank("/notes", method="POST", body=b'{"title": "x"}',
                            headers={"Content-Type": content_type})
        req._site = Site()
        return req

    fp = Idempotency().fingerprint
    same = {fp(request(t)) for t in (
        "application/json", "Application/JSON", "application/json; charset=utf-8",
        'application/json;charset="UTF-8"',
    )}
    assert len(same) == 1
    assert fp(request("application/json; charset=latin-1")) not in same
    assert fp(request("application/xml")) not in same


def test_fingerprints_read_resourcekit_bodies_within_the_limit() -> None:
    def request(body: bytes) -> Request:
        req = Request.blank("/notes", method="POST", body=body)
        req._site = Site(max_body_size=8)
        return req

    plain = webob.Request.blank("/notes", method="POST", body=b"12345678")
    assert Idempotency().fingerprint(request(b"12345678")) == Idempotency().fingerprint(plain)
    with pytest.raises(errors.PayloadTooLarge):
        Idempotency().fingerprint(request(b"123456789"))


# -- the coordinator: the flow ------------------------------------------------------------------


def test_the_flow_start_complete_replay() -> None:
    idem = Idempotency(MemoryIdempotencyStore(clock=FakeClock()))
    req = post()
    key, fingerprint = idem.key_for(req, "alice POST /notes"), idem.fingerprint(req)
    begin = idem.begin(key, fingerprint)
    assert begin.state is BeginState.STARTED
    with pytest.raises(errors.Conflict, match="still in progress") as in_progress:
        idem.begin(key, fingerprint)
    assert in_progress.value.status == 409
    idem.complete(key, begin, CREATED)
    replay = idem.begin(key, fingerprint)
    assert replay.state is BeginState.REPLAY
    assert idem.replayed(replay.response) == StoredResponse(
        201, (*CREATED.headers, ("Idempotent-Replayed", "true")), b"{}"
    )
    assert REPLAYED_HEADER == ("Idempotent-Replayed", "true")
    with pytest.raises(errors.UnprocessableContent, match="different request") as mismatch:
        idem.begin(key, idem.fingerprint(post(body=b'{"title": "other"}')))
    assert mismatch.value.status == 422


def test_server_errors_and_exceptions_release_the_key() -> None:
    idem = Idempotency(MemoryIdempotencyStore(clock=FakeClock()))
    begin = idem.begin("k", "fp")
    idem.complete("k", begin, StoredResponse(503, (), b"busy"))
    begin = idem.begin("k", "fp")
    assert begin.state is BeginState.STARTED
    idem.release("k", begin)
    begin = idem.begin("k", "fp")
    assert begin.state is BeginState.STARTED
    idem.complete("k", begin, StoredResponse(422, (), b"invalid"))  # a client error is an answer
    assert idem.begin("k", "fp").response == StoredResponse(422, (), b"invalid")


def test_the_coordinator_keeps_results_for_its_ttl() -> None:
    clock = FakeClock()
    idem = Idempotency(MemoryIdempotencyStore(clock=clock), ttl=3600)
    idem.complete("k", idem.begin("k", "fp"), CREATED)
    clock.advance(3599)
    assert idem.begin("k", "fp").state is BeginState.REPLAY
    clock.advance(1)
    assert idem.begin("k", "fp").state is BeginState.STARTED


def test_the_store_is_bounded_by_bytes() -> None:
    s, _ = store(max_bytes=10_000)
    big = StoredResponse(422, (("Content-Type", "application/problem+json"),), b"x" * 3000)
    for i in range(50):
        s.complete(f"big-{i}", big, DAY, token=s.begin(f"big-{i}", "fp", DAY).token)
        assert s.bytes <= 10_000
    assert len(s) == 3  # the three newest fit; the oldest went first
    assert s.begin("big-49", "fp", DAY).state is BeginState.REPLAY
    assert s.begin("big-0", "fp", DAY).state is BeginState.STARTED
    with pytest.raises(ValueError, match="max_bytes"):
        MemoryIdempotencyStore(max_bytes=0)


def test_the_byte_count_follows_every_way_out() -> None:
    s, clock = store()
    assert s.bytes == 0
    s.release("a", token=s.begin("a", "fp", DAY).token)
    s.complete("b", CREATED, DAY, token=s.begin("b", "fp", DAY).token)
    s.begin("c", "fp", DAY)
    assert s.bytes > CREATED.size
    clock.advance(DAY + 1)  # the result and the claim expire
    s.begin("d", "fp", DAY)
    s.release("d")
    assert len(s) == 0 and s.bytes == 0


def test_large_replies_are_not_kept() -> None:
    idem = Idempotency(MemoryIdempotencyStore(clock=FakeClock()), max_response_bytes=1000)
    begin = idem.begin("k", "fp")
    idem.complete("k", begin, StoredResponse(422, (), b"x" * 1001))
    assert idem.begin("k", "fp").state is BeginState.STARTED  # released: the retry runs
    assert idem.max_response_bytes == 1000
    assert Idempotency().max_response_bytes == 64 * 1024
    with pytest.raises(ValueError, match="max_response_bytes"):
        Idempotency(max_response_bytes=-1)


def test_huge_problems_do_not_fill_the_store() -> None:
    """Each request's 422 lists 20,000 errors (nearly 800 KB); none is kept, and each retry runs."""

    class Numbers(Schema):
        values = fields.List(fields.Int(), required=True)

    memory = MemoryIdempotencyStore()
    site = Site(idempotent=True, idempotency=Idempotency(memory))

    @site.route("/numbers")
    class NumbersResource(Resource):
        input_schema = Numbers

        def post(self, request: Request) -> dict[str, int]:
            return {"count": len(request.validated["values"])}

    client = Client(site)
    body = b'{"values": [' + b",".join([b'"x"'] * 20_000) + b"]}"
    sizes = []
    headers = {"Content-Type": "application/json"}
    for i in range(5):
        response = client.post(
            "/numbers", data=body, headers={**headers, "Idempotency-Key": f"k-{i}"}
        )
        assert response.status_code == 422
        sizes.append(len(response.body))
    assert min(sizes) > 10 * Idempotency().max_response_bytes
    assert memory.bytes == 0 and len(memory) == 0
    again = client.post("/numbers", data=body, headers={**headers, "Idempotency-Key": "k-0"})
    assert again.status_code == 422 and "Idempotent-Replayed" not in again.headers
    small = client.post("/numbers", json={"values": [1]}, headers={"Idempotency-Key": "ok"})
    assert small.status_code == 200 and len(memory) == 1


def test_memory_store_is_the_first_name_of_the_memory_idempotency_store() -> None:
    assert MemoryStore is MemoryIdempotencyStore
    assert isinstance(Idempotency().store, MemoryIdempotencyStore)
