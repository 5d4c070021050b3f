"""Webhook management routes: the role matrix, masked tokens for viewers, workspace isolation."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from fluxolab.triggers import tokens
from tests.factories import Account, make_account, make_member
from tests.helpers import assert_envelope
from tests.webhooks.test_admin import create_webhook, make_workflow, stored

Call = Callable[[FlaskClient, Account, str], TestResponse]
ROLES = ["viewer", "editor", "admin", "owner"]


def _on(method: str, suffix: str = "", body: dict[str, Any] | None = None) -> Call:
    def call(client: FlaskClient, account: Account, webhook_id: str) -> TestResponse:
        path = f"/api/webhooks/{webhook_id}{suffix}"
        return client.open(path, method=method, json=body, headers=account.headers)

    return call


READS: dict[str, Call] = {
    "detail": _on("GET"),
    "logs": _on("GET", "/logs"),
}
# Routes on one webhook that change it, with the status an editor gets.
WRITES: dict[str, tuple[Call, int]] = {
    "update": (_on("PUT", "", {"name": "changed", "rateLimitPerMinute": 5}), 200),
    "rotate": (_on("POST", "/rotate-token"), 200),
    "delete": (_on("DELETE"), 200),
}


@pytest.fixture()
def owner() -> Account:
    return make_account()


@pytest.fixture()
def hook(client: FlaskClient, owner: Account) -> dict[str, Any]:
    return create_webhook(client, owner)


def _member(owner: Account, role: str) -> Account:
    return owner if role == "owner" else make_member(owner, role)


def _unchanged(hook: dict[str, Any]) -> None:
    row = stored(hook["id"])
    assert (row.name, row.rate_limit_per_minute) == (hook["name"], hook["rateLimitPerMinute"])
    assert row.token_hash == tokens.token_hash(hook["token"])


@pytest.mark.parametrize("role", ROLES)
def test_every_member_lists_and_reads(
    client: FlaskClient, owner: Account, hook: dict[str, Any], role: str
) -> None:
    account = _member(owner, role)
    listed = client.get("/api/webhooks", headers=account.headers)
    assert listed.status_code == 200
    (item,) = listed.get_json()["webhooks"]["webhooks"]
    assert item["id"] == hook["id"]
    for name, route in READS.items():
        assert route(client, account, hook["id"]).status_code == 200, name


@pytest.mark.parametrize("role", ROLES)
def test_only_editors_and_above_see_the_full_token(
    client: FlaskClient, owner: Account, hook: dict[str, Any], role: str
) -> None:
    account = _member(owner, role)
    listed = client.get("/api/webhooks", headers=account.headers).get_json()
    detail = client.get(f"/api/webhooks/{hook['id']}", headers=account.headers).get_json()
    for item in (listed["webhooks"]["webhooks"][0], detail["webhook"]):
        if role == "viewer":
            masked = tokens.mask(hook["token"])
            assert item["token"] == masked
            assert item["url"] == f"http://localhost/api/webhooks/execute/{masked}"
        else:
            assert item["token"] == hook["token"]
            assert item["url"] == hook["url"]
    if role == "viewer":
        text = client.get("/api/webhooks", headers=account.headers).get_data(as_text=True)
        assert hook["token"] not in text and hook["token"][4:] not in text


@pytest.mark.parametrize("role", ROLES)
def test_create_needs_editor(client: FlaskClient, owner: Account, role: str) -> None:
    account = _member(owner, role)
    body = {"name": "novo", "workflowId": make_workflow(client, owner)}
    response = client.post("/api/webhooks", json=body, headers=account.headers)
    if role == "viewer":
        assert_envelope(response, 403, "forbidden")
        listed = client.get("/api/webhooks", headers=owner.headers).get_json()
        assert listed["webhooks"]["total"] == 0
    else:
        assert response.status_code == 201
        assert response.get_json()["webhook"]["token"] == stored_token(response)


def stored_token(response: TestResponse) -> str:
    return tokens.decrypt(stored(response.get_json()["webhook"]["id"]).token_encrypted)


@pytest.mark.parametrize(("route", "_ok"), list(WRITES.values()), ids=list(WRITES))
def test_viewer_cannot_change_rotate_or_delete(
    client: FlaskClient, owner: Account, hook: dict[str, Any], route: Call, _ok: int
) -> None:
    response = route(client, make_member(owner, "viewer"), hook["id"])
    assert_envelope(response, 403, "forbidden")
    _unchanged(hook)


@pytest.mark.parametrize(("route", "ok"), list(WRITES.values()), ids=list(WRITES))
@pytest.mark.parametrize("role", ["editor", "admin", "owner"])
def test_editor_and_above_manage(
    client: FlaskClient, owner: Account, hook: dict[str, Any], route: Call, ok: int, role: str
) -> None:
    assert route(client, _member(owner, role), hook["id"]).status_code == ok


@pytest.mark.parametrize(
    "route",
    [*READS.values(), *(call for call, _ok in WRITES.values())],
    ids=[*READS, *WRITES],
)
def test_another_workspace_gets_404_and_changes_nothing(
    client: FlaskClient, hook: dict[str, Any], route: Call
) -> None:
    stranger = make_account()
    response = route(client, stranger, hook["id"])
    assert_envelope(response, 404, "not_found")
    assert hook["token"] not in response.get_data(as_text=True)
    _unchanged(hook)


def test_another_workspace_lists_none_of_them(client: FlaskClient, hook: dict[str, Any]) -> None:
    stranger = make_account()
    for query in ("", f"?workflowId={hook['workflowId']}"):
        listed = client.get(f"/api/webhooks{query}", headers=stranger.headers).get_json()
        assert listed["webhooks"] == {"webhooks": [], "total": 0, "limit": 50, "offset": 0}


def test_moving_to_another_workspaces_workflow_is_refused(
    client: FlaskClient, owner: Account, hook: dict[str, Any]
) -> None:
    theirs = make_workflow(client, make_account())
    response = client.put(
        f"/api/webhooks/{hook['id']}", json={"workflowId": theirs}, headers=owner.headers
    )
    assert_envelope(response, 422, "validation_error")
    assert str(stored(hook["id"]).workflow_id) == hook["workflowId"]
