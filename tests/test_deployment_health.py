"""Deployment: HAProxy with active readiness checks (``option httpchk GET /readyz``) in front of
three waitress processes of a site whose check can be flipped.

A process whose ``/readyz`` turns ``503`` is taken out of rotation, no client request failing
meanwhile (the process still answers what it is sent: readiness is a request to stop sending,
not a crash), and is back in rotation once it passes again. HAProxy (Debian: ``apt-get install
haproxy``) is started by the test on a free loopback port; without it the test is skipped, and
under CI (``CI=true``) it fails instead.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import textwrap
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

from helpers import free_port, http_request, running, stop, unavailable, wait_until_serving

FLIP_APP = textwrap.dedent(
    """
    import os
    from pathlib import Path

    from resourcekit import Resource, Site
    from resourcekit.health import Check

    DOWN = Path(os.environ["FLIP_FILE"])
    NAME = os.environ["FLIP_NAME"]

    site = Site(health=[Check("flag", lambda: not DOWN.exists())])

    @site.route("/who")
    class Who(Resource):
        def get(self, request):
            return {"process": NAME}
    """
)

HAPROXY = """\
global
    maxconn 256

defaults
    mode http
    timeout connect 2s
    timeout client 10s
    timeout server 10s
    retries 2
    option redispatch
    option http-server-close

frontend api
    bind 127.0.0.1:{listen}
    default_backend app

backend app
    balance roundrobin
    option httpchk GET /readyz
    http-check expect status 200
    default-server inter 200ms fall 2 rise 2
{servers}
"""

CHANGE_SECONDS = 10.0


def haproxy_config(listen: int, backends: dict[str, int]) -> str:
    servers = "\n".join(f"    server {name} 127.0.0.1:{port} check"
                        for name, port in backends.items())
    return HAPROXY.format(listen=listen, servers=servers)


@contextlib.contextmanager
def haproxy(config: Path, port: int) -> Iterator[subprocess.Popen]:
    binary = shutil.which("haproxy") or (
        "/usr/sbin/haproxy" if Path("/usr/sbin/haproxy").exists() else None)
    if binary is None:
        unavailable("haproxy is not installed (Debian: apt-get install haproxy)")
    checked = subprocess.run([binary, "-c", "-f", str(config)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    process = subprocess.Popen([binary, "-db", "-f", str(config)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until_serving(port, process)
        yield process
    finally:
        stop(process)


class Load:
    """Clients asking ``/who`` through the balancer without pause; every answer is kept."""

    def __init__(self, base_url: str, clients: int = 3) -> None:
        self.base_url = base_url
        self.answers: list[tuple[float, str]] = []
        self.failures: list[str] = []
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, daemon=True) for _ in range(clients)]

    def __enter__(self) -> Load:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(10)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                reply = http_request(self.base_url, "GET", "/who", timeout=5)
            except OSError as error:
                self.failures.append(repr(error))
                continue
            if reply.status_code != 200:
                self.failures.append(f"{reply.status_code} {reply.body[:200]!r}")
            else:
                self.answers.append((time.monotonic(), reply.json["process"]))

    def since(self, moment: float) -> Counter[str]:
        return Counter(name for at, name in list(self.answers) if at >= moment)


def wait_for(condition, timeout: float = CHANGE_SECONDS) -> float:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return time.monotonic()
        time.sleep(0.05)
    raise AssertionError("the balancer did not follow the readiness check in time")


def test_a_process_that_is_not_ready_leaves_the_rotation_and_comes_back(tmp_path: Path) -> None:
    (tmp_path / "flipapp.py").write_text(FLIP_APP)
    names = ["a", "b", "c"]
    ports = {name: free_port() for name in names}
    flags = {name: tmp_path / f"{name}.down" for name in names}
    listen = free_port()
    config = tmp_path / "haproxy.cfg"
    config.write_text(haproxy_config(listen, ports))
    with contextlib.ExitStack() as stack:
        for name in names:
            env = {**os.environ, "FLIP_FILE": str(flags[name]), "FLIP_NAME": name}
            process = stack.enter_context(running(
                [sys.executable, "-m", "resourcekit", "serve", "flipapp:site",
                 "--port", str(ports[name]), "--threads", "4"], cwd=tmp_path, env=env))
            wait_until_serving(ports[name], process)
        stack.enter_context(haproxy(config, listen))
        base_url = f"http://127.0.0.1:{listen}"
        with Load(base_url) as load:
            start = time.monotonic()
            wait_for(lambda: set(load.since(start)) == set(names))  # all three in rotation

            flags["b"].touch()  # b's readiness check fails from now on
            assert http_request(f"http://127.0.0.1:{ports['b']}", "GET",
                                "/readyz").status_code == 503
            left = wait_for(lambda: _quiet(load, "b", time.monotonic() - 0.5))
            time.sleep(1.0)
            out = load.since(left)
            assert out["b"] == 0 and out["a"] > 0 and out["c"] > 0, out

            flags["b"].unlink()  # ready again
            back = time.monotonic()
            wait_for(lambda: load.since(back)["b"] > 0)
            time.sleep(0.5)
        assert load.failures == [], load.failures[:5]
        assert len(load.answers) > 50


def _quiet(load: Load, name: str, since: float) -> bool:
    """No answer from ``name`` for the last half second, and answers from the others."""
    seen = load.since(since)
    return seen[name] == 0 and sum(seen.values()) > 0


def test_the_guide_shows_the_tested_checks() -> None:
    """docs/guide/observability.md configures HAProxy's checks as this module does."""
    guide = (Path(__file__).resolve().parents[1] / "docs" / "guide" / "observability.md")
    text = guide.read_text()
    for line in ("option httpchk GET /readyz", "http-check expect status 200",
                 "default-server inter"):
        assert line in text
