"""Response compression (contract section 11): codings per Accept-Encoding, Vary, ETag variants."""

from __future__ import annotations

import gzip

import brotli
import pytest
import webob
from backports import zstd
from conftest import served
from helpers import http_request

from resourcekit import Resource, Site
from resourcekit.compression import Compression, compressible
from resourcekit.testing import Client

DECODE = {"gzip": gzip.decompress, "br": brotli.decompress, "zstd": zstd.decompress}
ITEMS = [{"id": i, "name": f"item {i}", "tags": ["a", "b"]} for i in range(100)]


def varies(response) -> set[str]:
    return {v.strip().lower() for v in response.headers.get("Vary", "").split(",") if v.strip()}


def make_site(**options: object) -> Site:
    site = Site(compression=options.pop("compression", True), **options)  # type: ignore[arg-type]

    @site.route("/items")
    class Items(Resource):
        def get(self, request):
            return ITEMS

    @site.route("/small")
    class Small(Resource):
        def get(self, request):
            return {"ok": True}

    @site.route("/tagged")
    class Tagged(Resource):
        def etag(self, request):
            return "v7"

        def get(self, request):
            return ITEMS

        def put(self, request):
            return None

    @site.route("/weak")
    class Weak(Resource):
        def etag(self, request):
            return 'W/"w1"'

        def get(self, request):
            return ITEMS

    @site.route("/png")
    class Png(Resource):
        def get(self, request):
            return webob.Response(body=b"\x89PNG" + bytes(5000), content_type="image/png")

    @site.route("/missing")
    class Missing(Resource):
        def get(self, request):
            from resourcekit import errors

            raise errors.NotFound("x" * 2000)

    return site


@pytest.fixture(scope="module")
def client() -> Client:
    return Client(make_site())


def identity_body(client: Client, path: str = "/items") -> bytes:
    return client.get(path).body


@pytest.mark.parametrize("coding", ["gzip", "br", "zstd"])
def test_each_coding_decodes_to_the_identity_body(client, coding):
    plain = identity_body(client)
    response = client.get("/items", headers={"Accept-Encoding": coding})
    assert response.headers["Content-Encoding"] == coding
    assert "accept-encoding" in varies(response)
    assert int(response.headers["Content-Length"]) == len(response.body) < len(plain) / 4
    assert DECODE[coding](response.body) == plain


@pytest.mark.parametrize(
    ("accept_encoding", "expected"),
    [
        ("gzip, deflate, br, zstd", "zstd"),  # equal q: the site's order
        ("gzip;q=0.5, br;q=0.9", "br"),
        ("zstd;q=0.1, gzip;q=0.9", "gzip"),
        ("zstd;q=0, br;q=0, *", "gzip"),
        ("*", "zstd"),
        ("*;q=0", None),
        ("gzip;q=0", None),
        ("identity;q=0", None),  # refuses identity, names no coding: identity is still sent
        ("identity", None),
        ("deflate, compress", None),
        ("", None),
        ("gzip;;q=x,,", None),  # does not parse: the identity body
        ("GZIP", "gzip"),
    ],
)
def test_q_values_choose_the_coding(client, accept_encoding, expected):
    response = client.get("/items", headers={"Accept-Encoding": accept_encoding})
    assert response.headers.get("Content-Encoding") == expected
    assert "accept-encoding" in varies(response)


@pytest.mark.parametrize(
    ("accept_encoding", "expected"),
    [
        ("gzip;q=0.5, identity", None),  # identity ranks higher
        ("identity;q=1, br;q=0.1", None),
        ("br;q=0.1, identity", None),  # whatever the order they are listed in
        ("gzip, identity;q=0.5", "gzip"),
        ("identity;q=0, gzip;q=0.1", "gzip"),
        ("*;q=0.5, identity", None),  # identity named: it outranks the wildcard's codings
        ("identity;q=0.5, *;q=0.9", "zstd"),
        ("*;q=0.5", "zstd"),  # identity gets the wildcard's q: a tie, so the coding
        ("gzip;q=0.5, identity;q=0.5", "gzip"),  # a tie: the coding, the smaller body
        ("gzip;q=0.5", "gzip"),  # identity not named does not compete
        ("IDENTITY;q=0.9, gzip;q=0.8", None),
        ("identity;q=0, gzip;q=0", None),  # nothing acceptable: identity is still sent
        ("identity;q=0, deflate", None),
    ],
)
def test_the_q_value_of_identity_ranks_with_the_codings(client, accept_encoding, expected):
    response = client.get("/items", headers={"Accept-Encoding": accept_encoding})
    assert response.status_code == 200
    assert response.headers.get("Content-Encoding") == expected
    assert "accept-encoding" in varies(response)
    if expected is None:
        assert response.body == identity_body(client)
    else:
        assert DECODE[expected](response.body) == identity_body(client)


