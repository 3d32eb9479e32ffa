"""What differs between the servers `resourcekit serve --server` starts, over real HTTP.

Proxies, the raw request line, ``Date``, workers, reloading, and the messages when a server is
not installed or cannot do what was asked.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import served, server_params
from helpers import free_port, http_request, running, wait_until_serving

from resourcekit import Resource, Site

APP = textwrap.dedent(
    """
    import os
    from resourcekit import Resource, Site

    site = Site(title="Servers")

    @site.route("/pid")
    class Pid(Resource):
        def get(self, request):
            return {"pid": os.getpid(), "version": 1}
    """
)


def _site(**options: object) -> Site:
    site = Site(title="Servers", **options)

    @site.route("/segment/{one}")
    class Segment(Resource):
        def get(self, request, one):
            return {"one": one, "self": request.url_for(Segment, one="x")}

    return site


@pytest.fixture(scope="module", params=server_params())
def server(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture(scope="module")
def trusting(server: str) -> Iterator[str]:
    with served(_site(trusted_proxies=["127.0.0.1"]), server=server) as base_url:
        yield base_url


@pytest.fixture(scope="module")
def distrusting(server: str) -> Iterator[str]:
    with served(_site(), server=server) as base_url:
        yield base_url


FORWARDED = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "api.example"}


def test_a_trusted_proxy_is_believed(trusting: str) -> None:
    reply = http_request(trusting, "GET", "/segment/a", None, FORWARDED)
    assert reply.json["self"] == "https://api.example/segment/x"


def test_an_untrusted_peer_is_not_believed(distrusting: str) -> None:
    """Neither the site nor the server (gunicorn trusts loopback by default) believes it."""
    reply = http_request(distrusting, "GET", "/segment/a", None, FORWARDED)
    assert reply.json["self"].startswith("http://127.0.0.1:")


def test_an_encoded_slash_stays_in_its_segment(server: str, distrusting: str) -> None:
    """waitress and gunicorn pass the raw request line; granian does not, so %2F is a slash."""
    reply = http_request(distrusting, "GET", "/segment/a%2Fb", None, {})
    if server == "granian":
        assert reply.status_code == 404
    else:
        assert reply.json["one"] == "a/b"


def test_date_is_sent_once(distrusting: str) -> None:
    reply = http_request(distrusting, "GET", "/segment/a", None, {})
    assert len(reply.headers.get_all("Date")) == 1


# -- the command line ---------------------------------------------------------------------------


def _command(port: int, *options: str) -> list[str]:
    return [sys.executable, "-m", "resourcekit", "serve", "serversapp:site", "--port", str(port),
            *options]


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "serversapp.py").write_text(APP)
    return tmp_path


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rpartition(")")[2].split()[1]) == pid:
                found.append(int(entry.name))
    return found


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="counts processes in /proc")
@pytest.mark.parametrize("name", [p for p in server_params() if p.values[0] != "waitress"])
def test_workers_are_processes(folder: Path, name: str) -> None:
    port = free_port()
    with running(_command(port, "--server", name, "--workers", "2"), cwd=folder) as process:
        wait_until_serving(port, process)
        deadline = time.monotonic() + 10
        while len(_children(process.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(_children(process.pid)) == 2
        pid = http_request(f"http://127.0.0.1:{port}", "GET", "/pid", None, {}).json["pid"]
        assert pid in _children(process.pid)
        _stopped(process)


IMPORTS_RECORDED = """
import os
from pathlib import Path
with open(Path(__file__).with_name("imports.log"), "a") as log:
    log.write(f"{os.getpid()}\\n")
"""


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="counts processes in /proc")
@pytest.mark.parametrize("name", [p for p in server_params() if p.values[0] != "waitress"])
def test_forked_workers_inherit_no_import_of_the_site(folder: Path, name: str) -> None:
    """What the site's module opens at import (a database connection) must not be shared by
    the workers: the command checks the site in another interpreter, and each worker imports it
    itself, so the process they fork from never did."""
    (folder / "serversapp.py").write_text(APP + IMPORTS_RECORDED)
    port = free_port()
    with running(_command(port, "--server", name, "--workers", "2"), cwd=folder) as process:
        wait_until_serving(port, process)
        deadline = time.monotonic() + 10
        while len(_children(process.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        http_request(f"http://127.0.0.1:{port}", "GET", "/pid", None, {})
        imported = {int(pid) for pid in (folder / "imports.log").read_text().split()}
        assert process.pid not in imported
        assert set(_children(process.pid)) <= imported  # each worker imported it
        assert len(imported) == 3  # and the check, in a process of its own
        _stopped(process)


def _stopped(process: subprocess.Popen) -> None:
    """SIGTERM stops the server and its workers (a SIGKILL would leave the workers behind)."""
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=40) == 0


@pytest.mark.parametrize("name", [p for p in server_params() if p.values[0] != "waitress"])
def test_reload_serves_the_changed_source(folder: Path, name: str) -> None:
    port = free_port()
    with running(_command(port, "--server", name, "--reload"), cwd=folder) as process:
        wait_until_serving(port, process)
        base = f"http://127.0.0.1:{port}"
        assert http_request(base, "GET", "/pid", None, {}).json["version"] == 1
        time.sleep(0.5)
        (folder / "serversapp.py").write_text(APP.replace('"version": 1', '"version": 2'))
        deadline = time.monotonic() + 15
        version = 1
        while version == 1 and time.monotonic() < deadline:
            time.sleep(0.3)
            try:
                version = http_request(base, "GET", "/pid", None, {}).json["version"]
            except (OSError, json.JSONDecodeError):
                continue
        assert version == 2
        _stopped(process)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--workers", "2"], "waitress runs one process: use granian or gunicorn"),
        (["--reload"], "waitress has no reloader: use granian or gunicorn"),
    ],
)
def test_what_waitress_cannot_do_is_refused(folder: Path, options: list[str], message: str
                                           ) -> None:
    done = subprocess.run(_command(free_port(), *options), cwd=folder, capture_output=True,
                          text=True, timeout=20, check=False)
    assert done.returncode != 0
    assert message in done.stderr


@pytest.mark.parametrize("name", ["granian", "gunicorn"])
def test_a_missing_server_names_its_extra(folder: Path, name: str) -> None:
    hide = f"import sys; sys.modules[{name!r}] = None; from resourcekit.cli import main; main()"
    command = [sys.executable, "-c", hide, *_command(free_port(), "--server", name)[3:]]
    done = subprocess.run(command, cwd=folder, capture_output=True, text=True, timeout=20,
                          check=False, env={**os.environ})
    assert done.returncode != 0
    assert f"pip install 'resourcekit[{name}]'" in done.stderr

