"""Workflow CRUD, versions, activation and duplication (contract 3.1, 3.2, 6)."""

from __future__ import annotations

import copy
import hashlib
import json
from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.factories import Account, make_account

BUILDER_BODY: dict[str, Any] = {
    "name": "Novo Workflow",
    "definition": {"nodes": [{"id": "1", "type": "trigger", "params": {}}], "connections": []},
}
RUNNABLE: dict[str, Any] = {
    "nodes": [
        {"id": "1", "type": "trigger", "name": "When click", "params": {}},
        {"id": "2", "type": "no-op", "name": "Nothing", "params": {}},
    ],
    "connections": [{"from": "1", "to": "2"}],
}
DETAIL_KEYS = {
    "id",
    "workspaceId",
    "name",
    "description",
    "status",
    "active",
    "tags",
    "createdAt",
    "updatedAt",
    "version",
    "executionCount",
    "lastExecutedAt",
    "definition",
    "settings",
}
DASHBOARD_KEYS = {"id", "name", "owner", "active", "lastUpdated", "created", "status", "tags"}


def create_workflow(client: FlaskClient, account: Account, **body: Any) -> dict[str, Any]:
    """POST a workflow (the builder's body overlaid with ``body``) and return it."""
    response = client.post(
        "/api/workflows", json={**copy.deepcopy(BUILDER_BODY), **body}, headers=account.headers
    )
    assert response.status_code == 201, response.get_json()
    workflow = response.get_json()["workflow"]
    assert isinstance(workflow, dict)
    return workflow


def get_workflow(client: FlaskClient, account: Account, workflow_id: str) -> dict[str, Any]:
    response = client.get(f"/api/workflows/{workflow_id}", headers=account.headers)
    assert response.status_code == 200, response.get_json()
    workflow = response.get_json()["workflow"]
    assert isinstance(workflow, dict)
    return workflow


