"""Events recorded in the process that handles them: sweeper, cancel, rollup, sandbox."""

from __future__ import annotations

import contextlib
import uuid
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from prometheus_client import REGISTRY
from sqlalchemy import update

from fluxolab.engine.sandbox import SandboxError, SandboxLimits, bwrap, run_python
from fluxolab.executions import sweeper
from fluxolab.extensions import db
from fluxolab.metrics import instruments
from fluxolab.models import Execution, utcnow
from tests.factories import make_account
from tests.webhooks.helpers import active_hook, hook_flow, url
from workers import stats as stats_tasks


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def queued_run(client: FlaskClient) -> uuid.UUID:
    owner = make_account()
    _workflow_id, token = active_hook(client, owner, hook_flow())
    response = client.post(url(token), json={})
    assert response.status_code == 202, response.get_json()
    return uuid.UUID(response.get_json()["executionId"])


def test_the_sweeper_counts_what_it_publishes_again(app_ctx: Flask, client: FlaskClient) -> None:
    execution_id = queued_run(client)
    long_ago = utcnow() - timedelta(hours=1)
    db.session.execute(
        update(Execution).where(Execution.id == execution_id).values(queued_at=long_ago)
    )
    db.session.commit()
    before = sample("fluxolab_sweeper_republished_total", queue="executions")
    assert sweeper.republish_stale() == 1
    assert sample("fluxolab_sweeper_republished_total", queue="executions") == before + 1
    assert sweeper.republish_stale() == 0
    assert sample("fluxolab_sweeper_republished_total", queue="executions") == before + 1


def test_a_queued_run_canceled_through_the_api_is_counted_finished(
    app_ctx: Flask, client: FlaskClient
) -> None:
    owner = make_account()
    _workflow_id, token = active_hook(client, owner, hook_flow())
    execution_id = client.post(url(token), json={}).get_json()["executionId"]
    labels = {"status": "canceled", "mode": "webhook"}
    before = sample("fluxolab_executions_finished_total", **labels)
    response = client.post(f"/api/executions/{execution_id}/cancel", headers=owner.headers)
    assert response.status_code == 200, response.get_json()
    assert sample("fluxolab_executions_finished_total", **labels) == before + 1


def test_the_rollup_job_records_its_duration_and_last_success(app_ctx: Flask) -> None:
    before = sample("fluxolab_rollup_duration_seconds_count", outcome="ok")
    stats_tasks.rollup_execution_stats.run()
    assert sample("fluxolab_rollup_duration_seconds_count", outcome="ok") == before + 1
    last = sample("fluxolab_rollup_last_success_timestamp_seconds", table="execution_stats")
    assert abs(last - utcnow().timestamp()) < 60


def test_a_failed_rollup_is_timed_as_an_error_and_keeps_the_last_success() -> None:
    instruments.ROLLUP_LAST_SUCCESS.labels("execution_stats").set(1.0)
    before = sample("fluxolab_rollup_duration_seconds_count", outcome="error")
    with pytest.raises(RuntimeError), instruments.rollup_timer():
        raise RuntimeError("database gone")
    assert sample("fluxolab_rollup_duration_seconds_count", outcome="error") == before + 1
    assert sample("fluxolab_rollup_last_success_timestamp_seconds", table="execution_stats") == 1


def test_sandbox_runs_are_counted_by_outcome_and_refusals_apart() -> None:
    confined = bwrap.unavailable_reason() is None
    limits = SandboxLimits(require_isolation=True)
    names = [("fluxolab_sandbox_runs_total", {"outcome": kind}) for kind in ("ok", "syntax")]
    names.append(("fluxolab_sandbox_refusals_total", {"reason": "isolation_unavailable"}))
    before = [sample(name, **labels) for name, labels in names]
    for code in ("return items", "return (("):
        with contextlib.suppress(SandboxError):
            run_python(code, [{"json": {}}], limits)
    after = [sample(name, **labels) for name, labels in names]
    deltas = [round(b - a) for a, b in zip(before, after, strict=True)]
    assert deltas == ([1, 1, 0] if confined else [0, 0, 2])
