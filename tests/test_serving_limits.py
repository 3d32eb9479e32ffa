"""`resourcekit serve` holds up against hostile clients over real HTTP (issue 18, items 2-4).

Each test starts ``python -m resourcekit serve`` on a free loopback port, under each server, and,
while an attack is under way, checks that a normal client keeps getting answers within a second
each: waitress parses request heads in its one event-loop thread, so a slow parse or a full
connection table stops everyone.

Where a server does something else by design, the test says so and checks what it does:

- granian parses header fields in linear time and strips their padding: a padded field within
  its 16 KiB head limit is answered 200 at once (beyond, 431), where waitress answers 400;
- gunicorn sends ``100 Continue`` itself before the site can refuse a body, keeps the
  connection after a 413 (reading the body it refused), and has no deadline for a request head:
  a few hundred clients trickling their heads hold all its threads, and others wait (an expected
  failure here: gunicorn is meant to sit behind a buffering proxy such as nginx).
"""

from __future__ import annotations

import contextlib
import http.client
import socket
import sys
import textwrap
import threading
import time
from collections.abc import Iterator

import pytest
from conftest import server_params
from helpers import free_port, running, wait_until_serving

from resourcekit.serving import HEADER_SECONDS, MAX_REQUEST_HEADER_SIZE

APP = textwrap.dedent(
    """
    from resourcekit import Resource, Site

    site = Site(title="Limits")

    @site.route("/fast")
    class Fast(Resource):
        def get(self, request):
            return {"done": True}

        def post(self, request):
            return {"size": len(request.body)}
    """
)


