"""The benchmark apps answer every scenario correctly: a fast wrong answer must never be timed.

The benchmark checks this itself before timing; here it runs on every change, so a change to
resourcekit that breaks the benchmark app (or a check that drifts from the contract) fails the
suite rather than the next benchmark run. Peers are checked where installed.
"""

from __future__ import annotations

import pytest

from benchmarks.apps import FRAMEWORKS
from benchmarks.inprocess import make_environ, send, time_batch
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
