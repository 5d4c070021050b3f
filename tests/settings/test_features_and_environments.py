"""Feature gates, access requests and environment status (contract section 4, settings row)."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.factories import Account, make_account
from tests.helpers import assert_envelope
from tests.settings.helpers import MANAGERS, NON_MANAGERS, ROLES, member, summary, workspace


@pytest.fixture()
def owner() -> Account:
    return make_account()


def environment(client: FlaskClient, account: Account, slug: str) -> dict[str, Any]:
    found: dict[str, Any] = next(
        e for e in summary(client, account)["environments"] if e["slug"] == slug
    )
    return found


def set_status(client: FlaskClient, account: Account, environment_id: str, status: str) -> Any:
    return client.put(
        f"/api/settings/environments/{environment_id}/status",
        json={"status": status},
        headers=account.headers,
    )


@pytest.mark.parametrize("role", ROLES)
def test_every_member_lists_the_gates_as_in_the_summary(
    client: FlaskClient, owner: Account, role: str
) -> None:
    account = member(owner, role)
    response = client.get("/api/settings/features/gates", headers=account.headers)
    assert response.status_code == 200
    assert response.get_json()["gates"] == summary(client, account)["featureGates"]


def test_an_access_request_is_recorded(client: FlaskClient, owner: Account) -> None:
    response = client.post(
        "/api/settings/features/request-access",
        json={"featureId": "sso", "reason": "Okta"},
        headers=owner.headers,
    )
    assert response.status_code == 200
    request = response.get_json()["request"]
    assert (request["featureId"], request["status"], request["reason"]) == (
        "sso",
        "pending",
        "Okta",
    )
    stored = workspace(owner).settings["featureRequests"]
    assert [entry["featureId"] for entry in stored] == ["sso"]
    assert stored[0]["requestedBy"] == str(owner.user_id)


def test_an_unknown_feature_is_422(client: FlaskClient, owner: Account) -> None:
    response = client.post(
        "/api/settings/features/request-access",
        json={"featureId": "teleport"},
        headers=owner.headers,
    )
    assert_envelope(response, 422, "validation_error")
    assert "featureRequests" not in workspace(owner).settings


@pytest.mark.parametrize("role", NON_MANAGERS)
def test_viewers_and_editors_cannot_request_access(
    client: FlaskClient, owner: Account, role: str
) -> None:
    response = client.post(
        "/api/settings/features/request-access",
        json={"featureId": "sso"},
        headers=member(owner, role).headers,
    )
    assert_envelope(response, 403, "forbidden")


def test_the_sandbox_can_be_switched_on_any_plan(client: FlaskClient, owner: Account) -> None:
    sandbox = environment(client, owner, "sandbox")
    response = set_status(client, owner, sandbox["id"], "inactive")
    assert response.status_code == 200
    assert response.get_json()["environment"]["status"] == "disabled"
    assert (
        set_status(client, owner, sandbox["id"], "active").get_json()["environment"]["status"]
        == "ready"
    )
    assert environment(client, owner, "sandbox")["status"] == "ready"


def test_production_needs_a_plan_with_environments(client: FlaskClient, owner: Account) -> None:
    production = environment(client, owner, "producao")
    assert_envelope(set_status(client, owner, production["id"], "active"), 402)
    assert environment(client, owner, "producao")["status"] == "locked"
    upgrade = client.post(
        "/api/settings/plans/upgrade", json={"planCode": "intermediario"}, headers=owner.headers
    )
    assert upgrade.status_code == 200
    assert set_status(client, owner, production["id"], "active").status_code == 200
    assert environment(client, owner, "producao")["status"] == "ready"


def test_a_bad_status_is_422(client: FlaskClient, owner: Account) -> None:
    sandbox = environment(client, owner, "sandbox")
    assert_envelope(set_status(client, owner, sandbox["id"], "ready"), 422)


@pytest.mark.parametrize("role", NON_MANAGERS)
def test_viewers_and_editors_cannot_change_environments(
    client: FlaskClient, owner: Account, role: str
) -> None:
    sandbox = environment(client, owner, "sandbox")
    assert_envelope(
        set_status(client, member(owner, role), sandbox["id"], "inactive"), 403, "forbidden"
    )
    assert environment(client, owner, "sandbox")["status"] == "ready"


@pytest.mark.parametrize("role", MANAGERS)
def test_admins_and_owners_change_environments(
    client: FlaskClient, owner: Account, role: str
) -> None:
    sandbox = environment(client, owner, "sandbox")
    assert set_status(client, member(owner, role), sandbox["id"], "inactive").status_code == 200


def test_another_workspaces_environment_is_404_and_unchanged(
    client: FlaskClient, owner: Account
) -> None:
    sandbox = environment(client, owner, "sandbox")
    assert_envelope(set_status(client, make_account(), sandbox["id"], "inactive"), 404, "not_found")
    assert environment(client, owner, "sandbox")["status"] == "ready"