@pytest.fixture(scope="module", params=server_params())
def server(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture(scope="module")
def port(server: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """One server per module and server name: each test leaves it as it found it."""
    folder = tmp_path_factory.mktemp(server)
    (folder / "limitsapp.py").write_text(APP)
    number = free_port()
    command = [sys.executable, "-m", "resourcekit", "serve", "limitsapp:site"]
    command += ["--port", str(number), "--server", server]
    with running(command, cwd=folder) as process:
        wait_until_serving(number, process)
        yield number


def _get_fast(port: int, timeout: float = 1.0) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request("GET", "/fast")
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


@contextlib.contextmanager
def normal_client(port: int) -> Iterator[list]:
    """GET /fast again and again during the block; yields the list of failures and slow answers."""
    problems: list = []
    done = threading.Event()

    def loop() -> None:
        while not done.is_set():
            started = time.monotonic()
            try:
                status = _get_fast(port)
            except OSError as exc:
                problems.append(f"{exc!r} after {time.monotonic() - started:.2f}s")
                continue
            took = time.monotonic() - started
            if status != 200 or took > 1.0:
                problems.append(f"{status} after {took:.2f}s")
            time.sleep(0.05)

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    try:
        yield problems
    finally:
        done.set()
        thread.join(timeout=5)


def _answer(sock: socket.socket, timeout: float) -> bytes:
    """What the server sends until it closes (or resets) the connection or ``timeout`` passes."""
    sock.settimeout(timeout)
    received = b""
    deadline = time.monotonic() + timeout
    with contextlib.suppress(ConnectionResetError, BrokenPipeError):
        while time.monotonic() < deadline:
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                break
            if not chunk:
                break
            received += chunk
    return received


def _until(sock: socket.socket, marker: bytes, timeout: float) -> bytes:
    """What the server sends until ``marker`` is in it, it closes, or ``timeout`` passes."""
    sock.settimeout(timeout)
    received = b""
    deadline = time.monotonic() + timeout
    with contextlib.suppress(ConnectionResetError, BrokenPipeError, TimeoutError):
        while marker not in received and time.monotonic() < deadline:
            chunk = sock.recv(65536)
            if not chunk:
                break
            received += chunk
    return received


def _send(sock: socket.socket, data: bytes) -> None:
    """Send what the server will take: it may answer and close before reading everything."""
    with contextlib.suppress(ConnectionResetError, BrokenPipeError):
        sock.sendall(data)


# -- item 2: header values the parser takes quadratic time over ----------------------------------

PADDED = {
    "X-Any": b"GET /fast HTTP/1.1\r\nHost: x\r\nX-Any: %sx\r\n\r\n",
    "If-None-Match": b"GET /fast HTTP/1.1\r\nHost: x\r\nIf-None-Match: %s\"x\"\r\n\r\n",
    "Accept": b"GET /fast HTTP/1.1\r\nHost: x\r\nAccept: %sapplication/json\r\n\r\n",
    "Host": b"GET /fast HTTP/1.1\r\nHost: %sx\r\n\r\n",
    "Content-Type": b"POST /fast HTTP/1.1\r\nHost: x\r\nContent-Type: %sa/b\r\n\r\n",
    "Content-Length": b"POST /fast HTTP/1.1\r\nHost: x\r\nContent-Length: %s0\r\n\r\n",
    "Transfer-Encoding": b"POST /fast HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: %schunked\r\n\r\n",
    "Authorization": b"GET /fast HTTP/1.1\r\nHost: x\r\nAuthorization: %sBearer x\r\n\r\n",
    "Cookie": b"GET /fast HTTP/1.1\r\nHost: x\r\nCookie: %sa=b\r\n\r\n",
    "Expect": b"POST /fast HTTP/1.1\r\nHost: x\r\nExpect: %s100-continue\r\n\r\n",
}


def _folded(padding: bytes) -> bytes:
    """The padding as obs-fold lines (CRLF SP each), which waitress joins into one value."""
    folds = b"\r\n " * (len(padding) // 3)
    return b"GET /fast HTTP/1.1\r\nHost: x\r\nX-Any:" + folds + b"x\r\n\r\n"


def _request_line(padding: bytes) -> bytes:
    """A request target of the shape waitress's request-line pattern backtracks over."""
    return b"GET a://" + b"1" * len(padding) + b" x HTTP/1.1\r\nHost: x\r\n\r\n"


SHAPES = [
    *(pytest.param(lambda pad, t=template: t % pad, id=name) for name, template in PADDED.items()),
    pytest.param(lambda pad: PADDED["X-Any"] % pad.replace(b" ", b"\t"), id="X-Any-tabs"),
    pytest.param(_folded, id="obs-fold"),
    pytest.param(_request_line, id="request-line"),
]


@pytest.mark.parametrize("size", [256_000, 15_000], ids=["256KB", "15KB"])
@pytest.mark.parametrize("shape", SHAPES)
def test_padded_header_is_refused_fast_while_others_are_served(server, port, shape, size):
    head = shape(b" " * size)
    with normal_client(port) as problems, socket.create_connection(("127.0.0.1", port), 5) as sock:
        time.sleep(0.2)
        started = time.monotonic()
        _send(sock, head)
        answer = _until(sock, b"\r\n", timeout=1.5)
        took = time.monotonic() - started
        time.sleep(0.3)  # the normal client has a go after the attack too
    status = answer[:12]
    accepted = server == "granian" and size < MAX_REQUEST_HEADER_SIZE and b"\r\n " not in head
    if accepted and b"Transfer-Encoding" in head:
        assert answer == b""  # a valid chunked request: its body is awaited
    else:
        assert took < 1.0, f"answered {status!r} after {took:.2f}s"
    refused = (b"", b"HTTP/1.1 400", b"HTTP/1.1 414", b"HTTP/1.1 431", b"HTTP/1.0 400",
               b"HTTP/1.0 431")
    if accepted:
        refused += (b"HTTP/1.1 200",)  # parsed in linear time, padding stripped
    assert status in refused
    assert problems == []


# -- item 3: bodies over the site's max_body_size -------------------------------------------------


def _post_head(length: int, *extra: bytes) -> bytes:
    lines = [b"POST /fast HTTP/1.1", b"Host: x", b"Content-Type: application/json"]
    lines += [b"Content-Length: %d" % length, *extra]
    return b"\r\n".join(lines) + b"\r\n\r\n"


@pytest.mark.parametrize(
    "head",
    [
        pytest.param(_post_head(1024**3), id="1GiB"),
        pytest.param(_post_head(1024**3 - 1), id="1GiB-1"),
        pytest.param(_post_head(2 * 1024**2), id="2MiB"),
        pytest.param(_post_head(1024**3, b"Expect: 100-continue"), id="1GiB-expect"),
        pytest.param(_post_head(2 * 1024**2, b"Expect: 100-continue"), id="2MiB-expect"),
    ],
)
def test_declared_oversized_body_is_refused_before_it_is_sent(server, port, head):
    with socket.create_connection(("127.0.0.1", port), 5) as sock:
        started = time.monotonic()
        sock.sendall(head)  # and not a byte of the body
        answer = _until(sock, b"HTTP/1.1 413 ", timeout=1.5)
        took = time.monotonic() - started
    if server == "gunicorn" and b"Expect" in head:  # gunicorn asks for the body itself
        assert answer.startswith(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 413 ")
    else:
        assert answer.startswith(b"HTTP/1.1 413 "), answer[:200]
    assert took < 1.0


def test_chunked_body_is_stopped_once_over_the_limit(port):
    """A chunk declared 1 GiB: the answer comes after about max_body_size bytes, not 1 GiB."""
    head = b"POST /fast HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n40000000\r\n"
    with socket.create_connection(("127.0.0.1", port), 5) as sock:
        started = time.monotonic()
        _send(sock, head + b"a" * (2 * 1024**2))
        answer = _answer(sock, timeout=1.5)
        took = time.monotonic() - started
    assert answer.startswith(b"HTTP/1.1 413 "), answer[:200]
    assert took < 1.0


def test_body_within_the_limit_is_still_accepted(port):
    body = b'"' + b"a" * (1024**2 - 2) + b'"'
    with socket.create_connection(("127.0.0.1", port), 5) as sock:
        sock.sendall(_post_head(len(body), b"Connection: close") + body)
        answer = _answer(sock, timeout=5)
    assert answer.startswith(b"HTTP/1.1 200 "), answer[:200]
    assert answer.endswith(b'{"size":1048576}')


# -- item 4: slow clients -------------------------------------------------------------------------


def test_slow_clients_neither_starve_others_nor_stay(server, port, request):
    """200 clients trickling a header byte every 0.5 s: others served; closed after the deadline."""
    if server == "gunicorn":
        request.applymarker(pytest.mark.xfail(
            strict=True, reason="gunicorn's threads wait on slow heads: put a buffering proxy "
            "in front"))
    slow = [socket.create_connection(("127.0.0.1", port), 5) for _ in range(200)]
    head = b"GET /fast HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 1000
    try:
        opened = time.monotonic()
        closed: set[int] = set()
        with normal_client(port) as problems:
            for sent in range(int((HEADER_SECONDS + 3) / 0.5)):
                for number, sock in enumerate(slow):
                    if number not in closed:
                        try:
                            sock.send(head[sent : sent + 1])
                        except OSError:
                            closed.add(number)
                time.sleep(0.5)
                if len(closed) == len(slow):
                    break
        took = time.monotonic() - opened
        assert problems == []
        for number, sock in enumerate(slow):
            if number not in closed:
                assert _answer(sock, timeout=0.1) == b"" and _closed(sock), number
        assert took > HEADER_SECONDS - 1
        assert problems == []
    finally:
        for sock in slow:
            sock.close()


def _closed(sock: socket.socket) -> bool:
    """Whether the peer has closed: recv returns b"" (or the connection was reset)."""
    sock.settimeout(0.1)
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False
