"""Executions API: run, list, detail, cancel, retry, delete, approval (task bodies in-process)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import event

from fluxolab.executions.runner import run_execution
from fluxolab.executions.sweeper import resume_due_waits
from fluxolab.extensions import db
from fluxolab.models import Execution, Plan, Workspace, utcnow
from tests.factories import Account, make_account, make_member
from tests.workers.test_execution_worker import FIVE_NODES

APPROVAL = {
    "nodes": [
        {"id": "t", "type": "manual"},
        {"id": "ok", "type": "approval", "params": {"message": "Aprovar?", "timeout": 1}},
        {"id": "yes", "type": "no-op"},
        {"id": "no", "type": "no-op"},
    ],
    "connections": [
        {"from": "t", "to": "ok"},
        {"from": "ok", "to": "yes", "output": "approved"},
        {"from": "ok", "to": "no", "output": "rejected"},
    ],
}


def new_workflow(client: FlaskClient, account: Account, definition: dict[str, Any]) -> str:
    response = client.post(
        "/api/workflows", json={"name": "W", "definition": definition}, headers=account.headers
    )
    assert response.status_code == 201, response.get_json()
    return str(response.get_json()["workflow"]["id"])


def start(client: FlaskClient, account: Account, workflow_id: str, body: Any = None) -> str:
    response = client.post(f"/api/workflows/{workflow_id}/run", json=body, headers=account.headers)
    assert response.status_code == 202, response.get_json()
    return str(response.get_json()["executionId"])


def test_run_answers_202_and_persists_a_queued_execution(client: FlaskClient) -> None:
    account = make_account()
    workflow_id = new_workflow(client, account, FIVE_NODES)
    response = client.post(
        f"/api/workflows/{workflow_id}/run", json={"n": 2}, headers=account.headers
    )
    assert response.status_code == 202
    body = response.get_json()
    assert body["status"] == "accepted"
    assert body["statusUrl"] == f"/api/executions/{body['executionId']}"
    execution = db.session.get(Execution, uuid.UUID(body["executionId"]))
    assert execution is not None
    assert (execution.status, execution.mode, execution.version) == ("queued", "manual", 1)
    assert execution.input_items == [{"json": {"n": 2}}]


def test_task_body_runs_the_execution_and_detail_shows_steps(client: FlaskClient) -> None:
    account = make_account()
    execution_id = start(client, account, new_workflow(client, account, FIVE_NODES), {"n": 3})
    assert run_execution(uuid.UUID(execution_id)) == "succeeded"
    assert run_execution(uuid.UUID(execution_id)) == "skipped"
    body = client.get(f"/api/executions/{execution_id}", headers=account.headers).get_json()
    execution = body["execution"]
    assert execution["status"] == "succeeded"
    assert [step["nodeId"] for step in execution["steps"]] == ["t", "s1", "if", "s2", "end"]
    assert execution["outputItems"] == [{"json": {"n": 3, "big": "yes"}}]
    assert execution["durationMs"] is not None


def test_detail_cancel_and_lists_name_the_workflow(client: FlaskClient) -> None:
    account = make_account()
    workflow_id = new_workflow(client, account, FIVE_NODES)
    execution_id = start(client, account, workflow_id)
    detail = client.get(f"/api/executions/{execution_id}", headers=account.headers).get_json()
    canceled = client.post(f"/api/executions/{execution_id}/cancel", headers=account.headers)
    listed = client.get("/api/executions", headers=account.headers).get_json()
    per_workflow = client.get(
        f"/api/workflows/{workflow_id}/executions", headers=account.headers
    ).get_json()

    assert detail["execution"]["workflowName"] == "W"
    assert canceled.get_json()["execution"]["workflowName"] == "W"
    assert [item["workflowName"] for item in listed["executions"]] == ["W"]
    assert [item["workflowName"] for item in per_workflow["executions"]] == ["W"]


def _statements_for(client: FlaskClient, account: Account, path: str) -> int:
    """How many SQL statements one GET of ``path`` runs."""
    seen: list[str] = []

    def count(*args: Any) -> None:
        seen.append(args[2])

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        assert client.get(path, headers=account.headers).status_code == 200
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    return len(seen)


def test_execution_lists_name_workflows_without_a_query_per_row(client: FlaskClient) -> None:
    account = make_account()
    workflow_ids = [new_workflow(client, account, FIVE_NODES) for _ in range(4)]
    start(client, account, workflow_ids[0])
    one_row = _statements_for(client, account, "/api/executions")
    for workflow_id in workflow_ids:
        start(client, account, workflow_id)
    five_rows = _statements_for(client, account, "/api/executions")
    assert five_rows == one_row


def test_run_of_an_unrunnable_workflow_is_422_naming_the_node(client: FlaskClient) -> None:
    account = make_account()
    definition = {
        "nodes": [{"id": "t", "type": "manual"}, {"id": "x", "type": "frobnicate"}],
        "connections": [{"from": "t", "to": "x"}],
    }
    workflow_id = new_workflow(client, account, definition)
    response = client.post(f"/api/workflows/{workflow_id}/run", headers=account.headers)
    assert response.status_code == 422
    assert "frobnicate" in response.get_json()["message"]
    assert db.session.query(Execution).count() == 0


def test_run_with_non_json_body_is_415(client: FlaskClient) -> None:
    account = make_account()
    workflow_id = new_workflow(client, account, FIVE_NODES)
    response = client.post(
        f"/api/workflows/{workflow_id}/run",
        data="a=1",
        content_type="text/plain",
        headers=account.headers,
    )
    assert response.status_code == 415
    assert response.get_json()["code"] == "unsupported_media_type"


def test_plan_execution_quota_is_402(client: FlaskClient) -> None:
    account = make_account()
    workflow_id = new_workflow(client, account, FIVE_NODES)
    workspace = db.session.get(Workspace, account.workspace_id)
    assert workspace is not None
    plan = db.session.get(Plan, workspace.plan_id)
    assert plan is not None
    workspace.executions_used = plan.limits["executions"]
    db.session.commit()
    response = client.post(f"/api/workflows/{workflow_id}/run", headers=account.headers)
    assert response.status_code == 402
    assert response.get_json()["code"] == "plan_limit_exceeded"


def test_idempotency_key_returns_the_first_execution(client: FlaskClient) -> None:
    account = make_account()
    workflow_id = new_workflow(client, account, FIVE_NODES)
    headers = {**account.headers, "Idempotency-Key": "abc"}
    first = client.post(f"/api/workflows/{workflow_id}/run", headers=headers).get_json()
    second = client.post(f"/api/workflows/{workflow_id}/run", headers=headers).get_json()
    assert first["executionId"] == second["executionId"]
    assert db.session.query(Execution).count() == 1


def test_viewer_can_read_but_not_run(client: FlaskClient) -> None:
    owner = make_account()
    viewer = make_member(owner, "viewer")
    workflow_id = new_workflow(client, owner, FIVE_NODES)
    execution_id = start(client, owner, workflow_id)
    assert (
        client.post(f"/api/workflows/{workflow_id}/run", headers=viewer.headers).status_code == 403
    )
    assert client.get(f"/api/executions/{execution_id}", headers=viewer.headers).status_code == 200
    for path in ("cancel", "retry"):
        assert (
            client.post(
                f"/api/executions/{execution_id}/{path}", json={}, headers=viewer.headers
            ).status_code
            == 403
        )
    assert (
        client.delete(f"/api/executions/{execution_id}", headers=viewer.headers).status_code == 403
    )


def test_other_workspace_execution_is_404_everywhere(client: FlaskClient) -> None:
    owner, stranger = make_account(), make_account()
    workflow_id = new_workflow(client, owner, FIVE_NODES)
    execution_id = start(client, owner, workflow_id)
    calls = [
        ("get", f"/api/executions/{execution_id}"),
        ("post", f"/api/executions/{execution_id}/cancel"),
        ("post", f"/api/executions/{execution_id}/retry"),
        ("delete", f"/api/executions/{execution_id}"),
        ("post", f"/api/workflows/{workflow_id}/run"),
        ("get", f"/api/workflows/{workflow_id}/executions"),
    ]
    for method, path in calls:
        kwargs: dict[str, Any] = {"headers": stranger.headers}
        if method == "post":
            kwargs["json"] = {}
        response = getattr(client, method)(path, **kwargs)
        assert response.status_code == 404, (method, path, response.get_json())
    execution = db.session.get(Execution, uuid.UUID(execution_id))
    assert execution is not None and execution.status == "queued"


def test_cancel_queued_never_starts_and_finished_is_409(client: FlaskClient) -> None:
    account = make_account()
    execution_id = start(client, account, new_workflow(client, account, FIVE_NODES))
    response = client.post(f"/api/executions/{execution_id}/cancel", headers=account.headers)
    assert response.status_code == 200
    assert response.get_json()["execution"]["status"] == "canceled"
    assert run_execution(uuid.UUID(execution_id)) == "skipped"
    again = client.post(f"/api/executions/{execution_id}/cancel", headers=account.headers)
    assert again.status_code == 409


def test_retry_links_to_the_original(client: FlaskClient) -> None:
    account = make_account()
    execution_id = start(client, account, new_workflow(client, account, FIVE_NODES), {"n": 9})
    run_execution(uuid.UUID(execution_id))
    response = client.post(
        f"/api/executions/{execution_id}/retry",
        json={"version": "current"},
        headers=account.headers,
    )
    assert response.status_code == 202
    body = response.get_json()
    assert body["retryOfId"] == execution_id
    retried = db.session.get(Execution, uuid.UUID(body["executionId"]))
    assert retried is not None
    assert (retried.mode, retried.input_items) == ("retry", [{"json": {"n": 9}}])


def test_delete_requires_a_finished_execution(client: FlaskClient) -> None:
    account = make_account()
    execution_id = start(client, account, new_workflow(client, account, FIVE_NODES))
    assert (
        client.delete(f"/api/executions/{execution_id}", headers=account.headers).status_code == 409
    )
    run_execution(uuid.UUID(execution_id))
    response = client.delete(f"/api/executions/{execution_id}", headers=account.headers)
    assert response.status_code == 200
    assert client.get(f"/api/executions/{execution_id}", headers=account.headers).status_code == 404


def test_list_filters_and_paginates(client: FlaskClient) -> None:
    account = make_account()
    workflow_id = new_workflow(client, account, FIVE_NODES)
    ids = [start(client, account, workflow_id) for _ in range(3)]
    run_execution(uuid.UUID(ids[0]))
    body = client.get("/api/executions?limit=2", headers=account.headers).get_json()
    assert (body["total"], body["limit"], body["offset"]) == (3, 2, 0)
    assert [item["id"] for item in body["executions"]] == [ids[2], ids[1]]
    done = client.get("/api/executions?status=succeeded", headers=account.headers).get_json()
    assert [item["id"] for item in done["executions"]] == [ids[0]]
    per_workflow = client.get(
        f"/api/workflows/{workflow_id}/executions?page=2&limit=2", headers=account.headers
    ).get_json()
    assert [item["id"] for item in per_workflow["executions"]] == [ids[0]]


@pytest.mark.parametrize(
    ("approved", "branch"), [(True, "yes"), (False, "no")], ids=["approve", "reject"]
)
def test_approval_waits_then_resumes_on_decision(
    client: FlaskClient, approved: bool, branch: str
) -> None:
    account = make_account()
    execution_id = start(client, account, new_workflow(client, account, APPROVAL))
    assert run_execution(uuid.UUID(execution_id)) == "waiting"
    detail = client.get(f"/api/executions/{execution_id}", headers=account.headers).get_json()
    assert detail["execution"]["waitingFor"]["kind"] == "approval"
    wrong = client.post(
        f"/api/executions/{execution_id}/approval",
        json={"nodeId": "nope", "approved": True},
        headers=account.headers,
    )
    assert wrong.status_code == 404
    response = client.post(
        f"/api/executions/{execution_id}/approval",
        json={"nodeId": "ok", "approved": approved},
        headers=account.headers,
    )
    assert response.status_code == 202
    assert run_execution(uuid.UUID(execution_id)) == "succeeded"
    steps = client.get(f"/api/executions/{execution_id}", headers=account.headers).get_json()
    node_ids = [step["nodeId"] for step in steps["execution"]["steps"]]
    assert node_ids[-1] == branch


def test_approval_timeout_rejects(client: FlaskClient) -> None:
    account = make_account()
    execution_id = start(client, account, new_workflow(client, account, APPROVAL))
    run_execution(uuid.UUID(execution_id))
    execution = db.session.get(Execution, uuid.UUID(execution_id))
    assert execution is not None
    execution.wait_until = utcnow()
    db.session.commit()
    assert resume_due_waits() == 1
    assert run_execution(uuid.UUID(execution_id)) == "succeeded"
    steps = client.get(f"/api/executions/{execution_id}", headers=account.headers).get_json()
    assert steps["execution"]["steps"][-1]["nodeId"] == "no"


@pytest.mark.parametrize(
    ("body", "items"),
    [
        (None, [{"json": {}}]),
        ({"a": 1}, [{"json": {"a": 1}}]),
        ([{"a": 1}, {"json": {"b": 2}}], [{"json": {"a": 1}}, {"json": {"b": 2}}]),
    ],
    ids=["empty", "object", "list"],
)
def test_run_input_becomes_items(client: FlaskClient, body: Any, items: list[Any]) -> None:
    account = make_account()
    execution_id = start(client, account, new_workflow(client, account, FIVE_NODES), body)
    execution = db.session.get(Execution, uuid.UUID(execution_id))
    assert execution is not None and execution.input_items == items


@pytest.mark.parametrize(
    "body", [5, "text", [1, 2], [{}] * 1001], ids=["int", "str", "scalars", "too-many"]
)
def test_run_input_that_is_not_objects_is_422(client: FlaskClient, body: Any) -> None:
    account = make_account()
    workflow_id = new_workflow(client, account, FIVE_NODES)
    response = client.post(f"/api/workflows/{workflow_id}/run", json=body, headers=account.headers)
    assert response.status_code == 422
    assert db.session.query(Execution).count() == 0
