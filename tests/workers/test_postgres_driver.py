"""The PostgreSQL driver the suite does not run on, on the paths where drivers differ.

The suite runs on ``DATABASE_URL``'s driver (``scripts/with-services.sh``: psycopg 3 unless
``DATABASE_DRIVER=psycopg2``); this module repeats, on the other one, what depends on the
driver: a run through a real worker process (JSON, UUID and timestamp adaptation, the claim
and lease statements), the webhook intake's one-statement insert in an autocommit connection
of its own, and the database errors the API translates (unique violations -> 409, a
database that does not answer -> 503). The whole suite on either driver:
``DATABASE_DRIVER=psycopg2 make test``.
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
from sqlalchemy.engine import make_url

from bench._support import WORKFLOW
from fluxolab.config import POSTGRES_DRIVERS
from fluxolab.extensions import db
from fluxolab.models import Execution, WebhookLog, Workspace
from tests.conftest import make_test_config
from tests.factories import PASSWORD, make_account
from tests.helpers import assert_envelope, fresh_app
from tests.webhooks.helpers import active_hook, hook_flow, url
from tests.workers.conftest import WorkerProcess, wait_for_status

pytestmark = pytest.mark.worker


@pytest.fixture()
def other_url(database_url: str) -> str:
    """The test database's URL with the driver the rest of the suite does not use."""
    parsed = make_url(database_url)
    (other,) = (name for name in POSTGRES_DRIVERS if name != parsed.get_driver_name())
    return parsed.set(drivername=f"postgresql+{other}").render_as_string(hide_password=False)


@pytest.fixture()
def other_app(
    other_url: str, redis_url: str, tmp_path: Path, committed_db: None
) -> Iterator[Flask]:
    """An app on the other driver, committing for real (worker processes read its rows)."""
    with fresh_app(make_test_config(other_url, redis_url, tmp_path)) as application:
        with application.app_context():
            assert db.engine.dialect.driver == make_url(other_url).get_driver_name()
        yield application


@pytest.fixture()
def api(other_app: Flask) -> Iterator[FlaskClient]:
    with other_app.app_context():
        yield other_app.test_client()


def test_a_run_through_a_worker_on_the_other_driver(
    other_app: Flask, api: FlaskClient, other_url: str, start_worker: Callable[..., WorkerProcess]
) -> None:
    start_worker(DATABASE_URL=other_url)
    owner = make_account()
    created = api.post(
        "/api/workflows", json={"name": "W", "definition": WORKFLOW}, headers=owner.headers
    )
    assert created.status_code == 201, created.get_json()
    workflow_id = created.get_json()["workflow"]["id"]
    answer = api.post(f"/api/workflows/{workflow_id}/run", json={"n": 5}, headers=owner.headers)
    assert answer.status_code == 202, answer.get_json()
    execution = wait_for_status(other_app, uuid.UUID(answer.get_json()["executionId"]))
    assert execution.status == "succeeded", execution.error
    assert execution.output_items == [{"json": {"n": 5, "big": "yes"}}]  # JSONB both ways
    assert execution.workflow_id == uuid.UUID(workflow_id)
    assert execution.finished_at is not None and execution.finished_at.tzinfo is not None
    detail = api.get(f"/api/executions/{execution.id}", headers=owner.headers)
    assert detail.status_code == 200, detail.get_json()
    steps = detail.get_json()["execution"]["steps"]
    assert [step["nodeId"] for step in steps] == ["t", "s1", "if", "s2", "end"]


def test_webhook_intake_on_the_other_driver_commits_alone(
    other_app: Flask, api: FlaskClient, other_url: str, start_worker: Callable[..., WorkerProcess]
) -> None:
    owner = make_account()
    _, token = active_hook(api, owner, hook_flow())
    isolation: list[str] = []

    def watch(conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.startswith("WITH charged"):
            isolation.append(str(conn.get_execution_options().get("isolation_level")))

    event.listen(db.engine, "before_cursor_execute", watch)
    try:
        answers = [api.post(url(token), json={"n": index}) for index in range(3)]
    finally:
        event.remove(db.engine, "before_cursor_execute", watch)
    assert [a.status_code for a in answers] == [202] * 3, [a.get_json() for a in answers]
    assert isolation == ["None", "AUTOCOMMIT", "AUTOCOMMIT"]  # cached: one statement, no BEGIN
    ids = {uuid.UUID(a.get_json()["executionId"]) for a in answers}
    db.session.remove()
    logged = db.session.scalars(
        select(WebhookLog.execution_id).where(WebhookLog.execution_id.in_(ids))
    )
    assert set(logged) == ids
    workspace = db.session.get(Workspace, owner.workspace_id)
    assert workspace is not None and workspace.executions_used == 3
    db.session.remove()
    start_worker(DATABASE_URL=other_url)
    finished = [wait_for_status(other_app, execution_id) for execution_id in ids]
    assert {execution.status for execution in finished} == {"succeeded"}
    assert {execution.mode for execution in finished} == {"webhook"}


def test_database_errors_are_translated_on_the_other_driver(api: FlaskClient) -> None:
    owner = make_account()
    again = api.post(
        "/api/auth/register",
        json={"email": owner.user.email, "password": PASSWORD, "displayName": "Ana"},
    )
    assert_envelope(again, 409, "email_taken")
    secret = {
        "host": "smtp.example.com",
        "port": 587,
        "secure": False,
        "user": "a",
        "password": "p",
    }
    body = {"name": "Same", "type": "smtp", "secret": secret}  # the unique index on lower(name)
    first = api.post("/api/workflows/credentials", json=body, headers=owner.headers)
    assert first.status_code == 201, first.get_json()
    same = api.post(
        "/api/workflows/credentials", json={**body, "name": "same"}, headers=owner.headers
    )
    assert_envelope(same, 409, "credential_name_taken")
    _, token = active_hook(api, owner, hook_flow())
    keyed = [api.post(url(token), json={"n": 1}, headers={"Idempotency-Key": "k-1"}) for _ in "ab"]
    assert [a.status_code for a in keyed] == [202, 202]
    assert keyed[0].get_json()["executionId"] == keyed[1].get_json()["executionId"]
    changed = api.post(url(token), json={"n": 2}, headers={"Idempotency-Key": "k-1"})
    assert_envelope(changed, 409)
    stored = db.session.scalar(
        select(func.count())
        .select_from(Execution)
        .where(Execution.workspace_id == owner.workspace_id)
    )
    assert stored == 1


def test_a_database_that_does_not_answer_is_503_on_the_other_driver(
    other_url: str, redis_url: str, tmp_path: Path
) -> None:
    closed = make_url(other_url).set(host="127.0.0.1", port=1, database="x")
    config = make_test_config(closed.render_as_string(hide_password=False), redis_url, tmp_path)
    with fresh_app(config) as down:
        response = down.test_client().post(
            "/api/auth/login", json={"email": "a@example.com", "password": PASSWORD}
        )
    assert_envelope(response, 503, "service_unavailable")
    assert int(response.headers["Retry-After"]) > 0