def canonical_sha256(definition: dict[str, Any]) -> str:
    text = json.dumps(definition, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


@pytest.fixture()
def owner() -> Account:
    return make_account(name="Ana Souza")


def test_builder_post_creates_draft_version_1(client: FlaskClient, owner: Account) -> None:
    response = client.post("/api/workflows", json=BUILDER_BODY, headers=owner.headers)
    assert response.status_code == 201
    body = response.get_json()
    assert body["status"] == "created"
    workflow = body["workflow"]
    assert set(workflow) == DETAIL_KEYS
    assert workflow["version"] == 1
    assert workflow["status"] == "draft" and workflow["active"] is False
    assert workflow["name"] == "Novo Workflow"
    assert workflow["tags"] == [] and workflow["description"] == ""
    assert workflow["executionCount"] == 0 and workflow["lastExecutedAt"] is None
    assert workflow["workspaceId"] == str(owner.workspace_id)
    assert workflow["definition"] == BUILDER_BODY["definition"]


def test_second_identical_builder_post_is_also_created(client: FlaskClient, owner: Account) -> None:
    first = create_workflow(client, owner)
    second = create_workflow(client, owner)
    assert first["id"] != second["id"]
    assert first["name"] == second["name"] == "Novo Workflow"


def test_post_without_definition_stores_an_empty_graph(client: FlaskClient, owner: Account) -> None:
    response = client.post("/api/workflows", json={"name": "Vazio"}, headers=owner.headers)
    assert response.status_code == 201
    assert response.get_json()["workflow"]["definition"] == {"nodes": [], "connections": []}


def test_post_keeps_ui_fields_of_nodes_and_connections(client: FlaskClient, owner: Account) -> None:
    definition = {
        "nodes": [
            {
                "id": "1",
                "type": "trigger",
                "name": "When click",
                "params": {"a": {"b": [1, 2]}},
                "position": {"x": 10, "y": 20.5},
                "ports": [{"id": "p1", "kind": "output", "label": "out"}],
                "style": {"icon": "bolt", "accent": "#fff", "variant": "info", "status": "ready"},
            },
            {"id": "2", "type": "some.future.type"},
        ],
        "connections": [
            {
                "id": "c1",
                "from": "1",
                "to": "2",
                "output": "main",
                "label": "ok",
                "variant": "dashed",
                "fromPort": "p1",
                "toPort": "p2",
            }
        ],
    }
    created = create_workflow(client, owner, definition=definition)
    assert get_workflow(client, owner, created["id"])["definition"] == definition


def test_post_deduplicates_tags_keeping_order(client: FlaskClient, owner: Account) -> None:
    created = create_workflow(client, owner, tags=["vendas", "crm", "vendas", "b"])
    assert created["tags"] == ["vendas", "crm", "b"]


def test_names_and_tags_are_stored_without_surrounding_whitespace(
    client: FlaskClient, owner: Account
) -> None:
    created = create_workflow(client, owner, name="  Leads  ", tags=[" crm ", "crm", "\tb "])
    assert (created["name"], created["tags"]) == ("Leads", ["crm", "b"])
    response = client.put(
        f"/api/workflows/{created['id']}", json={"name": " Renomeado\n"}, headers=owner.headers
    )
    assert response.status_code == 200, response.get_json()
    assert get_workflow(client, owner, created["id"])["name"] == "Renomeado"


def test_get_returns_detail_with_current_definition(client: FlaskClient, owner: Account) -> None:
    created = create_workflow(client, owner, description="Leads", tags=["crm"])
    response = client.get(f"/api/workflows/{created['id']}", headers=owner.headers)
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "ok"
    assert set(body["workflow"]) == DETAIL_KEYS
    assert body["workflow"]["description"] == "Leads"
    assert body["workflow"]["tags"] == ["crm"]
    assert body["workflow"]["definition"]["nodes"] == [{"id": "1", "type": "trigger", "params": {}}]


def test_put_with_identical_definition_adds_no_version(client: FlaskClient, owner: Account) -> None:
    created = create_workflow(client, owner)
    response = client.put(
        f"/api/workflows/{created['id']}", json=BUILDER_BODY, headers=owner.headers
    )
    assert response.status_code == 200
    assert response.get_json()["workflow"]["version"] == 1
    versions = client.get(f"/api/workflows/{created['id']}/versions", headers=owner.headers)
    assert versions.get_json()["total"] == 1


def test_put_with_changed_definition_creates_version_2(client: FlaskClient, owner: Account) -> None:
    created = create_workflow(client, owner)
    response = client.put(
        f"/api/workflows/{created['id']}",
        json={"name": "Renomeado", "definition": RUNNABLE, "tags": ["x"]},
        headers=owner.headers,
    )
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "ok"
    assert set(body["workflow"]) == DETAIL_KEYS
    assert body["workflow"]["version"] == 2
    assert body["workflow"]["name"] == "Renomeado" and body["workflow"]["tags"] == ["x"]
    assert body["workflow"]["definition"] == RUNNABLE
    assert get_workflow(client, owner, created["id"])["definition"] == RUNNABLE


def test_put_without_definition_changes_only_given_fields(
    client: FlaskClient, owner: Account
) -> None:
    created = create_workflow(client, owner, description="antes", tags=["a"])
    response = client.put(
        f"/api/workflows/{created['id']}", json={"description": "depois"}, headers=owner.headers
    )
    assert response.status_code == 200
    workflow = response.get_json()["workflow"]
    assert workflow["description"] == "depois"
    assert (workflow["name"], workflow["tags"], workflow["version"]) == ("Novo Workflow", ["a"], 1)


def test_versions_list_newest_first_with_checksums(client: FlaskClient, owner: Account) -> None:
    created = create_workflow(client, owner)
    client.put(
        f"/api/workflows/{created['id']}", json={"definition": RUNNABLE}, headers=owner.headers
    )
    response = client.get(f"/api/workflows/{created['id']}/versions", headers=owner.headers)
    assert response.status_code == 200
    body = response.get_json()
    assert (body["status"], body["total"], body["limit"], body["offset"]) == ("ok", 2, 50, 0)
    newest, oldest = body["versions"]
    assert set(newest) == {"id", "version", "checksum", "createdAt", "createdBy", "current"}
    assert (newest["version"], newest["current"]) == (2, True)
    assert (oldest["version"], oldest["current"]) == (1, False)
    assert newest["checksum"] == canonical_sha256(RUNNABLE)
    assert oldest["checksum"] == canonical_sha256(BUILDER_BODY["definition"])
    assert newest["createdBy"] == str(owner.user_id)


def test_versions_list_paginates_with_page(client: FlaskClient, owner: Account) -> None:
    created = create_workflow(client, owner)
    for name in ("a", "b"):
        definition = copy.deepcopy(RUNNABLE)
        definition["nodes"][1]["name"] = name
        client.put(
            f"/api/workflows/{created['id']}",
            json={"definition": definition},
            headers=owner.headers,
        )
    response = client.get(
        f"/api/workflows/{created['id']}/versions?limit=1&page=2", headers=owner.headers
    )
    body = response.get_json()
    assert (body["total"], body["limit"], body["offset"]) == (3, 1, 1)
    assert [v["version"] for v in body["versions"]] == [2]


def test_get_one_version_returns_its_definition(client: FlaskClient, owner: Account) -> None:
    created = create_workflow(client, owner)
    client.put(
        f"/api/workflows/{created['id']}", json={"definition": RUNNABLE}, headers=owner.headers
    )
    response = client.get(f"/api/workflows/{created['id']}/versions/1", headers=owner.headers)
    assert response.status_code == 200
    version = response.get_json()["version"]
    assert set(version) == {"id", "version", "checksum", "createdAt", "createdBy", "definition"}
    assert version["version"] == 1
    assert version["definition"] == BUILDER_BODY["definition"]


def test_get_missing_version_is_404(client: FlaskClient, owner: Account) -> None:
    created = create_workflow(client, owner)
    response = client.get(f"/api/workflows/{created['id']}/versions/7", headers=owner.headers)
    assert response.status_code == 404
    assert response.get_json()["code"] == "not_found"


def test_patch_status_true_returns_dashboard_workflow(client: FlaskClient, owner: Account) -> None:
    created = create_workflow(client, owner, tags=["crm"])
    response = client.patch(
        f"/api/workflows/{created['id']}/status", json={"active": True}, headers=owner.headers
    )
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "ok"
    card = body["workflow"]
    assert set(card) == DASHBOARD_KEYS
    assert card["id"] == created["id"] and card["name"] == "Novo Workflow"
    assert (card["active"], card["status"], card["owner"]) == (True, "active", "Ana Souza")
    assert card["tags"] == ["crm"]
    assert card["created"].startswith(created["createdAt"][:19])
    assert isinstance(card["lastUpdated"], str)
    assert get_workflow(client, owner, created["id"])["status"] == "active"


def test_patch_status_false_makes_it_inactive(client: FlaskClient, owner: Account) -> None:
    created = create_workflow(client, owner)
    url = f"/api/workflows/{created['id']}/status"
    client.patch(url, json={"active": True}, headers=owner.headers)
    response = client.patch(url, json={"active": False}, headers=owner.headers)
    assert response.status_code == 200
    card = response.get_json()["workflow"]
    assert (card["active"], card["status"], card["tags"]) == (False, "inactive", [])


INVALID_DEFINITIONS = {
    "unknown-type": (
        {
            "nodes": [
                {"id": "1", "type": "trigger"},
                {"id": "2", "type": "foo", "name": "x"},
            ],
            "connections": [{"from": "1", "to": "2"}],
        },
        'Node "x" (id 2)',
    ),
    "connection-to-missing-node": (
        {"nodes": [{"id": "1", "type": "trigger"}], "connections": [{"from": "1", "to": "9"}]},
        "'9'",
    ),
    "cycle": (
        {
            "nodes": [
                {"id": "1", "type": "trigger"},
                {"id": "2", "type": "no-op"},
                {"id": "3", "type": "no-op"},
            ],
            "connections": [
                {"from": "1", "to": "2"},
                {"from": "2", "to": "3"},
                {"from": "3", "to": "2"},
            ],
        },
        "cycle",
    ),
    "no-trigger": ({"nodes": [{"id": "1", "type": "no-op"}], "connections": []}, "trigger"),
}


@pytest.mark.parametrize(
    ("definition", "mention"),
    list(INVALID_DEFINITIONS.values()),
    ids=list(INVALID_DEFINITIONS),
)
def test_patch_status_true_on_unrunnable_definition_is_422(
    client: FlaskClient, owner: Account, definition: dict[str, Any], mention: str
) -> None:
    created = create_workflow(client, owner, definition=definition)
    response = client.patch(
        f"/api/workflows/{created['id']}/status", json={"active": True}, headers=owner.headers
    )
    assert response.status_code == 422
    body = response.get_json()
    assert body["status"] == "error" and body["code"] == "validation_error"
    assert mention in body["message"]
    assert any(mention in message for message in body["errors"]["definition"])
    assert get_workflow(client, owner, created["id"])["status"] == "draft"


def test_put_making_active_workflow_unrunnable_is_422_and_changes_nothing(
    client: FlaskClient, owner: Account
) -> None:
    created = create_workflow(client, owner)
    client.patch(
        f"/api/workflows/{created['id']}/status", json={"active": True}, headers=owner.headers
    )
    broken, _ = INVALID_DEFINITIONS["unknown-type"]
    response = client.put(
        f"/api/workflows/{created['id']}",
        json={"name": "Outro", "definition": broken},
        headers=owner.headers,
    )
    assert response.status_code == 422
    assert 'Node "x" (id 2)' in response.get_json()["errors"]["definition"][0]
    after = get_workflow(client, owner, created["id"])
    assert (after["version"], after["name"], after["status"]) == (1, "Novo Workflow", "active")
    assert after["definition"] == BUILDER_BODY["definition"]


def test_put_on_active_workflow_with_runnable_definition_keeps_it_active(
    client: FlaskClient, owner: Account
) -> None:
    created = create_workflow(client, owner)
    client.patch(
        f"/api/workflows/{created['id']}/status", json={"active": True}, headers=owner.headers
    )
    response = client.put(
        f"/api/workflows/{created['id']}", json={"definition": RUNNABLE}, headers=owner.headers
    )
    assert response.status_code == 200
    assert (
        response.get_json()["workflow"]["version"],
        response.get_json()["workflow"]["status"],
    ) == (
        2,
        "active",
    )


def test_delete_then_get_is_404(client: FlaskClient, owner: Account) -> None:
    created = create_workflow(client, owner)
    response = client.delete(f"/api/workflows/{created['id']}", headers=owner.headers)
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "message": "Workflow deleted successfully"}
    again = client.get(f"/api/workflows/{created['id']}", headers=owner.headers)
    assert again.status_code == 404
    assert again.get_json()["code"] == "not_found"
    listed = client.get("/api/workflows", headers=owner.headers).get_json()
    assert created["id"] not in [w["id"] for w in listed["workflows"]]


