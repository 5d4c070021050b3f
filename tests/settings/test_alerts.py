"""Usage alerts: CRUD as the Settings screen reads it, roles, isolation, bad input."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from fluxolab.extensions import db
from fluxolab.models import UsageAlert
from tests.factories import Account, make_account
from tests.helpers import assert_envelope
from tests.settings.helpers import MANAGERS, NON_MANAGERS, ROLES, member

ALERT_KEYS = {
    "id",
    "metric",
    "threshold",
    "condition",
    "window",
    "channel",
    "enabled",
    "metadata",
    "lastTriggeredAt",
    "lastValue",
    "createdAt",
    "updatedAt",
}
URL = "/api/settings/usage/alerts"


@pytest.fixture()
def owner() -> Account:
    return make_account()


def create_alert(client: FlaskClient, account: Account, **body: Any) -> dict[str, Any]:
    payload = {"metric": "webhooks", "threshold": 100, "condition": "greater_than", **body}
    response = client.post(URL, json=payload, headers=account.headers)
    assert response.status_code == 201, response.get_json()
    alert: dict[str, Any] = response.get_json()["alert"]
    return alert


def listed(client: FlaskClient, account: Account) -> list[dict[str, Any]]:
    response = client.get(URL, headers=account.headers)
    assert response.status_code == 200
    alerts: list[dict[str, Any]] = response.get_json()["alerts"]
    return alerts


def stored(alert_id: str) -> UsageAlert:
    db.session.expire_all()
    row = db.session.get(UsageAlert, uuid.UUID(alert_id))
    assert row is not None
    return row


def test_a_new_workspace_has_no_alerts(client: FlaskClient, owner: Account) -> None:
    assert listed(client, owner) == []


def test_create_answers_the_alert_with_defaults(client: FlaskClient, owner: Account) -> None:
    alert = create_alert(client, owner, metadata={"note": "pico"})
    assert set(alert) == ALERT_KEYS
    assert alert["threshold"] == 100 and type(alert["threshold"]) is float
    assert (alert["window"], alert["channel"], alert["enabled"]) == ("24h", "email", True)
    assert alert["metadata"] == {"note": "pico"}
    assert alert["lastTriggeredAt"] is None
    assert listed(client, owner) == [alert]


def test_the_frontend_body_is_accepted(client: FlaskClient, owner: Account) -> None:
    body = {"metric": "users", "threshold": 2.5, "condition": "less_than", "enabled": False}
    response = client.post(URL, json=body, headers=owner.headers)
    assert response.status_code == 201
    assert response.get_json()["alert"]["threshold"] == 2.5


def test_update_changes_only_the_given_fields(client: FlaskClient, owner: Account) -> None:
    alert = create_alert(client, owner)
    response = client.put(
        f"{URL}/{alert['id']}",
        json={"threshold": 5, "window": "7d", "channel": "slack"},
        headers=owner.headers,
    )
    assert response.status_code == 200
    changed = response.get_json()["alert"]
    assert (changed["threshold"], changed["window"], changed["channel"]) == (5.0, "7d", "slack")
    assert (changed["metric"], changed["condition"]) == ("webhooks", "greater_than")
    assert listed(client, owner) == [changed]


def test_delete_removes_the_alert(client: FlaskClient, owner: Account) -> None:
    alert = create_alert(client, owner)
    response = client.delete(f"{URL}/{alert['id']}", headers=owner.headers)
    assert response.status_code == 200 and response.get_json()["status"] == "ok"
    assert listed(client, owner) == []
    assert_envelope(client.delete(f"{URL}/{alert['id']}", headers=owner.headers), 404)


@pytest.mark.parametrize(
    "body",
    [
        {"metric": "cpu", "threshold": 1},
        {"metric": "webhooks"},
        {"metric": "webhooks", "threshold": "muito"},
        {"metric": "webhooks", "threshold": -1},
        {"metric": "webhooks", "threshold": 1, "condition": "above"},
        {"metric": "webhooks", "threshold": 1, "window": "forever"},
        {"metric": "webhooks", "threshold": 1, "window": "9999d"},
        {"metric": "webhooks", "threshold": 1, "channel": "pigeon"},
        {"metric": "webhooks", "threshold": 1, "enabled": "yes"},
        {"metric": "webhooks", "threshold": 1, "workspaceId": str(uuid.uuid4())},
    ],
    ids=[
        "metric",
        "no-threshold",
        "threshold-text",
        "negative",
        "condition",
        "window",
        "window-too-long",
        "channel",
        "enabled-text",
        "mass-assignment",
    ],
)
def test_bad_alerts_are_422_and_nothing_is_stored(
    client: FlaskClient, owner: Account, body: dict[str, Any]
) -> None:
    body_out = assert_envelope(client.post(URL, json=body, headers=owner.headers), 422)
    assert body_out["message"]
    assert listed(client, owner) == []


def test_a_bad_update_changes_nothing(client: FlaskClient, owner: Account) -> None:
    alert = create_alert(client, owner)
    response = client.put(
        f"{URL}/{alert['id']}", json={"threshold": 3, "window": "1y"}, headers=owner.headers
    )
    assert_envelope(response, 422)
    assert listed(client, owner) == [alert]


# --- roles and isolation ---------------------------------------------------------------------

Call = Callable[[FlaskClient, Account, str], TestResponse]
ITEM_ROUTES: dict[str, Call] = {
    "update": lambda c, a, i: c.put(f"{URL}/{i}", json={"threshold": 7}, headers=a.headers),
    "delete": lambda c, a, i: c.delete(f"{URL}/{i}", headers=a.headers),
}


@pytest.mark.parametrize("role", ROLES)
def test_every_member_lists_the_alerts(client: FlaskClient, owner: Account, role: str) -> None:
    alert = create_alert(client, owner)
    assert listed(client, member(owner, role)) == [alert]


@pytest.mark.parametrize("role", NON_MANAGERS)
def test_viewers_and_editors_cannot_create(client: FlaskClient, owner: Account, role: str) -> None:
    body = {"metric": "webhooks", "threshold": 1}
    response = client.post(URL, json=body, headers=member(owner, role).headers)
    assert_envelope(response, 403, "forbidden")
    assert listed(client, owner) == []


@pytest.mark.parametrize("route", list(ITEM_ROUTES.values()), ids=list(ITEM_ROUTES))
@pytest.mark.parametrize("role", NON_MANAGERS)
def test_viewers_and_editors_cannot_change_or_delete(
    client: FlaskClient, owner: Account, role: str, route: Call
) -> None:
    alert = create_alert(client, owner)
    assert_envelope(route(client, member(owner, role), alert["id"]), 403, "forbidden")
    assert listed(client, owner) == [alert]


@pytest.mark.parametrize("route", list(ITEM_ROUTES.values()), ids=list(ITEM_ROUTES))
@pytest.mark.parametrize("role", MANAGERS)
def test_admins_and_owners_manage(
    client: FlaskClient, owner: Account, role: str, route: Call
) -> None:
    account = member(owner, role)
    alert = create_alert(client, account)
    assert route(client, account, alert["id"]).status_code == 200


@pytest.mark.parametrize("route", list(ITEM_ROUTES.values()), ids=list(ITEM_ROUTES))
def test_another_workspace_gets_404_and_changes_nothing(
    client: FlaskClient, owner: Account, route: Call
) -> None:
    alert = create_alert(client, owner)
    stranger = make_account()
    assert_envelope(route(client, stranger, alert["id"]), 404, "not_found")
    assert listed(client, owner) == [alert]
    assert listed(client, stranger) == []
    assert float(stored(alert["id"]).threshold) == 100


def test_at_most_fifty_alerts_per_workspace(client: FlaskClient, owner: Account) -> None:
    for _ in range(50):
        db.session.add(
            UsageAlert(
                workspace_id=owner.workspace_id,
                metric="users",
                threshold=1,
                condition="equals",
                window="24h",
                channel="email",
                enabled=True,
                alert_metadata={},
            )
        )
    db.session.commit()
    body = {"metric": "webhooks", "threshold": 1}
    assert_envelope(client.post(URL, json=body, headers=owner.headers), 409, "conflict")
    assert len(listed(client, owner)) == 50
