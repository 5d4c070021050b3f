"""``/api/workflows/nodes/test``: shapes, validation, roles, isolation, limits, outages.

No worker runs here (``NODE_TEST_WAIT_SECONDS`` is 0 in the test config): a test answers 202
at once, and the worker's service (``testing.run_test``) is called directly where a result
is needed. ``tests/workers/test_node_tests.py`` runs them through real workers.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update

from fluxolab import completion
from fluxolab.extensions import db
from fluxolab.models import NodeTest, Plan, Workspace, utcnow
from fluxolab.nodes import testing
from tests.conftest import make_test_config
from tests.factories import Account, make_account, make_member
from tests.helpers import assert_envelope, fresh_app

URL = "/api/workflows/nodes/test"
SET_NODE = {
    "nodeType": "set",
    "config": {"fields": [{"name": "b", "value": "{{ $json.a + 1 }}"}]},
    "inputData": {"a": 1},
}


@pytest.fixture()
def owner() -> Account:
    return make_account()


def post(client: FlaskClient, account: Account, body: dict[str, Any]) -> Any:
    return client.post(URL, json=body, headers=account.headers)


def row(test_id: str) -> NodeTest:
    found = db.session.get(NodeTest, uuid.UUID(test_id))
    assert found is not None
    db.session.refresh(found)
    return found


def test_post_answers_202_with_where_to_poll_and_stores_the_request(
    client: FlaskClient, owner: Account
) -> None:
    response = post(client, owner, {**SET_NODE, "credentialId": None})
    assert response.status_code == 202, response.get_json()
    body = response.get_json()
    assert set(body) == {"status", "testId", "statusUrl"}
    assert body["status"] == "queued"
    assert body["statusUrl"] == f"{URL}/{body['testId']}"
    stored = row(body["testId"])
    assert (stored.workspace_id, stored.user_id, stored.node_type) == (
        owner.workspace_id,
        owner.user_id,
        "set",
    )
    assert stored.request == {
        "config": SET_NODE["config"],
        "inputData": [{"json": {"a": 1}}],
        "credentialId": None,
    }
    assert stored.expires_at - stored.created_at == timedelta(seconds=3600)
    polled = client.get(body["statusUrl"], headers=owner.headers)
    assert polled.status_code == 202
    assert polled.get_json() == body


def test_a_finished_test_answers_200_with_the_output_by_port(
    client: FlaskClient, owner: Account
) -> None:
    test_id = post(client, owner, SET_NODE).get_json()["testId"]
    assert testing.run_test(uuid.UUID(test_id)) == "succeeded"
    response = client.get(f"{URL}/{test_id}", headers=owner.headers)
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "succeeded"
    result = body["result"]
    assert set(result) == {"success", "output", "logs", "durationMs"}
    assert result["success"] is True
    assert result["output"] == {"main": [{"json": {"a": 1, "b": 2}}]}
    assert result["logs"] == []
    assert 0 <= result["durationMs"] < 5000


def test_a_second_delivery_of_the_task_is_a_no_op(client: FlaskClient, owner: Account) -> None:
    test_id = uuid.UUID(post(client, owner, SET_NODE).get_json()["testId"])
    assert testing.run_test(test_id) == "succeeded"
    first = row(str(test_id)).result
    assert testing.run_test(test_id) == "skipped"
    assert row(str(test_id)).result == first


def test_a_branch_node_answers_its_true_and_false_ports(
    client: FlaskClient, owner: Account
) -> None:
    body = {
        "nodeType": "if-condition",
        "config": {"condition": "{{ $json.n }}", "operator": "greater", "value": 3},
        "inputData": [{"n": 5}, {"n": 1}],
    }
    test_id = post(client, owner, body).get_json()["testId"]
    testing.run_test(uuid.UUID(test_id))
    output = client.get(f"{URL}/{test_id}", headers=owner.headers).get_json()["result"]["output"]
    assert output == {"true": [{"json": {"n": 5}}], "false": [{"json": {"n": 1}}]}


def test_invalid_config_gives_a_failed_result_naming_the_field(
    client: FlaskClient, owner: Account
) -> None:
    body = {"nodeType": "limit", "config": {"maxItems": -1}, "inputData": []}
    test_id = post(client, owner, body).get_json()["testId"]
    assert testing.run_test(uuid.UUID(test_id)) == "failed"
    response = client.get(f"{URL}/{test_id}", headers=owner.headers)
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "failed"
    result = body["result"]
    assert result["success"] is False
    assert result["error"]["type"] == "ValidationError"
    assert "maxItems" in result["error"]["message"]


def test_a_code_node_reports_what_it_printed(client: FlaskClient, owner: Account) -> None:
    body = {
        "nodeType": "code-execute",
        "config": {"language": "python", "code": "print('hello')\nreturn items"},
        "inputData": {"a": 1},
    }
    test_id = post(client, owner, body).get_json()["testId"]
    testing.run_test(uuid.UUID(test_id))
    result = client.get(f"{URL}/{test_id}", headers=owner.headers).get_json()["result"]
    assert result["success"] is True, result
    assert any("hello" in line for line in result["logs"])


def test_an_alias_resolves_to_its_node(client: FlaskClient, owner: Account) -> None:
    body = {"nodeType": "if.branch", "config": {"left": "$json.a", "operator": "notEmpty"}}
    response = post(client, owner, {**body, "inputData": {"a": "x"}})
    assert response.status_code == 202, response.get_json()
    testing.run_test(uuid.UUID(response.get_json()["testId"]))
    result = client.get(response.get_json()["statusUrl"], headers=owner.headers).get_json()
    assert result["result"]["output"]["true"] == [{"json": {"a": "x"}}]


def test_unknown_node_type_is_422_naming_the_field_and_stores_nothing(
    client: FlaskClient, owner: Account
) -> None:
    response = post(client, owner, {"nodeType": "teleport", "config": {}})
    body = assert_envelope(response, 422, "validation_error")
    assert body["errors"] == {"nodeType": ["Unknown node type 'teleport'"]}
    assert db.session.scalars(select(NodeTest)).all() == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"config": {}}, "nodeType"),
        ({"nodeType": ""}, "nodeType"),
        ({"nodeType": "set", "config": []}, "config"),
        ({"nodeType": "set", "inputData": 3}, "_body"),
        ({"nodeType": "set", "inputData": [1, 2]}, "_body"),
        ({"nodeType": "set", "workspaceId": str(uuid.uuid4())}, "workspaceId"),
        ({"nodeType": "set", "credentialId": "c1"}, "credentialId"),
    ],
    ids=[
        "missing-type",
        "empty-type",
        "config-list",
        "input-scalar",
        "input-not-objects",
        "mass-assignment",
        "credential-for-a-node-without",
    ],
)
def test_bad_body_is_422_naming_the_field(
    client: FlaskClient, owner: Account, body: dict[str, Any], field: str
) -> None:
    envelope = assert_envelope(post(client, owner, body), 422, "validation_error")
    assert field in envelope["errors"]
    assert db.session.scalars(select(NodeTest)).all() == []


def test_viewer_cannot_run_a_node_test(client: FlaskClient, owner: Account) -> None:
    response = post(client, make_member(owner, "viewer"), SET_NODE)
    assert_envelope(response, 403, "forbidden")
    assert db.session.scalars(select(NodeTest)).all() == []


@pytest.mark.parametrize("role", ["editor", "admin"])
def test_editors_and_admins_can_run_a_node_test(
    client: FlaskClient, owner: Account, role: str
) -> None:
    assert post(client, make_member(owner, role), SET_NODE).status_code == 202


def test_needs_a_token(client: FlaskClient) -> None:
    assert_envelope(client.post(URL, json=SET_NODE), 401)
    assert_envelope(client.get(f"{URL}/{uuid.uuid4()}"), 401)


def test_another_workspace_or_user_cannot_read_a_test(client: FlaskClient, owner: Account) -> None:
    test_id = post(client, owner, SET_NODE).get_json()["testId"]
    for other in (make_account(), make_member(owner, "admin")):
        assert_envelope(client.get(f"{URL}/{test_id}", headers=other.headers), 404, "not_found")


def test_unknown_test_id_is_404(client: FlaskClient, owner: Account) -> None:
    assert_envelope(client.get(f"{URL}/{uuid.uuid4()}", headers=owner.headers), 404)


def test_an_expired_test_is_404_and_pruned(client: FlaskClient, owner: Account) -> None:
    test_id = post(client, owner, SET_NODE).get_json()["testId"]
    kept = post(client, owner, SET_NODE).get_json()["testId"]
    db.session.execute(
        update(NodeTest)
        .where(NodeTest.id == uuid.UUID(test_id))
        .values(expires_at=utcnow() - timedelta(seconds=1))
    )
    db.session.commit()
    assert_envelope(client.get(f"{URL}/{test_id}", headers=owner.headers), 404)
    assert testing.prune() == {"expired": 1, "failed": 0}
    assert db.session.get(NodeTest, uuid.UUID(test_id)) is None
    assert db.session.get(NodeTest, uuid.UUID(kept)) is not None


def test_prune_fails_a_test_no_worker_finished_in_time(client: FlaskClient, owner: Account) -> None:
    test_id = post(client, owner, SET_NODE).get_json()["testId"]
    db.session.execute(
        update(NodeTest)
        .where(NodeTest.id == uuid.UUID(test_id))
        .values(created_at=utcnow() - timedelta(minutes=10))
    )
    db.session.commit()
    assert testing.prune() == {"expired": 0, "failed": 1}
    body = client.get(f"{URL}/{test_id}", headers=owner.headers).get_json()
    assert body["status"] == "failed"
    assert body["result"]["error"]["type"] == "lost"
    assert testing.run_test(uuid.UUID(test_id)) == "skipped"


def test_node_tests_never_count_against_the_execution_quota(
    client: FlaskClient, owner: Account
) -> None:
    workspace = db.session.get(Workspace, owner.workspace_id)
    assert workspace is not None
    plan = db.session.get(Plan, workspace.plan_id)
    assert plan is not None
    plan.limits = {**plan.limits, "executions": 0}
    db.session.commit()
    for _ in range(3):
        test_id = post(client, owner, SET_NODE).get_json()["testId"]
        assert testing.run_test(uuid.UUID(test_id)) == "succeeded"
    db.session.refresh(workspace)
    assert workspace.executions_used == 0


def test_the_route_wins_over_workflow_ids(client: FlaskClient, owner: Account) -> None:
    assert post(client, owner, SET_NODE).status_code == 202
    assert client.get(URL, headers=owner.headers).status_code == 405


@pytest.fixture()
def limited(app: Flask, database_url: str, redis_url: str, tmp_path: Path) -> Iterator[FlaskClient]:
    """A client of an app with a limit of 2 node tests per minute (fresh in-memory counters)."""
    config = {
        **make_test_config(database_url, redis_url, tmp_path),
        "RATELIMIT_ENABLED": True,
        "RATELIMIT_STORAGE_URI": "memory://",
        "NODE_TEST_RATE_LIMIT": "2 per minute",
    }
    with fresh_app(config, share_db_with=app) as limited_app:
        yield limited_app.test_client()


def test_rate_limit_is_per_user_with_retry_after(limited: FlaskClient, owner: Account) -> None:
    colleague = make_member(owner, "editor")
    for _ in range(2):
        assert post(limited, owner, SET_NODE).status_code == 202
    response = post(limited, owner, SET_NODE)
    assert_envelope(response, 429, "rate_limited")
    assert 1 <= int(response.headers["Retry-After"]) <= 60
    assert post(limited, colleague, SET_NODE).status_code == 202


def test_broker_down_is_a_quick_503_and_the_test_is_failed(
    app: Flask, database_url: str, redis_url: str, tmp_path: Path, owner: Account
) -> None:
    config = {
        **make_test_config(database_url, redis_url, tmp_path),
        "CELERY": {"broker_url": "redis://127.0.0.1:1/0"},
        "NODE_TEST_WAIT_SECONDS": 5,
    }
    with fresh_app(config, share_db_with=app) as down:
        started = time.monotonic()
        response = post(down.test_client(), owner, SET_NODE)
        elapsed = time.monotonic() - started
        body = assert_envelope(response, 503, "service_unavailable")
        assert "broker" in body["message"]
        assert response.headers["Retry-After"]
        assert elapsed < 3
        with down.app_context():
            stored = db.session.scalars(select(NodeTest)).one()
            assert stored.status == "failed"
            assert stored.result is not None
            assert stored.result["error"]["type"] == "unavailable"
        completion.hub(down).close()


def test_a_credential_used_by_a_node_test_records_its_last_use(
    client: FlaskClient, owner: Account
) -> None:
    created = client.post(
        "/api/workflows/credentials",
        json={"name": "api token", "type": "http-bearer", "secret": {"token": "tok-1234567890"}},
        headers=owner.headers,
    )
    assert created.status_code == 201, created.get_json()
    credential_id = created.get_json()["credential"]["id"]
    body = {
        "nodeType": "http-request",
        "config": {"url": "http://127.0.0.1:9/", "method": "GET"},
        "inputData": [],
        "credentialId": credential_id,
    }
    test_id = post(client, owner, body).get_json()["testId"]
    testing.run_test(uuid.UUID(test_id))
    detail = client.get(f"/api/credentials/{credential_id}", headers=owner.headers).get_json()
    assert detail["credential"]["lastUsedAt"] is not None
