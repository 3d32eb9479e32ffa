"""The sample's OpenAPI document as tools read it: a generated client and two linters.

openapi-python-client must generate the client with no warning but the XML bodies it cannot
model, with typed returns (one ``Station``, a list of them), and the client must talk to the
site. Redocly's recommended rules and Spectral's ``spectral:oas`` must find no error, and warn
only of what `resourcekit.openapi` documents as a choice. The linters are node tools: installed
by ``.ci/run`` into the venv (``redocly``, ``spectral``), else run with ``npx``; skipped without
node.
"""

from __future__ import annotations

import importlib
import json
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from resourcekit import Site
from sample_project.app import create_site

TOKEN = "client-test-token"
XML_TYPES = {"application/xml", "text/xml"}


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    site = create_site(tmp_path_factory.mktemp("db") / "db.sqlite", api_token=TOKEN)
    yield site
    site.close()


@pytest.fixture(scope="module")
def document_file(sample: Site, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("openapi") / "openapi.json"
    path.write_text(json.dumps(sample.openapi(), indent=1))
    return path


# -- openapi-python-client ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def generated(document_file: Path) -> tuple[Path, str]:
    """The generated package's folder and what the generator printed."""
    generator = shutil.which("openapi-python-client", path=str(Path(sys.executable).parent))
    if generator is None:
        pytest.skip("openapi-python-client is not installed (the test extra has it)")
    out = document_file.parent / "client"
    result = subprocess.run(
        [generator, "generate", "--path", str(document_file), "--meta", "none",
         "--output-path", str(out)],
        capture_output=True, text=True, timeout=300, check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return out, result.stdout + result.stderr


def test_the_generator_warns_only_of_xml_bodies(generated: tuple[Path, str]) -> None:
    _, output = generated
    warnings = re.findall(r"^WARNING parsing (.+?)\.\n\n(.+)$", output, flags=re.MULTILINE)
    reasons = {reason for _, reason in warnings}
    assert reasons == {f"Unsupported content type {t}" for t in XML_TYPES}, output
    # request bodies of the writes only: every response is modelled
    assert {where.split(" within ")[0].split()[0] for where, _ in warnings} <= {
        "POST", "PUT", "PATCH"
    }


def _returns(package: Path, module: str) -> str:
    """The return annotation of the generated module's ``sync`` function."""
    text = (package / "api" / f"{module}.py").read_text()
    found = re.search(r"^def sync\(.*?\) -> (.+?):$", text, flags=re.MULTILINE | re.DOTALL)
    assert found, module
    return found.group(1)


@pytest.mark.parametrize(
    ("module", "returned"),
    [
        ("station/station_get", "Station"),
        ("station/station_put", "Station"),
        ("stations/stations_get", "list[StationListed]"),  # fields=: no member required
        ("stations/stations_post", "StationListed"),
        ("observations/observations_get", "list[ObservationExpanded]"),  # expand=station
        ("observation/observation_get", "Observation"),
        ("weather/weather_get", "Weather"),
        ("root/root_get", "Root"),
    ],
)
def test_returns_are_typed(generated: tuple[Path, str], module: str, returned: str) -> None:
    kinds = {kind.strip() for kind in _returns(generated[0], module).split("|")}
    models = kinds - {"Any", "None", "Problem"}  # 304 (no content), problems, no response
    assert models == {returned}


def test_head_functions_decode_no_body(generated: tuple[Path, str]) -> None:
    kinds = {kind.strip() for kind in _returns(generated[0], "station/station_head").split("|")}
    assert kinds <= {"Any", "None", "Problem"}


def test_the_generated_client_talks_to_the_site(
    sample: Site, generated: tuple[Path, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    package = generated[0]
    monkeypatch.syspath_prepend(str(package.parent))
    for name in [m for m in sys.modules if m == package.name or m.startswith(f"{package.name}.")]:
        monkeypatch.delitem(sys.modules, name)
    client_module = importlib.import_module(f"{package.name}.client")
    models = importlib.import_module(f"{package.name}.models")
    transport = httpx.WSGITransport(app=sample)
    client = client_module.AuthenticatedClient(
        base_url="http://localhost", token=TOKEN, httpx_args={"transport": transport}
    )
    post = importlib.import_module(f"{package.name}.api.stations.stations_post")
    body = models.Station(name="Zugspitze", latitude=47.42, longitude=10.98, country="DE")
    created = post.sync(client=client, body=body)
    assert isinstance(created, models.StationListed) and created.id is not None
    get = importlib.import_module(f"{package.name}.api.station.station_get")
    station = get.sync(station_id=created.id, client=client)
    assert isinstance(station, models.Station) and station.name == "Zugspitze"
    listing = importlib.import_module(f"{package.name}.api.stations.stations_get")
    stations = listing.sync(client=client)
    assert isinstance(stations, list) and [s.id for s in stations] == [created.id]
    head = importlib.import_module(f"{package.name}.api.station.station_head")
    assert head.sync_detailed(station_id=created.id, client=client).status_code == 200
    missing = get.sync(station_id=created.id + 1, client=client)
    assert isinstance(missing, models.Problem) and missing.status == 404


# -- linters ------------------------------------------------------------------------------------


def _node_tool(binary: str, package: str) -> list[str]:
    """The tool installed beside Python (as ``.ci/run`` does) or on PATH, else ``npx``."""
    found = shutil.which(binary, path=str(Path(sys.executable).parent)) or shutil.which(binary)
    if found:
        return [found]
    npx = shutil.which("npx")
    if npx is None:
        pytest.skip(f"neither {binary} nor npx is installed: .ci/run installs node and {package}")
    return [npx, "--yes", package]


def _run(command: list[str], cwd: Path) -> str:
    result = subprocess.run(
        command, cwd=cwd, capture_output=True, text=True, timeout=300, check=False
    )
    assert result.stdout.strip(), result.stderr
    return result.stdout


def test_redocly_finds_no_error(document_file: Path) -> None:
    tool = _node_tool("redocly", "@redocly/cli@2")
    report = json.loads(_run([*tool, "lint", document_file.name, "--format=json"],
                             document_file.parent))
    problems: list[dict[str, Any]] = report["problems"]
    errors = [p for p in problems if p["severity"] == "error"]
    assert report["totals"]["errors"] == 0, errors
    # documented choices: no license unless the site names one, OPTIONS of a route without
    # fields answers 204 whatever the request
    assert {p["ruleId"] for p in problems} <= {"info-license", "operation-4xx-response"}
    options = [p for p in problems if p["ruleId"] == "operation-4xx-response"]
    assert all(p["location"][0]["pointer"].endswith("/options/responses") for p in options)


def test_spectral_finds_no_error(document_file: Path) -> None:
    tool = _node_tool("spectral", "@stoplight/spectral-cli@6")
    ruleset = document_file.parent / ".spectral.yaml"
    ruleset.write_text('extends: ["spectral:oas"]\n')
    results: list[dict[str, Any]] = json.loads(_run(
        [*tool, "lint", document_file.name, "--ruleset", ruleset.name, "--format", "json",
         "--fail-severity", "error"],
        document_file.parent,
    ))
    errors = [r for r in results if r["severity"] == 0]
    assert errors == []
    # documented choices: no contact unless the site names one, and a description only where
    # a handler's docstring has more than its summary
    assert {r["code"] for r in results} <= {"info-contact", "operation-description"}
