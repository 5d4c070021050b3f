"""The intake's gate and lookup cache, across two app instances (two API processes).

The cache keeps a found webhook per trigger generation; every commit that changes a
trigger or what its lookup reads starts a new generation (in Redis), so the other process
stops serving the old row with its next call. Also: the gate's counts (both throttles in
one Redis round trip) and what happens without Redis.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, func, select

from fluxolab.extensions import db
from fluxolab.models import Plan, Webhook, WebhookLog, Workspace
from tests.conftest import make_test_config
from tests.factories import Account, make_account
from tests.helpers import fresh_app
from tests.webhooks.helpers import active_hook, hook_flow, url


@pytest.fixture()
def other(app: Flask, database_url: str, redis_url: str, tmp_path: Path) -> Iterator[Flask]:
    """A second API process: same database, same Redis, its own lookup cache."""
    with fresh_app(make_test_config(database_url, redis_url, tmp_path), share_db_with=app) as two:
        yield two


def lookups(application: Flask) -> Callable[[], int]:
    """Count the token lookups (``SELECT ... FROM webhooks``) ``application`` sends."""
    seen = [0]

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().startswith("SELECT") and "FROM webhooks" in statement:
            seen[0] += 1

    with application.app_context():
        event.listen(db.engine, "before_cursor_execute", count)
    return lambda: seen[0]


def call(application: Flask, token: str, ip: str = "10.1.0.1") -> int:
    client = application.test_client()
    return client.post(url(token), json={}, environ_base={"REMOTE_ADDR": ip}).status_code


def test_repeat_calls_are_served_from_the_cache(other: Flask) -> None:
    owner = make_account()
    _, token = active_hook(other.test_client(), owner, hook_flow())
    counted = lookups(other)
    assert [call(other, token) for _ in range(3)] == [202] * 3
    assert counted() == 1  # the first call read the row; the next two did not
    with other.app_context():
        logged = db.session.scalar(select(func.count()).select_from(WebhookLog))
    assert logged == 3


def _rotate(client: FlaskClient, owner: Account, hook_id: str, _wf: str) -> int:
    path = f"/api/webhooks/{hook_id}/rotate-token"
    return client.post(path, headers=owner.headers).status_code


def _disable(_client: FlaskClient, _owner: Account, hook_id: str, _wf: str) -> int:
    """Through the ORM, as any service would (node-bound webhooks refuse a PUT of it)."""
    row = db.session.get(Webhook, uuid.UUID(hook_id))
    assert row is not None
    row.is_active = False
    db.session.commit()
    return 200


def _deactivate(client: FlaskClient, owner: Account, _hook: str, workflow_id: str) -> int:
    path = f"/api/workflows/{workflow_id}/status"
    return client.patch(path, json={"active": False}, headers=owner.headers).status_code


def _delete(client: FlaskClient, owner: Account, _hook: str, workflow_id: str) -> int:
    return client.delete(f"/api/workflows/{workflow_id}", headers=owner.headers).status_code


def _only_get(client: FlaskClient, owner: Account, _hook: str, workflow_id: str) -> int:
    body = {"definition": hook_flow({"method": "GET"})}
    path = f"/api/workflows/{workflow_id}"
    return client.put(path, json=body, headers=owner.headers).status_code


@pytest.mark.parametrize(
    ("change", "answer"),
    [(_rotate, 404), (_disable, 404), (_deactivate, 404), (_delete, 404), (_only_get, 405)],
    ids=["rotate", "disable", "deactivate", "delete", "new-version"],
)
def test_a_change_in_one_process_is_seen_by_the_next_call_in_another(
    app: Flask, client: FlaskClient, other: Flask, change: Any, answer: int
) -> None:
    owner = make_account()
    workflow_id, token = active_hook(client, owner, hook_flow())
    assert call(other, token) == 202  # now cached in the other process
    assert call(other, token) == 202
    listed = client.get(f"/api/webhooks?workflowId={workflow_id}", headers=owner.headers)
    hook_id = listed.get_json()["webhooks"]["webhooks"][0]["id"]
    assert change(client, owner, hook_id, workflow_id) in (200, 204)
    assert call(other, token) == answer


def test_a_lowered_plan_limit_is_seen_by_the_next_call(client: FlaskClient, other: Flask) -> None:
    owner = make_account()
    _, token = active_hook(client, owner, hook_flow())
    assert call(other, token) == 202
    workspace = db.session.get(Workspace, owner.workspace_id)
    assert workspace is not None
    plan = db.session.get(Plan, workspace.plan_id)
    assert plan is not None
    plan.limits = {**plan.limits, "executions": workspace.executions_used}
    db.session.commit()
    assert call(other, token) == 402


@pytest.fixture()
def limited(app: Flask, database_url: str, redis_url: str, tmp_path: Path) -> Iterator[Flask]:
    """Rate limits on, counted in Redis by the gate."""
    config = {
        **make_test_config(database_url, redis_url, tmp_path),
        "RATELIMIT_ENABLED": True,
        "WEBHOOK_IP_RATE_LIMIT_PER_MINUTE": 5,
    }
    with fresh_app(config, share_db_with=app) as limited_app:
        yield limited_app


def test_gate_counts_the_webhook_limit_with_retry_after(limited: Flask) -> None:
    owner = make_account()
    workflow_id, token = active_hook(limited.test_client(), owner, hook_flow())
    db.session.execute(
        Webhook.__table__.update()
        .where(Webhook.workflow_id == uuid.UUID(workflow_id))
        .values(rate_limit_per_minute=2)
    )
    base = f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}"
    codes = [call(limited, token, f"{base}.{n}") for n in range(4)]
    assert codes == [202, 202, 429, 429]
    last = limited.test_client().post(url(token), json={}, environ_base={"REMOTE_ADDR": base})
    assert last.status_code == 429 and 1 <= int(last.headers["Retry-After"]) <= 60
    assert isinstance(last.get_json()["message"], str)


def test_gate_counts_the_source_ip_over_unknown_tokens_too(limited: Flask) -> None:
    owner = make_account()
    _, token = active_hook(limited.test_client(), owner, hook_flow())
    ip = f"10.200.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}"
    assert [call(limited, "x" * 43, ip) for _ in range(5)] == [404] * 5
    assert call(limited, token, ip) == 429
    assert call(limited, token, "10.201.0.1") == 202  # another IP is not affected


def test_without_redis_the_call_goes_on_uncounted_and_uncached(
    app: Flask, database_url: str, tmp_path: Path, redis_url: str
) -> None:
    config = {
        **make_test_config(database_url, redis_url, tmp_path),
        "RATELIMIT_ENABLED": True,
        "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:1/0",  # nothing listens there
        "WEBHOOK_IP_RATE_LIMIT_PER_MINUTE": 1,
    }
    with fresh_app(config, share_db_with=app) as offline:
        owner = make_account()
        _, token = active_hook(offline.test_client(), owner, hook_flow())
        counted = lookups(offline)
        assert [call(offline, token) for _ in range(3)] == [202] * 3
        assert counted() == 3  # no generation to trust: every call reads the row