def test_deleted_workflow_rejects_every_route_with_404(client: FlaskClient, owner: Account) -> None:
    created = create_workflow(client, owner)
    base = f"/api/workflows/{created['id']}"
    client.delete(base, headers=owner.headers)
    calls = [
        client.put(base, json={"name": "x"}, headers=owner.headers),
        client.delete(base, headers=owner.headers),
        client.patch(f"{base}/status", json={"active": False}, headers=owner.headers),
        client.post(f"{base}/duplicate", headers=owner.headers),
        client.get(f"{base}/versions", headers=owner.headers),
        client.get(f"{base}/versions/1", headers=owner.headers),
    ]
    assert [r.status_code for r in calls] == [404] * len(calls)


def test_unknown_workflow_id_is_404(client: FlaskClient, owner: Account) -> None:
    response = client.get(
        "/api/workflows/00000000-0000-0000-0000-000000000000", headers=owner.headers
    )
    assert response.status_code == 404


def test_duplicate_copies_definition_and_tags_as_new_draft(
    client: FlaskClient, owner: Account
) -> None:
    created = create_workflow(client, owner, name="Leads", tags=["crm"], description="d")
    client.put(
        f"/api/workflows/{created['id']}", json={"definition": RUNNABLE}, headers=owner.headers
    )
    client.patch(
        f"/api/workflows/{created['id']}/status", json={"active": True}, headers=owner.headers
    )
    response = client.post(f"/api/workflows/{created['id']}/duplicate", headers=owner.headers)
    assert response.status_code == 201
    body = response.get_json()
    assert body["status"] == "created"
    copy_ = body["workflow"]
    assert copy_["id"] != created["id"]
    assert (copy_["name"], copy_["status"], copy_["version"]) == ("Leads (copy)", "draft", 1)
    assert (copy_["tags"], copy_["description"], copy_["executionCount"]) == (["crm"], "d", 0)
    assert copy_["definition"] == RUNNABLE
    assert get_workflow(client, owner, created["id"])["status"] == "active"


def test_duplicate_of_a_255_char_name_stays_within_the_limit(
    client: FlaskClient, owner: Account
) -> None:
    created = create_workflow(client, owner, name="n" * 255)
    response = client.post(f"/api/workflows/{created['id']}/duplicate", headers=owner.headers)
    assert response.status_code == 201
    name = response.get_json()["workflow"]["name"]
    assert len(name) == 255 and name.endswith(" (copy)")
