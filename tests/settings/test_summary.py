"""GET /api/settings/summary: the shape the Settings screen reads, for every member."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from flask.testing import FlaskClient

from fluxolab.extensions import db
from fluxolab.models import utcnow
from tests.api.test_workflows import create_workflow
from tests.factories import Account, make_account, make_member
from tests.helpers import assert_envelope
from tests.settings.helpers import ROLES, add_webhook_calls, member, summary, workspace

SUMMARY_KEYS = {
    "workspaceId",
    "plan",
    "usage",
    "apiKeys",
    "environments",
    "featureGates",
    "secretProviders",
    "ssoProviders",
    "ldap",
    "logDestinations",
    "communityConnectors",
}
PLAN_KEYS = {
    "id",
    "code",
    "planCode",
    "name",
    "description",
    "priceAmount",
    "currency",
    "billingInterval",
    "trialDays",
    "limits",
    "features",
    "subscriptionStatus",
    "trialEndsAt",
    "renewsAt",
}
DEFAULT_GATES = ["secrets", "environments", "sso", "ldap", "logs", "community"]


@pytest.fixture()
def owner() -> Account:
    return make_account()


def test_summary_has_every_key_the_screen_reads(client: FlaskClient, owner: Account) -> None:
    body = summary(client, owner)
    assert set(body) >= SUMMARY_KEYS
    assert body["workspaceId"] == str(owner.workspace_id)
    for name in ("apiKeys", "environments", "featureGates", "secretProviders", "ssoProviders"):
        assert isinstance(body[name], list), name
    assert body["logDestinations"] == [] and body["communityConnectors"] == []
    assert body["ldap"] is None


def test_plan_of_a_new_workspace_is_the_free_trial(client: FlaskClient, owner: Account) -> None:
    plan = summary(client, owner)["plan"]
    assert set(plan) >= PLAN_KEYS
    assert plan["code"] == plan["planCode"] == "free"
    assert plan["priceAmount"] == 0 and isinstance(plan["priceAmount"], (int, float))
    assert not isinstance(plan["priceAmount"], bool)
    assert re.fullmatch(r"[A-Z]{3}", plan["currency"]) and plan["currency"] == "BRL"
    assert plan["billingInterval"] == "month"
    assert plan["trialDays"] == 30
    assert plan["limits"] == {"workspaces": 1, "users": 3, "webhook": 2000}
    assert isinstance(plan["features"], dict)
    assert plan["subscriptionStatus"] == "trialing"
    assert plan["trialEndsAt"] is not None and plan["renewsAt"] is None


def test_a_stored_currency_that_is_no_iso_code_reads_as_brl(
    client: FlaskClient, owner: Account
) -> None:
    from fluxolab.models import Plan

    plan = db.session.get(Plan, workspace(owner).plan_id)
    assert plan is not None
    plan.currency = ""
    db.session.commit()
    assert summary(client, owner)["plan"]["currency"] == "BRL"


def test_usage_counts_are_numbers_from_live_data(client: FlaskClient, owner: Account) -> None:
    empty = summary(client, owner)["usage"]
    assert (empty["workflowsActive"], empty["usersActive"], empty["webhookEvents"]) == (0, 1, 0)
    workflow = create_workflow(client, owner)
    client.patch(
        f"/api/workflows/{workflow['id']}/status", json={"active": True}, headers=owner.headers
    )
    make_member(owner, "viewer")
    add_webhook_calls(client, owner, 3)
    add_webhook_calls(client, owner, 2, mode="test")  # test calls are not usage
    used = summary(client, owner)["usage"]
    assert used["webhookEvents"] == 3
    assert used["usersActive"] == 2
    assert used["workflowsActive"] >= 1
    for key in ("workflowsActive", "usersActive", "webhookEvents"):
        assert type(used[key]) is int, key
    assert isinstance(used["collectedAt"], str)


def test_webhook_events_count_only_the_current_usage_period(
    client: FlaskClient, owner: Account
) -> None:
    row = workspace(owner)
    add_webhook_calls(client, owner, 2, at=row.usage_period_start - timedelta(days=1))
    add_webhook_calls(client, owner, 1, at=utcnow())
    assert summary(client, owner)["usage"]["webhookEvents"] == 1


def test_environments_are_the_three_provisioned_ones(client: FlaskClient, owner: Account) -> None:
    environments = summary(client, owner)["environments"]
    assert [(e["slug"], e["type"], e["status"]) for e in environments] == [
        ("sandbox", "sandbox", "ready"),
        ("staging", "staging", "pending"),
        ("producao", "production", "locked"),
    ]
    assert set(environments[0]) == {
        "id",
        "name",
        "slug",
        "type",
        "region",
        "status",
        "lastSyncedAt",
    }


def test_feature_gates_are_the_six_defaults_by_plan(client: FlaskClient, owner: Account) -> None:
    gates = summary(client, owner)["featureGates"]
    assert [gate["id"] for gate in gates] == DEFAULT_GATES
    assert {gate["status"] for gate in gates} == {"requires_upgrade"}  # free plan
    for gate in gates:
        assert set(gate) == {"id", "title", "requiredPlan", "status", "copy"}


def test_feature_gates_follow_the_plan_and_merge_stored_overrides(
    client: FlaskClient, owner: Account
) -> None:
    response = client.post(
        "/api/settings/plans/upgrade", json={"planCode": "intermediario"}, headers=owner.headers
    )
    assert response.status_code == 200
    row = workspace(owner)
    row.settings = {
        **row.settings,
        "featureGates": [{"id": "logs", "status": "configured"}, {"id": "ai", "title": "IA"}],
        "ldap": {"status": "configured", "host": "ldap.example.com", "baseDn": "dc=ex"},
        "secretProviders": [{"provider": "vault", "status": "configured"}, "junk"],
    }
    db.session.commit()
    body = summary(client, owner)
    status = {gate["id"]: gate["status"] for gate in body["featureGates"]}
    assert status == {
        "secrets": "requires_upgrade",
        "environments": "available",
        "sso": "requires_upgrade",
        "ldap": "requires_upgrade",
        "logs": "configured",
        "community": "available",
        "ai": "coming_soon",
    }
    assert body["ldap"] == {
        "status": "configured",
        "host": "ldap.example.com",
        "baseDn": "dc=ex",
        "lastSyncedAt": None,
    }
    assert body["secretProviders"] == [
        {"provider": "vault", "status": "configured", "lastSyncedAt": None}
    ]


@pytest.mark.parametrize("role", ROLES)
def test_every_member_reads_the_summary(client: FlaskClient, owner: Account, role: str) -> None:
    body = summary(client, member(owner, role))
    assert body["workspaceId"] == str(owner.workspace_id)


def test_summary_needs_a_token(client: FlaskClient) -> None:
    assert_envelope(client.get("/api/settings/summary"), 401)


def test_summary_shows_only_the_callers_workspace(client: FlaskClient, owner: Account) -> None:
    response = client.post(
        "/api/settings/api/keys", json={"scopes": ["workflows:read"]}, headers=owner.headers
    )
    assert response.status_code == 201
    add_webhook_calls(client, owner, 2)
    stranger = make_account()
    body = summary(client, stranger)
    assert body["workspaceId"] == str(stranger.workspace_id)
    assert body["apiKeys"] == []
    assert body["usage"]["webhookEvents"] == 0
