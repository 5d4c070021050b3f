"""The table itself: append-only on PostgreSQL, pruned by age only, masked values, runs' use."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import delete, select, text, update
from sqlalchemy.exc import DBAPIError

import celeryconfig
from fluxolab import audit
from fluxolab.audit import service
from fluxolab.credentials import service as credentials
from fluxolab.engine.registry import registry
from fluxolab.executions import service as executions
from fluxolab.executions.runner import run_execution
from fluxolab.extensions import db
from fluxolab.models import AuditEntry, utcnow
from fluxolab.workflows import service as workflows
from tests.audit.trail import CANARY, as_text
from tests.factories import make_account
from tests.services.test_credential_resolver import ECHO, definition
from workers import maintenance


def _entry(age_days: float = 0, workspace_id: uuid.UUID | None = None) -> AuditEntry:
    entry = audit.record("test.entry", ("thing", "1"), workspace_id=workspace_id)
    entry.created_at = utcnow() - timedelta(days=age_days)
    db.session.commit()
    return entry


def _ids() -> set[uuid.UUID]:
    return set(db.session.execute(select(AuditEntry.id)).scalars())


@pytest.mark.parametrize(
    "statement",
    [
        pytest.param(lambda: update(AuditEntry).values(action="forged"), id="update"),
        pytest.param(lambda: delete(AuditEntry), id="delete"),
    ],
)
def test_postgresql_refuses_to_update_or_delete_an_entry(
    app_ctx: Flask, statement: Callable[[], Any]
) -> None:
    entry = _entry()
    with pytest.raises(DBAPIError, match="append-only"), db.session.begin_nested():
        db.session.execute(statement().where(AuditEntry.id == entry.id))
    db.session.expire_all()
    kept = db.session.get(AuditEntry, entry.id)
    assert kept is not None and kept.action == "test.entry"


def test_the_retention_setting_is_needed_and_lets_only_deletes_through(app_ctx: Flask) -> None:
    entry = _entry()
    with db.session.begin_nested():
        db.session.execute(text("SELECT set_config('fluxolab.audit_retention', 'on', true)"))
        with pytest.raises(DBAPIError, match="append-only"), db.session.begin_nested():
            db.session.execute(
                update(AuditEntry).where(AuditEntry.id == entry.id).values(action="x")
            )
        db.session.execute(delete(AuditEntry).where(AuditEntry.id == entry.id))
    assert entry.id not in _ids()


def test_retention_prunes_only_entries_past_the_age(app: Flask, app_ctx: Flask) -> None:
    old, kept = _entry(age_days=400), _entry(age_days=300)
    assert service.prune() == 1
    assert old.id not in _ids() and kept.id in _ids()
    # the setting is off again: nothing but the job can delete
    with pytest.raises(DBAPIError, match="append-only"), db.session.begin_nested():
        db.session.execute(delete(AuditEntry).where(AuditEntry.id == kept.id))


def test_retention_follows_the_setting(
    app: Flask, app_ctx: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    entry = _entry(age_days=40)
    monkeypatch.setitem(app.config, "AUDIT_RETENTION_DAYS", 30)
    assert maintenance.prune_audit() == 1  # the beat task's body
    assert entry.id not in _ids()


def test_the_retention_job_is_on_the_beat_schedule() -> None:
    entry = celeryconfig.beat_schedule["prune-audit-log"]
    assert entry["task"] == "maintenance.prune_audit"
    assert entry["schedule"] == 3600.0


def test_a_rolled_back_change_leaves_no_entry(app_ctx: Flask) -> None:
    before = _ids()
    audit.record("test.entry", ("thing", "1"))
    db.session.rollback()
    assert _ids() == before


def test_secret_named_values_are_masked_and_diffs_keep_changed_keys() -> None:
    before = {"name": "a", "password": CANARY, "nested": {"apiKey": CANARY, "n": 1}}
    after = {"name": "b", "password": CANARY + "2", "nested": {"apiKey": CANARY, "n": 1}}
    old, new = audit.diff(before, after)
    assert (old, new) == ({"name": "a"}, {"name": "b"})
    masked = audit.mask({"token": CANARY, "list": [{"clientSecret": CANARY}], "planCode": "free"})
    assert masked == {"token": "***", "list": [{"clientSecret": "***"}], "planCode": "free"}


def test_a_system_entry_outside_a_request_has_no_actor(app_ctx: Flask) -> None:
    entry = audit.record("test.entry", None, None, {"password": CANARY})
    assert (entry.actor_type, entry.actor_user_id, entry.ip_address) == ("system", None, None)
    assert entry.after == {"password": "***"}
    assert CANARY not in as_text(entry)
    db.session.rollback()


@pytest.fixture()
def echo_node() -> Iterator[None]:
    registry.add(ECHO)
    yield
    registry._types.pop(ECHO.type)
    registry._lookup.pop(ECHO.type)


def test_a_run_records_each_credential_it_used_once(
    app: Flask, committed_db: None, echo_node: None
) -> None:
    with app.app_context():
        account = make_account()
        fields = {"name": "api", "type": "http-bearer", "secret": {"token": CANARY}}
        credential = credentials.create_credential(account.workspace_id, account.user_id, fields)
        body = definition(credential.id)
        body["nodes"].insert(2, {**body["nodes"][1], "id": "again", "name": "De novo"})
        body["connections"] = [
            {"from": "t", "to": "use"},
            {"from": "use", "to": "again"},
            {"from": "again", "to": "after"},
        ]
        workflow = workflows.create_workflow(
            account.workspace_id, account.user_id, {"name": "W", "definition": body}
        )
        execution_id = executions.create_execution(
            account.workspace_id, workflow.id, [{"json": {}}], mode="manual", user_id=None
        ).id
        db.session.commit()
        assert run_execution(execution_id) == "succeeded"
        db.session.remove()
        rows = (
            db.session.execute(select(AuditEntry).where(AuditEntry.action == "credential.used"))
            .scalars()
            .all()
        )
        assert len(rows) == 1
        (entry,) = rows
        assert (entry.actor_type, entry.actor_user_id) == ("system", None)
        assert entry.workspace_id == account.workspace_id
        assert (entry.target_type, entry.target_id) == ("credential", str(credential.id))
        assert entry.after == {"executionId": str(execution_id)}
        assert CANARY not in as_text(entry)
