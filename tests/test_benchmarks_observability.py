"""``python -m benchmarks.observability`` checks every variant's answers and times them."""

from __future__ import annotations

import pytest

from benchmarks import observability


def test_every_variant_answers_and_is_timed() -> None:
    pytest.importorskip("prometheus_client")
    pytest.importorskip("opentelemetry.sdk")
    results = observability.run(["S1", "S2"], rounds=1, batch=20)
    assert set(results) == {"S1", "S2"}
    assert all(set(by) == set(observability.VARIANTS) and min(by.values()) > 0
               for by in results.values())
    table = observability.table(results)
    assert table.count("\n") == 3 and "access log" in table
