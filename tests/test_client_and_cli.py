"""The in-process test client, and the ``resourcekit`` command line (routes, serve, errors)."""

from __future__ import annotations

import json
import re
import shutil
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from helpers import free_port, http_request, media_type_of, running, wait_until_serving

from resourcekit import Resource, Site
from resourcekit.testing import Client


def echo_client() -> Client:
    site = Site()

    class Echo(Resource):
        def get(self, request):
            return {
                "method": request.method,
                "url": request.url,
                "body": request.body.decode(),
                "content_type": request.content_type,
                "header": request.headers.get("X-Test"),
            }

        post = put = patch = delete = get

    site.add("/echo", Echo)
    return Client(site)


@pytest.mark.parametrize("method", ["get", "post", "put", "patch", "delete"])
@pytest.mark.parametrize(
    ("kwargs", "content_type"),
    [
        ({}, ""),
        ({"json": {"a": [1, "é"]}}, "application/json"),
        ({"data": b"raw bytes", "headers": {"Content-Type": "text/plain"}}, "text/plain"),
        ({"data": "text é"}, ""),
        (
            {"json": {"a": 1}, "headers": {"Content-Type": "application/merge-patch+json"}},
            "application/merge-patch+json",
        ),
    ],
)
def test_client_methods(method: str, kwargs: dict, content_type: str) -> None:
    kwargs = dict(kwargs)
    headers = {"X-Test": "yes", **kwargs.pop("headers", {})}
    response = getattr(echo_client(), method)("/echo?q=1", headers=headers, **kwargs)
    assert response.status_code == 200
    assert isinstance(response.status_code, int)
    assert media_type_of(response) == "application/json"
    assert response.headers["content-type"] == response.headers["Content-Type"]
    assert isinstance(response.body, bytes) and isinstance(response.text, str)
    assert json.loads(response.body) == json.loads(response.text) == response.json
    echoed = response.json
    assert echoed["method"] == method.upper()
    assert echoed["url"] == "http://localhost/echo?q=1"
    if "json" in kwargs:
        assert json.loads(echoed["body"]) == kwargs["json"]
    else:
        data = kwargs.get("data", b"")
        assert echoed["body"] == (data.decode() if isinstance(data, bytes) else data)
    assert echoed["content_type"] == content_type
    assert echoed["header"] == "yes"


def test_client_head_and_options() -> None:
    client = echo_client()
    head = client.head("/echo")
    assert head.status_code == 200
    assert head.body == b"" and head.text == ""
    assert int(head.headers["Content-Length"]) > 0
    options = client.options("/echo")
    assert options.status_code in (200, 204)
    assert {m.strip() for m in options.headers["Allow"].split(",")} == {
        "GET",
        "HEAD",
        "POST",
        "PUT",
        "PATCH",
        "DELETE",
        "OPTIONS",
    }


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://api.example.com/echo?x=1", "https://api.example.com/echo?x=1"),
        ("http://example.org:8080/echo", "http://example.org:8080/echo"),
    ],
)
def test_client_accepts_absolute_urls(url: str, expected: str) -> None:
    assert echo_client().get(url).json["url"] == expected


def test_client_json_of_a_problem() -> None:
    response = echo_client().get("/missing")
    assert response.status_code == 404
    assert response.json["status"] == 404


# -- the command line ---------------------------------------------------------------------------

TINY_APP = textwrap.dedent(
    """
    from resourcekit import Resource, Site

    site = Site(title="Tiny")
    not_a_site = 42


    @site.route("/")
    class Home(Resource):
        def get(self, request):
            return {"home": True}


    @site.route("/notes")
    class Notes(Resource):
        def get(self, request):
            return [{"id": 1}]

        def post(self, request):
            return None


    @site.route("/notes/{note_id:int}", name="note")
    class Note(Resource):
        def get(self, request, note_id):
            return {"id": note_id}

        def put(self, request, note_id):
            return None

        def delete(self, request, note_id):
            return None


    @site.route("/upload")
    class Upload(Resource):
        def post(self, request):
            return None
    """
)

EXPECTED_ROUTES = {
    "/": ("Home", {"GET", "HEAD", "OPTIONS"}),
    "/notes": ("Notes", {"GET", "HEAD", "POST", "OPTIONS"}),
    "/notes/{note_id:int}": ("note", {"GET", "HEAD", "PUT", "DELETE", "OPTIONS"}),
    "/upload": ("Upload", {"POST", "OPTIONS"}),
}

CLI_TIMEOUT = 60


@pytest.fixture
def app_dir(tmp_path: Path) -> Path:
    (tmp_path / "tinyapp.py").write_text(TINY_APP)
    return tmp_path


def console_script() -> str:
    found = shutil.which("resourcekit", path=str(Path(sys.executable).parent))
    assert found, f"no resourcekit console script next to {sys.executable}"
    return found


COMMANDS = {
    "python -m": lambda: [sys.executable, "-m", "resourcekit"],
    "console script": lambda: [console_script()],
}


def test_console_script_is_installed() -> None:
    script = Path(console_script())
    assert script.parent == Path(sys.executable).parent
    assert script.is_file()


