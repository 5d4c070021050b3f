"""Workflow routes: roles, workspace isolation, mass assignment, malformed definitions."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from tests.api.test_workflows import BUILDER_BODY, create_workflow, get_workflow
from tests.factories import Account, make_account, make_member

Call = Callable[[FlaskClient, Account, str], TestResponse]


def _call(method: str, suffix: str, body: dict[str, Any] | None = None) -> Call:
    def call(client: FlaskClient, account: Account, workflow_id: str) -> TestResponse:
        path = f"/api/workflows/{workflow_id}{suffix}" if workflow_id else "/api/workflows"
        return client.open(path, method=method, json=body, headers=account.headers)

    return call


READS: dict[str, Call] = {
    "list": lambda client, account, _id: client.get("/api/workflows", headers=account.headers),
    "detail": _call("GET", ""),
    "versions": _call("GET", "/versions"),
    "version": _call("GET", "/versions/1"),
}
WRITES: dict[str, tuple[Call, int]] = {
    "create": (
        lambda c, a, _id: c.post("/api/workflows", json=BUILDER_BODY, headers=a.headers),
        201,
    ),
    "update": (_call("PUT", "", {"name": "Novo nome"}), 200),
    "status": (_call("PATCH", "/status", {"active": True}), 200),
    "duplicate": (_call("POST", "/duplicate"), 201),
    "delete": (_call("DELETE", ""), 200),
}
ID_ROUTES: dict[str, Call] = {
    **{name: call for name, call in READS.items() if name != "list"},
    **{name: call for name, (call, _) in WRITES.items() if name != "create"},
}


@pytest.fixture()
def owner() -> Account:
    return make_account()


@pytest.fixture()
def workflow_id(client: FlaskClient, owner: Account) -> str:
    return str(create_workflow(client, owner, tags=["crm"])["id"])


@pytest.mark.parametrize("route", list(READS.values()), ids=list(READS))
@pytest.mark.parametrize("role", ["viewer", "editor", "admin"])
def test_every_member_can_read(
    client: FlaskClient, owner: Account, workflow_id: str, route: Call, role: str
) -> None:
    assert route(client, make_member(owner, role), workflow_id).status_code == 200


@pytest.mark.parametrize(("route", "_ok"), list(WRITES.values()), ids=list(WRITES))
def test_viewer_cannot_write(
    client: FlaskClient, owner: Account, workflow_id: str, route: Call, _ok: int
) -> None:
    before = get_workflow(client, owner, workflow_id)
    response = route(client, make_member(owner, "viewer"), workflow_id)
    assert response.status_code == 403
    assert response.get_json()["code"] == "forbidden"
    assert get_workflow(client, owner, workflow_id) == before
    assert client.get("/api/workflows", headers=owner.headers).get_json()["total"] == 1


@pytest.mark.parametrize(("route", "ok"), list(WRITES.values()), ids=list(WRITES))
def test_editor_can_write(
    client: FlaskClient, owner: Account, workflow_id: str, route: Call, ok: int
) -> None:
    assert route(client, make_member(owner, "editor"), workflow_id).status_code == ok


@pytest.mark.parametrize("route", list(ID_ROUTES.values()), ids=list(ID_ROUTES))
def test_other_workspace_id_is_404_and_left_unchanged(
    client: FlaskClient, owner: Account, workflow_id: str, route: Call
) -> None:
    before = get_workflow(client, owner, workflow_id)
    response = route(client, make_account(), workflow_id)
    assert response.status_code == 404
    assert response.get_json()["code"] == "not_found"
    assert get_workflow(client, owner, workflow_id) == before
    versions = client.get(f"/api/workflows/{workflow_id}/versions", headers=owner.headers)
    assert versions.get_json()["total"] == 1


def test_list_shows_only_own_workspace(
    client: FlaskClient, owner: Account, workflow_id: str
) -> None:
    other = make_account()
    create_workflow(client, other, name="Do outro")
    body = client.get("/api/workflows", headers=other.headers).get_json()
    assert [w["name"] for w in body["workflows"]] == ["Do outro"]


@pytest.mark.parametrize(
    "route", [*READS.values(), *(c for c, _ in WRITES.values())], ids=[*READS, *WRITES]
)
def test_every_route_needs_a_token(client: FlaskClient, workflow_id: str, route: Call) -> None:
    anonymous = Account(user=None, workspace_id=None, token="", refresh_token="")  # type: ignore[arg-type]
    response = route(client, anonymous, workflow_id)
    assert response.status_code == 401


@pytest.mark.parametrize(
    "field",
    ["id", "workspaceId", "status", "version", "executionCount", "active", "createdBy"],
)
def test_post_with_server_owned_field_is_422_and_stores_nothing(
    client: FlaskClient, owner: Account, field: str
) -> None:
    body = {**BUILDER_BODY, field: "00000000-0000-0000-0000-000000000001"}
    response = client.post("/api/workflows", json=body, headers=owner.headers)
    assert response.status_code == 422
    assert field in response.get_json()["errors"]
    assert client.get("/api/workflows", headers=owner.headers).get_json()["total"] == 0


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("id", "00000000-0000-0000-0000-000000000001"),
        ("workspaceId", "x"),
        ("status", "active"),
        ("version", 9),
        ("executionCount", 100),
    ],
    ids=["id", "workspaceId", "status", "version", "executionCount"],
)
def test_put_with_server_owned_field_is_422_and_changes_nothing(
    client: FlaskClient, owner: Account, workflow_id: str, field: str, value: object
) -> None:
    before = get_workflow(client, owner, workflow_id)
    response = client.put(
        f"/api/workflows/{workflow_id}",
        json={"name": "Mudou", field: value},
        headers=owner.headers,
    )
    assert response.status_code == 422
    assert field in response.get_json()["errors"]
    assert get_workflow(client, owner, workflow_id) == before


def _nodes(count: int) -> list[dict[str, Any]]:
    return [{"id": str(i), "type": "no-op"} for i in range(count)]


MALFORMED: dict[str, tuple[Any, str]] = {
    "definition-not-object": ([], "definition"),
    "nodes-missing": ({"connections": []}, "nodes"),
    "nodes-not-list": ({"nodes": {"1": {}}, "connections": []}, "nodes"),
    "node-not-object": ({"nodes": ["trigger"], "connections": []}, "nodes"),
    "node-id-missing": ({"nodes": [{"type": "trigger"}], "connections": []}, "nodes"),
    "node-id-number": ({"nodes": [{"id": 1, "type": "trigger"}], "connections": []}, "nodes"),
    "node-type-empty": ({"nodes": [{"id": "1", "type": ""}], "connections": []}, "nodes"),
    "params-not-object": (
        {"nodes": [{"id": "1", "type": "trigger", "params": [1]}], "connections": []},
        "nodes",
    ),
    "duplicate-node-ids": (
        {"nodes": [{"id": "1", "type": "trigger"}, {"id": "1", "type": "no-op"}]},
        "nodes",
    ),
    "connections-not-list": ({"nodes": [], "connections": "1->2"}, "connections"),
    "connection-without-to": ({"nodes": [], "connections": [{"from": "1"}]}, "connections"),
    "connection-from-number": (
        {"nodes": [], "connections": [{"from": 1, "to": "2"}]},
        "connections",
    ),
    "unknown-top-level-key": ({"nodes": [], "connections": [], "owner": "x"}, "owner"),
    "too-many-nodes": ({"nodes": _nodes(600), "connections": []}, "nodes"),
    "too-many-connections": (
        {"nodes": [], "connections": [{"from": "a", "to": "b"}] * 2001},
        "connections",
    ),
}


@pytest.mark.parametrize(("definition", "where"), list(MALFORMED.values()), ids=list(MALFORMED))
def test_malformed_definition_is_422_naming_the_field(
    client: FlaskClient, owner: Account, definition: Any, where: str
) -> None:
    body = {"name": "Quebrado", "definition": copy.deepcopy(definition)}
    response = client.post("/api/workflows", json=body, headers=owner.headers)
    assert response.status_code == 422
    envelope = response.get_json()
    assert envelope["status"] == "error" and envelope["code"] == "validation_error"
    assert isinstance(envelope["message"], str)
    errors = envelope["errors"]["definition"]
    assert where == "definition" or where in errors
    assert client.get("/api/workflows", headers=owner.headers).get_json()["total"] == 0


def test_malformed_definition_on_put_changes_nothing(
    client: FlaskClient, owner: Account, workflow_id: str
) -> None:
    before = get_workflow(client, owner, workflow_id)
    response = client.put(
        f"/api/workflows/{workflow_id}",
        json={"definition": {"nodes": _nodes(501)}},
        headers=owner.headers,
    )
    assert response.status_code == 422
    assert "nodes" in response.get_json()["errors"]["definition"]
    assert get_workflow(client, owner, workflow_id) == before


def test_500_nodes_are_accepted(client: FlaskClient, owner: Account) -> None:
    created = create_workflow(client, owner, definition={"nodes": _nodes(500), "connections": []})
    assert len(created["definition"]["nodes"]) == 500


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"definition": {"nodes": []}}, "name"),
        ({"name": ""}, "name"),
        ({"name": "   "}, "name"),
        ({"name": "x" * 256}, "name"),
        ({"name": "ok", "description": "d" * 2001}, "description"),
        ({"name": "ok", "tags": "crm"}, "tags"),
        ({"name": "ok", "tags": [""]}, "tags"),
        ({"name": "ok", "tags": ["  "]}, "tags"),
        ({"name": "ok", "tags": ["t" * 51]}, "tags"),
        ({"name": "ok", "tags": [str(i) for i in range(21)]}, "tags"),
        ({"name": "ok", "tags": [1]}, "tags"),
    ],
    ids=[
        "name-missing",
        "name-empty",
        "name-blank",
        "name-too-long",
        "description-too-long",
        "tags-not-list",
        "tag-empty",
        "tag-blank",
        "tag-too-long",
        "too-many-tags",
        "tag-not-string",
    ],
)
def test_bad_fields_are_422(
    client: FlaskClient, owner: Account, body: dict[str, Any], field: str
) -> None:
    response = client.post("/api/workflows", json=body, headers=owner.headers)
    assert response.status_code == 422
    assert field in response.get_json()["errors"]


@pytest.mark.parametrize(
    "body",
    [{}, {"active": "maybe"}, {"active": True, "status": "active"}],
    ids=["missing", "not-boolean", "extra-field"],
)
def test_bad_status_body_is_422(
    client: FlaskClient, owner: Account, workflow_id: str, body: dict[str, Any]
) -> None:
    response = client.patch(
        f"/api/workflows/{workflow_id}/status", json=body, headers=owner.headers
    )
    assert response.status_code == 422
    assert get_workflow(client, owner, workflow_id)["status"] == "draft"


def test_non_uuid_id_does_not_match_the_workflow_routes(
    client: FlaskClient, owner: Account
) -> None:
    response = client.get("/api/workflows/not-a-uuid", headers=owner.headers)
    assert response.status_code == 404
    assert response.get_json()["status"] == "error"
