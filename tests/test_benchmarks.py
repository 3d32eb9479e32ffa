"""The benchmark apps answer every scenario correctly: a fast wrong answer must never be timed.

The benchmark checks this itself before timing; here it runs on every change, so a change to
resourcekit that breaks the benchmark app (or a check that drifts from the contract) fails the
suite rather than the next benchmark run. Peers are checked where installed; so are the
database apps (each on its own fresh SQLite file), resourcekit's once it has ``resourcekit.sql``.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from typing import Any

import pytest

from benchmarks import http
from benchmarks.apps import DATABASE_FRAMEWORKS, FRAMEWORKS, notes
from benchmarks.database import DATABASE_SCENARIOS
from benchmarks.inprocess import make_environ, send, time_batch, time_steps
from benchmarks.scenarios import SCENARIOS, CheckFailed, Probe, verify


@pytest.mark.parametrize("framework", sorted(FRAMEWORKS))
@pytest.mark.parametrize("key", sorted(SCENARIOS))
def test_every_app_answers_every_scenario(framework: str, key: str) -> None:
    if FRAMEWORKS[framework].missing():
        pytest.skip(f"{framework} is not installed")
    scenario = SCENARIOS[key]
    if not scenario.applies_to(framework):
        pytest.skip(f"{key} is resourcekit's own")
    app = FRAMEWORKS[framework].create_app()
    verify(scenario, framework, lambda probe: send(app, probe))


def test_a_wrong_answer_is_caught() -> None:
    app = FRAMEWORKS["resourcekit"].create_app()
    wrong = {**SCENARIOS["S2"].__dict__, "probe": Probe("GET", "/items/43")}
    with pytest.raises(CheckFailed, match="S2"):
        verify(type(SCENARIOS["S2"])(**wrong), "resourcekit", lambda probe: send(app, probe))


def test_a_timed_batch_leaves_the_app_answering_the_same() -> None:
    """Thousands of POSTs and PUTs overwrite, never grow, the store: the answers stay checked."""
    app = FRAMEWORKS["resourcekit"].create_app()
    for key in ("S3", "F2"):
        scenario = SCENARIOS[key]
        micros = time_batch(app, make_environ(scenario.probe), scenario.probe.body, 200)
        assert micros > 0
        verify(scenario, "resourcekit", lambda probe: send(app, probe))


# -- the database scenarios -------------------------------------------------------------------


@pytest.mark.parametrize("framework", sorted(DATABASE_FRAMEWORKS))
@pytest.mark.parametrize("key", sorted(DATABASE_SCENARIOS))
def test_every_database_app_answers_every_database_scenario(framework: str, key: str) -> None:
    reason = DATABASE_FRAMEWORKS[framework].skip_reason()
    if reason:
        pytest.skip(f"{framework}: {reason}")
    app = DATABASE_FRAMEWORKS[framework].create_app()
    for _ in range(2):  # the checks hold run after run: writes never collide or go stale
        verify(DATABASE_SCENARIOS[key], framework, lambda probe: send(app, probe))


def _note(app: Any, note_id: int) -> dict[str, Any]:
    reply = send(app, Probe("GET", f"/notes/{note_id}", headers=(("Accept", "application/json"),)))
    assert reply.status == 200
    return json.loads(reply.body)


def test_timed_writes_really_write_and_stay_checked() -> None:
    """Every timed POST adds a row and every timed PUT advances the version by one."""
    app = DATABASE_FRAMEWORKS["raw"].create_app()
    create, update = DATABASE_SCENARIOS["D3"], DATABASE_SCENARIOS["D4"]
    before = _note(app, notes.EDITED_IDS[0])["version"]
    for scenario in (create, update):
        assert scenario.steps is not None
        steps = scenario.steps(lambda probe: send(app, probe), 0)
        assert time_steps(app, make_environ(scenario.probe), steps, 50) > 0
        assert steps.failures == 0
        verify(scenario, "raw", lambda probe: send(app, probe))
    assert _note(app, notes.EDITED_IDS[0])["version"] == before + 51  # 50 timed, 1 checked
    assert _note(app, notes.NOTE_COUNT + 51)["title"].startswith("bench ")


def test_an_update_that_does_not_write_is_caught() -> None:
    """A PUT answered like a GET (200, the row unchanged) must fail D4's check."""
    real = DATABASE_FRAMEWORKS["raw"].create_app()

    def lazy(environ: dict[str, Any], start_response: Any) -> Any:
        if environ["REQUEST_METHOD"] == "PUT":
            environ = {**environ, "REQUEST_METHOD": "GET"}
        return real(environ, start_response)

    with pytest.raises(CheckFailed, match="D4"):
        verify(DATABASE_SCENARIOS["D4"], "raw", lambda probe: send(lazy, probe))


def test_a_wrong_list_is_caught() -> None:
    app = DATABASE_FRAMEWORKS["raw"].create_app()
    wrong = replace(DATABASE_SCENARIOS["D2"], probe=Probe("GET", "/notes", "sort=-updated_at"))
    with pytest.raises(CheckFailed, match="D2"):
        verify(wrong, "raw", lambda probe: send(app, probe))


@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed")
@pytest.mark.parametrize("key", ["S3", "D3", "D4"])
def test_wrk_sends_the_scenario_not_the_bare_url(key: str) -> None:
    """A wrk script error makes wrk load the bare URL with GET: the cell must fail instead,
    and a good script must really write (the POSTs create, the PUTs advance versions)."""
    scenario = {**SCENARIOS, **DATABASE_SCENARIOS}[key]
    family = "database" if key in DATABASE_SCENARIOS else "api"
    with http.serving("raw", None, family=family) as port:
        measured = http.run_wrk(port, scenario, 0.5, 2, None)
        assert measured.rps > 0
        if key == "D4":
            tag = http.send(port, Probe("GET", f"/notes/{notes.EDITED_IDS[0]}")).body
            assert json.loads(tag)["version"] > 2
        else:
            path = "/items/101" if key == "S3" else f"/notes/{notes.NOTE_COUNT + 1}"
            assert http.send(port, Probe("GET", path)).status == 200