@pytest.mark.parametrize("command", COMMANDS)
def test_routes(app_dir: Path, command: str) -> None:
    result = subprocess.run(
        [*COMMANDS[command](), "routes", "tinyapp:site"],
        cwd=app_dir,
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT,
    )
    assert result.returncode == 0, result.stderr
    routes = {}
    for line in result.stdout.splitlines():
        if not line.strip():
            continue
        template, name, methods = re.split(r"\s{2,}", line.strip(), maxsplit=2)
        routes[template] = (name, {m.strip() for m in methods.split(",")})
    assert routes == EXPECTED_ROUTES


@pytest.mark.parametrize("command", COMMANDS)
def test_serve(app_dir: Path, command: str) -> None:
    port = free_port()
    with running(
        [*COMMANDS[command](), "serve", "tinyapp:site", "--port", str(port), "--threads", "2"],
        cwd=app_dir,
    ) as process:
        wait_until_serving(port, process)
        base = f"http://127.0.0.1:{port}"
        response = http_request(base, "GET", "/notes/7", headers={"Accept": "application/json"})
        assert response.status_code == 200
        assert response.json == {"id": 7}
        xml = http_request(base, "GET", "/notes", headers={"Accept": "application/xml"})
        assert xml.status_code == 200
        assert xml.headers["Content-Type"].startswith("application/xml")
        assert http_request(base, "DELETE", "/notes/7").status_code == 204
        assert http_request(base, "GET", "/nowhere").status_code == 404
    assert f"http://127.0.0.1:{port}" in process.output[0]


def outward_address() -> str | None:
    """An address of this machine other than loopback, if it has one."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            sock.connect(("192.0.2.1", 9))  # no packet is sent for a UDP connect
            address = sock.getsockname()[0]
        except OSError:
            return None
    return None if address.startswith("127.") else address


def test_serve_defaults_to_loopback(app_dir: Path) -> None:
    port = free_port()
    with running(
        [sys.executable, "-m", "resourcekit", "serve", "tinyapp:site", "--port", str(port)],
        cwd=app_dir,
    ) as process:
        wait_until_serving(port, process)
        assert http_request(f"http://127.0.0.1:{port}", "GET", "/").json == {"home": True}
        address = outward_address()
        if address is not None:  # not reachable from outside the machine
            with pytest.raises(OSError):
                socket.create_connection((address, port), timeout=2).close()
    assert f"http://127.0.0.1:{port}" in process.output[0]


@pytest.mark.parametrize(
    ("spec", "mention"),
    [
        ("tinyapp", "MODULE:ATTR"),
        ("tinyapp:", "MODULE:ATTR"),
        (":site", "MODULE:ATTR"),
        ("no_such_module_xyz:site", "no_such_module_xyz"),
        ("tinyapp:missing_attribute", "missing_attribute"),
        ("tinyapp:not_a_site", "not_a_site"),
        ("tinyapp:Home", "Home"),
    ],
)
@pytest.mark.parametrize("subcommand", ["routes", "serve"])
def test_bad_module_attr_is_a_clear_error(
    app_dir: Path, spec: str, mention: str, subcommand: str
) -> None:
    extra = ["--port", str(free_port())] if subcommand == "serve" else []
    result = subprocess.run(
        [sys.executable, "-m", "resourcekit", subcommand, spec, *extra],
        cwd=app_dir,
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT,
    )
    assert result.returncode != 0
    assert mention in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize("args", [[], ["routes"], ["serve"], ["bogus", "tinyapp:site"]])
def test_bad_usage(app_dir: Path, args: list[str]) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "resourcekit", *args],
        cwd=app_dir,
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT,
    )
    assert result.returncode == 2
    assert "usage: resourcekit" in result.stderr


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "resourcekit", *args],
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT,
    )


def test_version() -> None:
    import resourcekit

    result = run_cli("--version")
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"resourcekit {resourcekit.__version__}\n"


@pytest.mark.parametrize("args", [["--help"], ["serve", "--help"]])
def test_help_is_plain_text(args: list[str]) -> None:
    result = run_cli(*args)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: resourcekit")
    assert not re.search(r"[`*]|:\w+:", result.stdout)  # no reStructuredText or Markdown


def test_serve_help_shows_the_defaults() -> None:
    text = " ".join(run_cli("serve", "--help").stdout.split())  # unwrapped
    for option, default in [("--host", "127.0.0.1"), ("--port", "8080"), ("--threads", "4")]:
        assert re.search(rf"{option} \w+ [^-]*\(default: {re.escape(default)}\b", text), option


@pytest.mark.parametrize(("option", "value"), [
    ("--port", "70000"), ("--port", "-5"), ("--port", "http"),
    ("--threads", "0"), ("--workers", "0"), ("--threads", "many"),
])
def test_serve_refuses_a_number_out_of_range_before_serving(
    option: str, value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from resourcekit.cli import main

    with pytest.raises(SystemExit) as stopped:
        main(["serve", "sample_project.app:site", option, value])
    assert stopped.value.code == 2
    assert f"argument {option}:" in capsys.readouterr().err