def test_identity_preferred_keeps_the_identity_tag(client):
    """An uncoded reply chosen over a coding carries the identity ``ETag``, not a variant."""
    plain = client.get("/tagged")
    preferred = client.get("/tagged", headers={"Accept-Encoding": "gzip;q=0.5, identity"})
    assert preferred.headers["ETag"] == plain.headers["ETag"]
    assert "accept-encoding" in varies(preferred)


def test_the_choice_is_the_same_when_remembered():
    """`Compression.choose` keeps its answers per header: a second ask answers the same."""
    compression = Compression(codings=("gzip",))
    for _ in range(2):
        assert compression.choose("gzip;q=0.5, identity") is None
        assert compression.choose("gzip, identity;q=0.5") == "gzip"
        assert compression.choose("gzip;q=0.1, *;q=0.5") is None  # identity by the wildcard


def test_no_accept_encoding_is_the_identity_body(client):
    response = client.get("/items")
    assert "Content-Encoding" not in response.headers
    assert "accept-encoding" in varies(response)


def test_small_and_non_compressible_bodies_are_sent_as_they_are(client):
    small = client.get("/small", headers={"Accept-Encoding": "gzip"})
    assert "Content-Encoding" not in small.headers
    assert "accept-encoding" in varies(small)  # the type varies, its size does not
    png = client.get("/png", headers={"Accept-Encoding": "gzip"})
    assert "Content-Encoding" not in png.headers
    assert "accept-encoding" not in varies(png)
    assert png.body.startswith(b"\x89PNG")


def test_min_size_is_a_knob():
    site = make_site(compression=Compression(min_size=10))
    response = Client(site).get("/small", headers={"Accept-Encoding": "gzip"})
    assert response.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(response.body) == b'{"ok":true}'
    big = Client(make_site(compression=Compression(min_size=100_000)))
    assert "Content-Encoding" not in big.get("/items", headers={"Accept-Encoding": "gzip"}).headers


def test_codings_and_levels_are_knobs():
    site = make_site(compression=Compression(codings=("gzip",), levels={"gzip": 9}))
    client = Client(site)
    response = client.get("/items", headers={"Accept-Encoding": "zstd, br, gzip;q=0.1"})
    assert response.headers["Content-Encoding"] == "gzip"
    assert response.body == gzip.compress(client.get("/items").body, 9, mtime=0)


def test_problems_are_compressed_too(client):
    response = client.get("/missing", headers={"Accept-Encoding": "gzip"})
    assert response.status_code == 404
    assert response.headers["Content-Encoding"] == "gzip"
    assert b"x" * 2000 in gzip.decompress(response.body)


def test_compression_is_off_by_default():
    client = Client(make_site(compression=False))
    response = client.get("/items", headers={"Accept-Encoding": "gzip"})
    assert "Content-Encoding" not in response.headers
    assert varies(response) == {"accept"}


def test_head_sends_the_headers_of_the_coded_get(client):
    get = client.get("/items", headers={"Accept-Encoding": "br"})
    head = client.head("/items", headers={"Accept-Encoding": "br"})
    assert head.body == b""
    for name in ("Content-Encoding", "Content-Length", "ETag", "Vary"):
        assert head.headers[name] == get.headers[name]


def test_compressible_types():
    for kind in ("application/json", "application/problem+json", "text/html; charset=utf-8",
                 "application/xml", "application/vnd.api+json", "text/csv", "image/svg+xml"):
        assert compressible(kind), kind
    for kind in ("image/png", "application/octet-stream", "application/zip", "video/mp4", None):
        assert not compressible(kind), kind


# -- ETag variants and conditional requests ------------------------------------------------------


@pytest.mark.parametrize("path", ["/items", "/tagged"])  # a tag from the body; from etag()
def test_each_coding_has_its_own_strong_tag(client, path):
    tags = {
        coding: client.get(path, headers={"Accept-Encoding": coding}).headers["ETag"]
        for coding in ("identity", "gzip", "br", "zstd")
    }
    base = tags["identity"].strip('"')
    assert tags == {"identity": f'"{base}"', **{c: f'"{base}-{c}"' for c in DECODE}}


