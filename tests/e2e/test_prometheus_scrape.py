"""A real Prometheus server scrapes a running ``fluxolab standalone`` over loopback.

Debian's ``prometheus`` package (``scripts/ensure-tools.sh``, run by ``make test``)
scrapes ``/metrics`` every second with the bearer token from ``var/secrets.json``; the test
drives the system over HTTP and reads counters back through Prometheus' query API, worker
metrics included (standalone's api sums the worker's processes). A second job with a wrong
token must be down. Every expression of the Grafana dashboard must be valid PromQL there.
"""

from __future__ import annotations

import json
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bench._support import RUN_INPUT, WORKFLOW
from tests.e2e.test_standalone import (
    FLUXOLAB,
    HOST,
    PASSWORD,
    ROOT,
    System,
    _child_env,
    _free_port,
    _kill_everything,
    _wait_until_ready,
)
from tests.metrics.promql import dashboard_expressions
from tests.metrics.scrape import value

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(150)]

PROMETHEUS = Path("/usr/bin/prometheus")


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[System]:
    """A running ``fluxolab standalone`` on free ports and a fresh data folder."""
    if not PROMETHEUS.exists():
        pytest.skip("/usr/bin/prometheus is missing: run scripts/ensure-tools.sh as root")
    base = tmp_path_factory.mktemp("standalone-metrics")
    port, flower_port = _free_port(), _free_port()
    var_dir, output = base / "var", base / "standalone.out"
    argv = [str(FLUXOLAB), "standalone", "--host", HOST, "--port", str(port)]
    argv += ["--flower-port", str(flower_port), "--var-dir", str(var_dir)]
    env = _child_env()
    with output.open("wb") as sink:
        proc = subprocess.Popen(
            argv, cwd=ROOT, env=env, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True
        )
    running = System(
        proc, f"http://{HOST}:{port}", f"http://{HOST}:{flower_port}", var_dir, output, env
    )
    try:
        _wait_until_ready(running)
        yield running
    finally:
        _kill_everything(running)


@pytest.fixture(scope="module")
def prometheus(system: System, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Prometheus on a loopback port scraping the standalone api every second."""
    folder = tmp_path_factory.mktemp("prometheus")
    secrets = json.loads((system.var_dir / "secrets.json").read_text())
    (folder / "token").write_text(secrets["METRICS_TOKEN"])
    (folder / "wrong-token").write_text("not-the-metrics-token")
    target = system.api.removeprefix("http://")
    jobs = [("fluxolab-standalone", folder / "token"), ("wrong-token", folder / "wrong-token")]
    config = {
        "global": {"scrape_interval": "1s", "scrape_timeout": "1s", "evaluation_interval": "1s"},
        "scrape_configs": [
            {
                "job_name": name,
                "authorization": {"type": "Bearer", "credentials_file": str(token)},
                "static_configs": [{"targets": [target]}],
            }
            for name, token in jobs
        ],
    }
    (folder / "prometheus.yml").write_text(json.dumps(config))  # JSON is YAML
    port = _free_port()
    log = (folder / "prometheus.log").open("wb")
    proc = subprocess.Popen(
        [
            str(PROMETHEUS),
            f"--config.file={folder / 'prometheus.yml'}",
            f"--storage.tsdb.path={folder / 'data'}",
            f"--web.listen-address={HOST}:{port}",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://{HOST}:{port}"
    try:
        deadline = time.monotonic() + 60
        while not _ready(url):
            assert proc.poll() is None, (folder / "prometheus.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "prometheus did not become ready"
            time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def _ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/-/ready", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def query(prometheus: str, expr: str) -> list[dict[str, Any]]:
    response = httpx.get(f"{prometheus}/api/v1/query", params={"query": expr}, timeout=10)
    body = response.json()
    assert response.status_code == 200 and body["status"] == "success", (expr, body)
    result: list[dict[str, Any]] = body["data"]["result"]
    return result


def wait_for_value(prometheus: str, expr: str, at_least: float, timeout: float = 45) -> float:
    """Poll an instant query until its (single) value reaches ``at_least``."""
    deadline = time.monotonic() + timeout
    found = 0.0
    while time.monotonic() < deadline:
        result = query(prometheus, expr)
        found = float(result[0]["value"][1]) if result else 0.0
        if found >= at_least:
            return found
        time.sleep(0.5)
    pytest.fail(f"{expr} stayed at {found}, expected at least {at_least}")


def run_workflow(system: System) -> None:
    """Register, create the benchmark workflow and run it to success over HTTP."""
    email = f"metrics-{uuid.uuid4().hex[:8]}@example.com"
    with httpx.Client(base_url=f"{system.api}/api", timeout=15) as client:
        user = {"email": email, "password": PASSWORD, "displayName": "Metrics"}
        assert client.post("/auth/register", json=user).status_code == 201
        login = client.post("/auth/login", json={"email": email, "password": PASSWORD})
        client.headers["Authorization"] = f"Bearer {login.json()['token']}"
        created = client.post("/workflows", json={"name": "metrics", "definition": WORKFLOW})
        workflow_id = created.json()["workflow"]["id"]
        accepted = client.post(f"/workflows/{workflow_id}/run", json=RUN_INPUT)
        assert accepted.status_code == 202, accepted.text
        execution_id = accepted.json()["executionId"]
        deadline = time.monotonic() + 30
        while (
            status := client.get(f"/executions/{execution_id}").json()["execution"]["status"]
        ) in {
            "queued",
            "running",
        }:
            assert time.monotonic() < deadline, status
            time.sleep(0.2)
    assert status == "succeeded"


def test_prometheus_scrapes_the_api_with_the_token_and_not_without(
    system: System, prometheus: str
) -> None:
    wait_for_value(prometheus, 'up{job="fluxolab-standalone"}', 1)
    wait_for_value(prometheus, 'count(up{job="wrong-token"})', 1)  # scraped at least once
    assert [float(r["value"][1]) for r in query(prometheus, 'up{job="wrong-token"}')] == [0]


def test_a_request_counter_comes_back_through_prometheus(system: System, prometheus: str) -> None:
    secrets = json.loads((system.var_dir / "secrets.json").read_text())
    headers = {"Authorization": f"Bearer {secrets['METRICS_TOKEN']}"}
    text = httpx.get(f"{system.api}/metrics", headers=headers, timeout=10).text
    labels = {"route": "/api/health", "method": "GET", "status": "200"}
    before = value(text, "fluxolab_http_requests_total", **labels)
    for _ in range(7):
        assert httpx.get(f"{system.api}/api/health", timeout=5).status_code == 200
    selector = ",".join(f'{name}="{label}"' for name, label in labels.items())
    expr = f'sum(fluxolab_http_requests_total{{job="fluxolab-standalone",{selector}}})'
    assert wait_for_value(prometheus, expr, before + 7) == before + 7


def test_a_run_in_the_worker_is_counted_on_the_api_scrape(system: System, prometheus: str) -> None:
    run_workflow(system)
    finished = 'sum(fluxolab_executions_finished_total{status="succeeded",mode="manual"})'
    assert wait_for_value(prometheus, finished, 1) == 1
    assert (
        wait_for_value(prometheus, 'sum(fluxolab_executions_started_total{mode="manual"})', 1) == 1
    )
    depth = query(prometheus, "fluxolab_queue_depth")
    assert {r["metric"]["queue"] for r in depth} == {"executions", "node_tests", "maintenance"}


def test_every_dashboard_expression_is_valid_promql(prometheus: str) -> None:
    for expr in dashboard_expressions():
        query(prometheus, expr)
