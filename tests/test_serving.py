"""`resourcekit serve` stops cleanly on SIGTERM: requests in flight finish, then it exits.

Each test runs under every server installed (``--server``)."""

from __future__ import annotations

import http.client
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
from conftest import server_params
from helpers import free_port

APP = textwrap.dedent(
    """
    import time
    from resourcekit import Resource, Site

    site = Site(title="Slow")

    @site.route("/slow")
    class Slow(Resource):
        def get(self, request):
            time.sleep(1.5)
            return {"done": True}

    @site.route("/fast")
    class Fast(Resource):
        def get(self, request):
            return {"done": True}
    """
)


def _get(port: int, path: str, timeout: float = 10) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def _wait_until_up(port: int, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        assert process.poll() is None, process.stdout.read()
        try:
            _get(port, "/fast", timeout=1)
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError("the server did not start")


@pytest.fixture(params=server_params())
def server(tmp_path: Path, request: pytest.FixtureRequest):
    (tmp_path / "slowapp.py").write_text(APP)
    port = free_port()
    command = [sys.executable, "-m", "resourcekit", "serve", "slowapp:site", "--port", str(port)]
    process = subprocess.Popen(
        [*command, "--server", request.param],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        _wait_until_up(port, process)
        yield port, process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_sigterm_finishes_requests_in_flight(server, sig):
    port, process = server
    answers: list[tuple[int, bytes]] = []
    in_flight = threading.Thread(target=lambda: answers.append(_get(port, "/slow")))
    in_flight.start()
    time.sleep(0.5)  # the slow request is being handled
    process.send_signal(sig)
    in_flight.join(timeout=15)
    assert answers == [(200, b'{"done":true}')]
    assert process.wait(timeout=15) == 0
    with pytest.raises(OSError):
        _get(port, "/fast", timeout=2)


def test_idle_keep_alive_connections_do_not_hold_the_stop(server):
    port, process = server
    idle = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    idle.request("GET", "/fast")
    assert idle.getresponse().read() == b'{"done":true}'
    started = time.monotonic()
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=15) == 0
    assert time.monotonic() - started < 5
    idle.close()


def test_serve_announces_its_loopback_address(server):
    port, process = server
    process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=15)
    assert f"Slow: serving on http://127.0.0.1:{port}" in output


TWO_ADDRESSES = textwrap.dedent(
    """
    import socket
    import sys

    from resourcekit.serving import serve
    from slowapp import site

    resolve = socket.getaddrinfo

    def two_loopbacks(host, *args, **kwargs):  # a name with two addresses, as localhost often has
        if host == "two.test":
            return [*resolve("127.0.0.1", *args, **kwargs), *resolve("127.0.0.2", *args, **kwargs)]
        return resolve(host, *args, **kwargs)

    socket.getaddrinfo = two_loopbacks
    serve(site, host="two.test", port=int(sys.argv[1]))
    """
)


def test_a_host_name_with_several_addresses_is_served_on_each(tmp_path: Path) -> None:
    (tmp_path / "slowapp.py").write_text(APP)
    (tmp_path / "two.py").write_text(TWO_ADDRESSES)
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "two.py", str(port)],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        _wait_until_up(port, process)
        for address in ("127.0.0.1", "127.0.0.2"):
            connection = http.client.HTTPConnection(address, port, timeout=10)
            connection.request("GET", "/fast")
            assert connection.getresponse().read() == b'{"done":true}'
            connection.close()
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=15)
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)
    assert process.returncode == 0, output
    assert f"serving on http://127.0.0.1:{port}" in output
    assert f"serving on http://127.0.0.2:{port}" in output
