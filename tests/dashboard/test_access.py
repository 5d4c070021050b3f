"""Dashboard routes: every member reads, strangers see nothing of the workspace, no token 401."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient

from fluxolab.models import utcnow
from tests.api.test_credentials import create_credential
from tests.dashboard.runs import make_run, make_workflow
from tests.factories import Account, make_account, make_member
from tests.helpers import assert_envelope

ROUTES = {
    "overview": "/api/dashboard/overview",
    "stats": "/api/dashboard/stats?period=7d",
    "workflows": "/api/dashboard/workflows?limit=50",
    "search": "/api/dashboard/workflows/search?q=flu&limit=50",
    "executions": "/api/dashboard/executions",
    "credentials": "/api/dashboard/credentials",
}
ROLES = ["viewer", "editor", "admin", "owner"]


def populate(client: FlaskClient, account: Account, name: str) -> None:
    """One workflow with two production runs (one failed) and one credential."""
    workflow_id = make_workflow(account, name)
    make_run(account, workflow_id, at=utcnow() - timedelta(minutes=5))
    make_run(account, workflow_id, at=utcnow() - timedelta(minutes=4), status="failed")
    create_credential(client, account, f"smtp-{name}")


def read(client: FlaskClient, account: Account, route: str) -> dict[str, Any]:
    response = client.get(ROUTES[route], headers=account.headers)
    assert response.status_code == 200, response.get_json()
    body: dict[str, Any] = response.get_json()
    return body


def seen(body: dict[str, Any], route: str) -> tuple[int, list[str]]:
    """What a route shows of the workspace: a count and the names it lists."""
    if route in ("overview", "stats"):
        names = [w["name"] for w in body.get("workflows", body.get("topFailingWorkflows", []))]
        return body["stats"]["prodExecutions"], names
    items = body[{"executions": "executions", "credentials": "credentials"}.get(route, "workflows")]
    return body["total"], [item.get("workflowName", item.get("name")) for item in items]


@pytest.fixture()
def owner(client: FlaskClient) -> Account:
    account = make_account()
    populate(client, account, "fluxo-dono")
    return account


@pytest.mark.parametrize("route", list(ROUTES))
@pytest.mark.parametrize("role", ROLES)
def test_every_member_reads(client: FlaskClient, owner: Account, route: str, role: str) -> None:
    account = owner if role == "owner" else make_member(owner, role)
    count, names = seen(read(client, account, route), route)
    assert count == 2 if route in ("overview", "stats", "executions") else count == 1
    expected = "smtp-fluxo-dono" if route == "credentials" else "fluxo-dono"
    assert set(names) == {expected}


@pytest.mark.parametrize("route", list(ROUTES))
def test_another_workspace_is_never_counted_or_listed(
    client: FlaskClient, owner: Account, route: str
) -> None:
    stranger = make_account()
    populate(client, stranger, "fluxo-estranho")
    count, names = seen(read(client, owner, route), route)
    assert names and "fluxo-estranho" not in names and "smtp-fluxo-estranho" not in names
    assert count == (2 if route in ("overview", "stats", "executions") else 1)
    empty = make_account()
    count, names = seen(read(client, empty, route), route)
    assert (count, names) == (0, [])


def test_executions_of_another_workspaces_workflow_is_404(
    client: FlaskClient, owner: Account
) -> None:
    stranger = make_account()
    foreign = make_workflow(stranger, "alheio")
    make_run(stranger, foreign, at=utcnow())
    response = client.get(f"/api/dashboard/executions?workflowId={foreign}", headers=owner.headers)
    assert_envelope(response, 404, "not_found")


@pytest.mark.parametrize("route", list(ROUTES))
@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer not-a-token"}, {"Authorization": "Basic eDp5"}],
    ids=["none", "garbage", "basic"],
)
def test_without_a_valid_token_is_401_json(
    client: FlaskClient, route: str, headers: dict[str, str]
) -> None:
    assert_envelope(client.get(ROUTES[route], headers=headers), 401)


@pytest.mark.parametrize("route", list(ROUTES))
def test_workspace_header_of_a_workspace_not_joined_is_404(
    client: FlaskClient, owner: Account, route: str
) -> None:
    stranger = make_account()
    headers = {**owner.headers, "X-Workspace-Id": str(stranger.workspace_id)}
    assert_envelope(client.get(ROUTES[route], headers=headers), 404)


def test_viewers_get_no_credential_state(client: FlaskClient, owner: Account) -> None:
    viewer = make_member(owner, "viewer")
    (card,) = read(client, viewer, "credentials")["credentials"]
    assert (card["isActive"], card["lastUsedAt"]) == (None, None)
    (card,) = read(client, make_member(owner, "editor"), "credentials")["credentials"]
    assert card["isActive"] is True


@pytest.mark.parametrize(
    "query",
    [
        "period=abc",
        "period=2y",
        "period=400d",
        "period=custom",
        "period=custom&from=2026-01-10&to=2026-01-01",
        "period=custom&from=not-a-date&to=2026-01-01",
    ],
)
def test_bad_period_is_422_with_a_string_message(
    client: FlaskClient, owner: Account, query: str
) -> None:
    response = client.get(f"/api/dashboard/stats?{query}", headers=owner.headers)
    body = assert_envelope(response, 422, "validation_error")
    assert isinstance(body["message"], str)


@pytest.mark.parametrize(
    ("path", "query"),
    [
        ("/api/dashboard/workflows", "sort=owner"),
        ("/api/dashboard/workflows", "status=archived"),
        ("/api/dashboard/workflows", "limit=0"),
        ("/api/dashboard/workflows/search", "limit=1000"),
        ("/api/dashboard/executions", "status=done"),
        ("/api/dashboard/executions", "from=yesterday"),
        ("/api/dashboard/credentials", "offset=-1"),
    ],
)
def test_bad_list_arguments_are_422(
    client: FlaskClient, owner: Account, path: str, query: str
) -> None:
    assert_envelope(client.get(f"{path}?{query}", headers=owner.headers), 422)
