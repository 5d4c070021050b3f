"""The ``settings.errorWorkflowId`` workflow setting: validation, round trip, clearing."""

from __future__ import annotations

import uuid
from typing import Any

from flask.testing import FlaskClient

from tests.factories import Account, make_account
from tests.helpers import assert_envelope

NOT_FOUND = "Workflow de erro nao encontrado neste workspace."
ERROR_FLOW = {"nodes": [{"id": "e", "type": "error-trigger", "name": "On error"}]}


def create(client: FlaskClient, account: Account, **body: Any) -> dict[str, Any]:
    body = {"name": "W", **body}
    response = client.post("/api/workflows", json=body, headers=account.headers)
    assert response.status_code == 201, response.get_json()
    workflow: dict[str, Any] = response.get_json()["workflow"]
    return workflow


def put(client: FlaskClient, account: Account, workflow_id: str, **body: Any) -> Any:
    return client.put(f"/api/workflows/{workflow_id}", json=body, headers=account.headers)


def error_workflow_id(client: FlaskClient, account: Account, workflow_id: str) -> Any:
    response = client.get(f"/api/workflows/{workflow_id}", headers=account.headers)
    assert response.status_code == 200
    return response.get_json()["workflow"]["settings"]["errorWorkflowId"]


def test_unset_by_default_and_set_on_create(client: FlaskClient) -> None:
    owner = make_account()
    handler = create(client, owner, definition=ERROR_FLOW)
    assert handler["settings"] == {"errorWorkflowId": None, "minutesSavedPerRun": 0}
    watched = create(client, owner, settings={"errorWorkflowId": handler["id"]})
    assert watched["settings"] == {"errorWorkflowId": handler["id"], "minutesSavedPerRun": 0}
    assert error_workflow_id(client, owner, watched["id"]) == handler["id"]


def test_update_sets_keeps_and_null_clears(client: FlaskClient) -> None:
    owner = make_account()
    handler = create(client, owner)
    watched = create(client, owner)
    response = put(client, owner, watched["id"], settings={"errorWorkflowId": handler["id"]})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["workflow"]["settings"]["errorWorkflowId"] == handler["id"]
    assert put(client, owner, watched["id"], name="Renamed").status_code == 200
    assert put(client, owner, watched["id"], settings={}).status_code == 200
    assert error_workflow_id(client, owner, watched["id"]) == handler["id"]
    response = put(client, owner, watched["id"], settings={"errorWorkflowId": None})
    assert response.status_code == 200
    assert error_workflow_id(client, owner, watched["id"]) is None


def test_another_workspace_looks_exactly_like_a_missing_workflow(client: FlaskClient) -> None:
    owner, stranger = make_account(), make_account()
    foreign = create(client, stranger)
    watched = create(client, owner)
    answers = []
    for target in (foreign["id"], str(uuid.uuid4())):
        response = put(client, owner, watched["id"], settings={"errorWorkflowId": target})
        answers.append(assert_envelope(response, 422, "validation_error"))
    assert answers[0] == answers[1]
    assert answers[0]["message"] == NOT_FOUND
    assert answers[0]["errors"] == {"settings": {"errorWorkflowId": [NOT_FOUND]}}
    response = client.post(
        "/api/workflows",
        json={"name": "X", "settings": {"errorWorkflowId": foreign["id"]}},
        headers=owner.headers,
    )
    assert assert_envelope(response, 422, "validation_error")["message"] == NOT_FOUND
    assert error_workflow_id(client, owner, watched["id"]) is None


def test_a_workflow_cannot_be_its_own_error_workflow(client: FlaskClient) -> None:
    owner = make_account()
    watched = create(client, owner)
    response = put(client, owner, watched["id"], settings={"errorWorkflowId": watched["id"]})
    body = assert_envelope(response, 422, "validation_error")
    assert body["message"] == "Um workflow nao pode ser o seu proprio workflow de erro."
    assert error_workflow_id(client, owner, watched["id"]) is None


def test_a_deleted_workflow_is_refused_and_deleting_clears_references(
    client: FlaskClient,
) -> None:
    owner = make_account()
    handler = create(client, owner)
    watched = create(client, owner, settings={"errorWorkflowId": handler["id"]})
    before = client.get(f"/api/workflows/{watched['id']}", headers=owner.headers).get_json()
    response = client.delete(f"/api/workflows/{handler['id']}", headers=owner.headers)
    assert response.status_code == 200
    after = client.get(f"/api/workflows/{watched['id']}", headers=owner.headers).get_json()
    assert after["workflow"]["settings"]["errorWorkflowId"] is None
    assert after["workflow"]["updatedAt"] == before["workflow"]["updatedAt"]
    response = put(client, owner, watched["id"], settings={"errorWorkflowId": handler["id"]})
    assert assert_envelope(response, 422, "validation_error")["message"] == NOT_FOUND


def test_unknown_settings_and_bad_ids_are_refused(client: FlaskClient) -> None:
    owner = make_account()
    watched = create(client, owner)
    for settings in ({"timezone": "UTC"}, {"errorWorkflowId": "nope"}, {"errorWorkflowId": 5}):
        response = put(client, owner, watched["id"], settings=settings)
        assert_envelope(response, 422)


def test_duplicating_keeps_the_error_workflow(client: FlaskClient) -> None:
    owner = make_account()
    handler = create(client, owner)
    watched = create(client, owner, settings={"errorWorkflowId": handler["id"]})
    response = client.post(f"/api/workflows/{watched['id']}/duplicate", headers=owner.headers)
    assert response.status_code == 201, response.get_json()
    settings = response.get_json()["workflow"]["settings"]
    assert settings == {"errorWorkflowId": handler["id"], "minutesSavedPerRun": 0}
