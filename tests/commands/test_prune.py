"""``fluxolab prune``: every retention job now, with their counts."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

from flask import Flask
from sqlalchemy import select

from fluxolab.extensions import db
from fluxolab.models import Execution, PasswordResetRequest, utcnow
from tests.factories import make_account
from tests.services.test_execution_retention import add_execution, new_workflow, seal


def counts(output: str) -> dict[str, dict[str, int]]:
    """``{job: {what: n}}`` from lines like ``node tests: expired 0, failed 0``."""
    found: dict[str, dict[str, int]] = {}
    for line in output.splitlines():
        job, sep, rest = line.partition(": ")
        if sep and re.fullmatch(r"([a-z ]+ \d+)(, [a-z ]+ \d+)*", rest):
            found[job] = {
                " ".join(part.split()[:-1]): int(part.split()[-1]) for part in rest.split(", ")
            }
    return found


def test_prune_runs_every_retention_job_and_prints_their_counts(app: Flask) -> None:
    workflow = new_workflow()
    old = add_execution(workflow, "succeeded", timedelta(days=40))
    recent = add_execution(workflow, "succeeded", timedelta(days=1))
    live = add_execution(workflow, "running", timedelta(days=40))
    seal()
    account = make_account()
    db.session.add(
        PasswordResetRequest(
            id=uuid.uuid4(),
            user_id=account.user_id,
            code_hash="x",
            created_at=utcnow() - timedelta(days=2),
            expires_at=utcnow() - timedelta(days=1),
        )
    )
    db.session.commit()

    result = app.test_cli_runner().invoke(args=["prune"])

    assert result.exit_code == 0, result.output
    report = counts(result.output)
    assert list(report) == [
        "executions",
        "webhook logs",
        "node tests",
        "schedule fires",
        "auth records",
        "audit entries",
    ]
    assert report["executions"]["deleted"] >= 1
    assert report["auth records"]["reset requests"] >= 1
    assert set(report["node tests"]) == {"expired", "failed"}
    left = set(db.session.execute(select(Execution.id)).scalars())
    assert old not in left and {recent, live} <= left
    assert db.session.execute(select(PasswordResetRequest.id)).first() is None

    again = counts(app.test_cli_runner().invoke(args=["prune"]).output)
    assert again["executions"] == {"deleted": 0}
    assert again["auth records"]["reset requests"] == 0
