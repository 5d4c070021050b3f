"""The Grafana dashboard and the scrape config: every queried metric exists, configs are valid."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.metrics.promql import ROOT, dashboard_expressions, metric_names
from tests.metrics.scrape import sample_names

TOKEN = "dashboard-test-token-0123456789abcdef0123"
# Series Prometheus itself adds to every target.
PROMETHEUS_SERIES = {"up"}


@pytest.fixture()
def exposition(app: Flask, client: FlaskClient, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setitem(app.config, "METRICS_TOKEN", TOKEN)
    response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_metric_names_reads_selectors_not_functions_labels_or_numbers() -> None:
    expr = (
        'histogram_quantile(0.95, sum by (le, route) (rate(a_bucket{status=~"5..", x="b c"}[5m])))'
        " / clamp_min(sum without (pid) (b_total offset 1h), 1e-9) * on (job) group_left up"
    )
    assert metric_names(expr) == {"a_bucket", "b_total", "up"}
    assert metric_names("time() - max(c_seconds)") == {"c_seconds"}


def test_every_metric_the_dashboard_queries_is_exposed_by_the_app(exposition: str) -> None:
    expressions = dashboard_expressions()
    queried = set().union(*(metric_names(expr) for expr in expressions))
    assert len(expressions) >= 20
    missing = queried - sample_names(exposition) - PROMETHEUS_SERIES
    assert missing == set()


def test_the_dashboard_shows_every_fluxolab_metric(exposition: str) -> None:
    queried = set().union(*(metric_names(expr) for expr in dashboard_expressions()))
    families = {
        line.split()[2] for line in exposition.splitlines() if line.startswith("# TYPE fluxolab_")
    }
    shown = {name for name in families if any(q.startswith(name) for q in queried)}
    assert families - shown == set()


def test_prometheus_accepts_the_scrape_config(tmp_path: Path) -> None:
    promtool = shutil.which("promtool") or "/usr/bin/promtool"
    if not Path(promtool).exists():
        pytest.skip("promtool (Debian package prometheus) is not installed")
    token = tmp_path / "metrics-token"
    token.write_text(TOKEN)
    config = (ROOT / "deploy" / "prometheus" / "prometheus.yml").read_text()
    assert "/prometheus/metrics-token" in config
    local = tmp_path / "prometheus.yml"
    local.write_text(config.replace("/prometheus/metrics-token", str(token)))
    checked = subprocess.run(
        [promtool, "check", "config", str(local)], capture_output=True, text=True, timeout=60
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