@pytest.mark.parametrize("path", ["/items", "/tagged"])
@pytest.mark.parametrize("held", ["identity", "gzip", "br", "zstd"])
@pytest.mark.parametrize("asking", ["identity", "gzip", "zstd"])
def test_if_none_match_with_any_variant_is_304(client, path, held, asking):
    etag = client.get(path, headers={"Accept-Encoding": held}).headers["ETag"]
    response = client.get(path, headers={"Accept-Encoding": asking, "If-None-Match": etag})
    assert response.status_code == 304
    assert response.body == b""
    assert response.headers["ETag"] == etag  # the variant the client holds (RFC 9111 4.3.4)
    assert varies(response) == {"accept", "accept-encoding"}
    assert "Content-Encoding" not in response.headers


def test_a_stale_variant_is_200(client):
    response = client.get(
        "/tagged", headers={"Accept-Encoding": "gzip", "If-None-Match": '"v6-gzip", "v7-xz"'}
    )
    assert response.status_code == 200
    assert response.headers["ETag"] == '"v7-gzip"'


@pytest.mark.parametrize("coding", ["gzip", "br", "zstd"])
def test_if_match_with_a_coded_variant_passes(client, coding):
    etag = client.get("/tagged", headers={"Accept-Encoding": coding}).headers["ETag"]
    assert client.put("/tagged", headers={"If-Match": etag}).status_code == 204
    stale = etag.replace("v7", "v6")
    assert client.put("/tagged", headers={"If-Match": stale}).status_code == 412


def test_weak_tags_stay_as_they_are(client):
    response = client.get("/weak", headers={"Accept-Encoding": "gzip"})
    assert response.headers["Content-Encoding"] == "gzip"
    assert response.headers["ETag"] == 'W/"w1"'
    again = client.get("/weak", headers={"Accept-Encoding": "br", "If-None-Match": 'W/"w1"'})
    assert again.status_code == 304
    assert again.headers["ETag"] == 'W/"w1"'


def test_range_is_not_served_so_never_mixed_with_codings(client):
    """The site answers no Range request with 206: a Range is ignored, the coded 200 whole."""
    response = client.get("/items", headers={"Accept-Encoding": "gzip", "Range": "bytes=0-9"})
    assert response.status_code == 200
    assert "Content-Range" not in response.headers
    assert gzip.decompress(response.body) == identity_body(client)


def test_a_handlers_206_is_sent_uncoded():
    site = Site(compression=True)

    @site.route("/part")
    class Part(Resource):
        def get(self, request):
            response = webob.Response(body=b"x" * 4000, content_type="text/plain", status=206)
            response.headers["Content-Range"] = "bytes 0-3999/8000"
            return response

    response = Client(site).get("/part", headers={"Accept-Encoding": "gzip"})
    assert response.status_code == 206
    assert "Content-Encoding" not in response.headers
    assert response.body == b"x" * 4000


# -- over HTTP, under waitress --------------------------------------------------------------------


@pytest.fixture(scope="module")
def base_url():
    with served(make_site()) as url:
        yield url


@pytest.mark.parametrize("coding", ["gzip", "br", "zstd"])
def test_over_http_the_coded_body_decodes_to_the_identity_one(base_url, coding):
    plain = http_request(base_url, "GET", "/items")
    assert "Content-Encoding" not in plain.headers
    coded = http_request(base_url, "GET", "/items", headers={"Accept-Encoding": coding})
    assert coded.status_code == 200
    assert coded.headers["Content-Encoding"] == coding
    assert varies(coded) == {"accept", "accept-encoding"}
    assert int(coded.headers["Content-Length"]) == len(coded.body)
    assert DECODE[coding](coded.body) == plain.body
    etag = coded.headers["ETag"]
    assert etag == plain.headers["ETag"][:-1] + f'-{coding}"'
    again = http_request(
        base_url, "GET", "/items", headers={"Accept-Encoding": coding, "If-None-Match": etag}
    )
    assert again.status_code == 304
    assert again.headers["ETag"] == etag
    head = http_request(base_url, "HEAD", "/items", headers={"Accept-Encoding": coding})
    assert head.headers["Content-Length"] == coded.headers["Content-Length"]
    assert head.body == b""
