"""Coded request bodies (contract section 11): decoded as read, limits on the decoded size."""

from __future__ import annotations

import functools
import gzip
import http.client
import json
import os
import pathlib
import subprocess
import sys
import textwrap
import time

import brotli
import pytest
from backports import zstd
from conftest import served
from helpers import free_port, http_request, rss_kib, wait_until_serving

from resourcekit import Resource, Site
from resourcekit.testing import Client

BODY = json.dumps([{"id": i, "name": f"note {i}"} for i in range(300)]).encode()
TESTS = pathlib.Path(__file__).parent
CODE = {
    "gzip": lambda data: gzip.compress(data, mtime=0),
    "x-gzip": lambda data: gzip.compress(data, mtime=0),
    "br": brotli.compress,
    "zstd": zstd.compress,
    "identity": lambda data: data,
}


def make_site(max_body_size: int = 1024 * 1024) -> Site:
    site = Site(max_body_size=max_body_size)

    @site.route("/echo")
    class Echo(Resource):
        def post(self, request):
            return {"bytes": len(request.body), "items": len(request.validated)}

    return site


@pytest.fixture(scope="module")
def client() -> Client:
    return Client(make_site())


def post(client: Client, data: bytes, coding: str):
    headers = {"Content-Type": "application/json", "Content-Encoding": coding}
    return client.post("/echo", data=data, headers=headers)


EXPECTED = {"bytes": len(BODY), "items": 300}


@pytest.mark.parametrize("coding", list(CODE))
def test_each_coding_is_decoded(client, coding):
    response = post(client, CODE[coding](BODY), coding)
    assert response.status_code == 200, response.body
    assert response.json == EXPECTED


def test_several_codings_are_undone_in_reverse_order(client):
    data = zstd.compress(brotli.compress(gzip.compress(BODY)))
    assert post(client, data, "gzip, br,zstd").json == EXPECTED
    assert post(client, gzip.compress(BODY), "identity, gzip").json == EXPECTED


@pytest.mark.parametrize("coding", ["gzip", "br", "zstd"])
def test_malformed_and_truncated_data_is_400(client, coding):
    coded = CODE[coding](BODY)
    for data in (b"not coded at all", coded[: len(coded) // 2], coded[:-3], coded[:5]):
        response = post(client, data, coding)
        assert response.status_code == 400, (data[:20], response.body)
        assert response.content_type == "application/problem+json"


def test_unknown_coding_is_415_naming_those_read(client):
    response = post(client, b"xx", "compress")
    assert response.status_code == 415
    assert response.headers["Accept-Encoding"] == "zstd, br, gzip"
    assert "compress" in response.json["detail"]
    assert post(client, gzip.compress(BODY), "gzip, lzma").status_code == 415


def test_too_many_codings_are_400(client):
    data = BODY
    for _ in range(5):
        data = gzip.compress(data)
    assert post(client, data, ", ".join(["gzip"] * 5)).status_code == 400


@pytest.mark.parametrize("coding", ["gzip", "br", "zstd"])
def test_the_limit_is_on_the_decoded_size(coding):
    client = Client(make_site(max_body_size=len(BODY) - 1))
    data = CODE[coding](BODY)
    assert len(data) < len(BODY) / 4
    response = post(client, data, coding)
    assert response.status_code == 413
    assert Client(make_site(max_body_size=len(BODY))).post(
        "/echo", data=data,
        headers={"Content-Type": "application/json", "Content-Encoding": coding},
    ).json == EXPECTED


@functools.cache
def bomb(coding: str) -> bytes:
    """A body of a few kilobytes that decodes to 1 GiB of zeros."""
    if coding == "gzip":  # "gzip, gzip": 16 members of 64 MiB, the lot coded again
        return gzip.compress(gzip.compress(bytes(64 << 20), 9, mtime=0) * 16, 9, mtime=0)
    if coding == "zstd":  # frames in sequence
        return zstd.compress(bytes(64 << 20), 3) * 16
    compressor = brotli.Compressor(quality=5)
    chunk = bytes(16 << 20)
    return b"".join(compressor.process(chunk) for _ in range(64)) + compressor.finish()


BOMB_CODINGS = {"gzip": "gzip, gzip", "br": "br", "zstd": "zstd"}


def test_the_bombs_are_small():
    assert len(bomb("gzip")) < 10 * 1024
    assert len(bomb("br")) < 10 * 1024
    assert len(bomb("zstd")) < 40 * 1024


@pytest.mark.parametrize("coding", ["gzip", "br", "zstd"])
def test_a_bomb_in_process_is_413(client, coding):
    started = time.monotonic()
    response = post(client, bomb(coding), BOMB_CODINGS[coding])
    assert response.status_code == 413
    assert time.monotonic() - started < 1


SERVER = textwrap.dedent("""
    import sys
    import waitress
    from test_coded_bodies import make_site
    waitress.serve(make_site(), host="127.0.0.1", port=int(sys.argv[1]), threads=2, _quiet=True)
""")


@pytest.fixture(scope="module")
def server_process():
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-c", SERVER, str(port)], cwd=TESTS,
        env={"PYTHONPATH": f"{TESTS.parent}{os.pathsep}{TESTS}"},
    )
    try:
        wait_until_serving(port, process)
        yield process, f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.parametrize("coding", ["gzip", "br", "zstd"])
def test_a_bomb_over_http_is_413_fast_in_bounded_memory(server_process, coding):
    process, base_url = server_process
    headers = {"Content-Type": "application/json", "Content-Encoding": BOMB_CODINGS[coding]}
    warm = http_request(base_url, "POST", "/echo", CODE["gzip"](BODY), {
        **headers, "Content-Encoding": "gzip"})
    assert warm.status_code == 200
    before = rss_kib(process.pid)
    data = bomb(coding)
    started = time.monotonic()
    response = http_request(base_url, "POST", "/echo", data, headers)
    elapsed = time.monotonic() - started
    assert response.status_code == 413
    assert elapsed < 1
    assert rss_kib(process.pid) - before < 20 * 1024  # KiB: under 20 MiB


def test_over_http_a_chunked_coded_body_is_decoded():
    with served(make_site()) as base_url:
        connection = http.client.HTTPConnection(base_url.removeprefix("http://"), timeout=10)
        headers = {"Content-Type": "application/json", "Content-Encoding": "zstd"}
        connection.request("POST", "/echo", iter([zstd.compress(BODY)]), headers,
                           encode_chunked=True)
        response = connection.getresponse()
        assert response.status == 200
        assert json.loads(response.read()) == EXPECTED
        connection.close()
