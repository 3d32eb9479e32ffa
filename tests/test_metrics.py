"""Prometheus metrics at ``/metrics`` (CONTRACT.md section 10): counts by method, route
template and status, bounded labels, credentials when configured, and sums across processes."""

from __future__ import annotations

import os
import random
import string
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from helpers import free_port, http_request, item_site, running, wait_until_serving
from prometheus_client.parser import text_string_to_metric_families

from resourcekit import auth
from resourcekit.metrics import Metrics
from resourcekit.testing import Client

COUNTER = "http_server_requests"
HISTOGRAM = "http_server_request_duration_seconds"




def samples(text: str, name: str) -> dict[tuple[str, str, str], float]:
    """``{(method, route, status): value}`` of one sample name in the exposition."""
    found: dict[tuple[str, str, str], float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name:
                labels = sample.labels
                key = (labels["method"], labels["route"], labels["status"])
                found[key] = found.get(key, 0) + sample.value
    return found


def test_requests_are_counted_by_method_route_and_status() -> None:
    client = Client(item_site(metrics=True))
    for item_id in (1, 2, 3):
        client.get(f"/items/{item_id}")
    client.delete("/items/1")
    client.get("/nowhere")
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain; version=")
    assert response.headers["Cache-Control"] == "no-store"
    assert samples(response.text, COUNTER + "_total") == {
        ("GET", "/items/{item_id:int}", "200"): 3,
        ("DELETE", "/items/{item_id:int}", "405"): 1,
        ("GET", "<unmatched>", "404"): 1,
    }
    counts = samples(response.text, HISTOGRAM + "_count")
    assert counts[("GET", "/items/{item_id:int}", "200")] == 3
    assert samples(response.text, HISTOGRAM + "_sum")[("GET", "/items/{item_id:int}", "200")] > 0
    scraped = samples(client.get("/metrics").text, COUNTER + "_total")
    assert scraped[("GET", "/metrics", "200")] == 1  # the first scrape, counted once answered


def test_labels_stay_bounded_whatever_clients_send() -> None:
    client = Client(item_site(metrics=True))
    rng = random.Random(7)
    alphabet = string.ascii_letters + string.digits + "-._~%"
    for _ in range(200):
        path = "/" + "/".join(
            "".join(rng.choices(alphabet, k=rng.randint(1, 12))) for _ in range(rng.randint(1, 4))
        )
        client.get(path)
    for method in ("BREW", "X" * 50, "PROPFIND"):
        client.request(method, "/items/1")
    families = list(text_string_to_metric_families(client.get("/metrics").text))
    routes = {s.labels["route"] for f in families for s in f.samples if "route" in s.labels}
    methods = {s.labels["method"] for f in families for s in f.samples if "method" in s.labels}
    assert routes <= {"/items/{item_id:int}", "<unmatched>", "/metrics"}
    assert methods <= {"GET", "_OTHER"}
    total = sum(samples(client.get("/metrics").text, COUNTER + "_total").values())
    assert total == 200 + 3 + 1


def test_each_site_counts_its_own() -> None:
    first, second = Client(item_site(metrics=True)), Client(item_site(metrics=True))
    first.get("/items/1")
    assert samples(second.get("/metrics").text, COUNTER + "_total") == {}


def test_metrics_behind_credentials_when_configured() -> None:
    bearer = auth.Bearer(lambda token: "prometheus" if token == "scrape-token" else None)
    client = Client(item_site(metrics=Metrics(authentication=[bearer])))
    assert client.get("/metrics").status_code == 401
    ok = client.get("/metrics", headers={"Authorization": "Bearer scrape-token"})
    assert ok.status_code == 200 and COUNTER in ok.text


def test_no_credentials_needed_where_the_site_requires_them() -> None:
    bearer = auth.Bearer(lambda token: None)
    client = Client(item_site(metrics=True, authentication=[bearer]))
    assert client.get("/items/1").status_code == 401
    assert client.get("/metrics").status_code == 200


def test_not_in_the_openapi_document() -> None:
    document = item_site(metrics=True).openapi()
    assert "/metrics" not in document["paths"] and "/items/{item_id}" in document["paths"]


def test_a_site_without_metrics_imports_no_prometheus_client() -> None:
    code = ("import sys; from resourcekit import Site; Site(); "
            "print('prometheus_client' in sys.modules, 'opentelemetry' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True, timeout=60)
    assert result.stdout.split() == ["False", "False"]


MULTI_APP = textwrap.dedent(
    """
    from resourcekit import Resource, Site

    site = Site(metrics=True)

    @site.route("/items/{item_id:int}")
    class Item(Resource):
        def get(self, request, item_id):
            return {"id": item_id}
    """
)


def test_counts_are_summed_across_processes(tmp_path: Path) -> None:
    (tmp_path / "multiapp.py").write_text(MULTI_APP)
    folder = tmp_path / "prometheus"
    folder.mkdir()
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(folder)}
    ports = [free_port(), free_port()]
    commands = [[sys.executable, "-m", "resourcekit", "serve", "multiapp:site", "--port",
                 str(port)] for port in ports]
    with running(commands[0], cwd=tmp_path, env=env) as one, \
            running(commands[1], cwd=tmp_path, env=env) as two:
        wait_until_serving(ports[0], one)
        wait_until_serving(ports[1], two)
        bases = [f"http://127.0.0.1:{port}" for port in ports]
        for i in range(3):
            assert http_request(bases[0], "GET", f"/items/{i}").status_code == 200
        for i in range(5):
            assert http_request(bases[1], "GET", f"/items/{i}").status_code == 200
        http_request(bases[1], "GET", "/nope")
        seen = [samples(http_request(base, "GET", "/metrics").body.decode(), COUNTER + "_total")
                for base in bases]
    item = ("GET", "/items/{item_id:int}", "200")
    assert seen[0][item] == seen[1][item] == 8  # whichever process answers the scrape
    assert seen[0][("GET", "<unmatched>", "404")] == 1
    assert len(list(folder.iterdir())) >= 2  # each process wrote its own files


@pytest.mark.parametrize("path", ["/metrics/", "/metrics/x", "/metrics?format=json"])
def test_other_paths_near_metrics(path: str) -> None:
    response = Client(item_site(metrics=True)).get(path)
    assert response.status_code == (200 if "?" in path else 404)
