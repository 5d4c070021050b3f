"""API keys: token shown once, only its hash stored, rotation kills the old token, revoke."""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.test import TestResponse

from fluxolab.extensions import db
from fluxolab.models import ApiKey, utcnow
from tests.factories import Account, make_account
from tests.helpers import assert_envelope
from tests.settings.helpers import MANAGERS, NON_MANAGERS, member, summary

TOKEN = re.compile(r"^flx_[0-9a-f]{48}$")
SCOPES = ["workflows:read", "executions:write"]
KEY_KEYS = {
    "id",
    "label",
    "keyPreview",
    "scopes",
    "status",
    "createdAt",
    "lastUsedAt",
    "expiresAt",
    "createdBy",
}


@pytest.fixture()
def owner() -> Account:
    return make_account()


def create_key(client: FlaskClient, account: Account, **body: Any) -> dict[str, Any]:
    payload = {"label": "API Key 03/12/2026", "scopes": ["workflows:read"], **body}
    response = client.post("/api/settings/api/keys", json=payload, headers=account.headers)
    assert response.status_code == 201, response.get_json()
    result: dict[str, Any] = response.get_json()
    return result


def stored(key_id: str) -> ApiKey:
    db.session.expire_all()
    row = db.session.get(ApiKey, uuid.UUID(key_id))
    assert row is not None
    return row


def sha256(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def test_create_answers_the_token_once_and_the_key(client: FlaskClient, owner: Account) -> None:
    body = create_key(client, owner, scopes=SCOPES)
    token, key = body["token"], body["key"]
    assert TOKEN.match(token)
    assert set(key) == KEY_KEYS
    assert key["keyPreview"] == f"flx_...{token[-4:]}"
    assert key["scopes"] == SCOPES
    assert key["status"] == "active"
    assert key["lastUsedAt"] is None
    assert key["createdBy"] == {"id": str(owner.user_id), "email": owner.user.email}
    listed = summary(client, owner)["apiKeys"]
    assert listed == [key]
    text = client.get("/api/settings/summary", headers=owner.headers).get_data(as_text=True)
    assert token not in text and token[4:-4] not in text


def test_only_the_hash_of_the_token_is_stored(client: FlaskClient, owner: Account) -> None:
    body = create_key(client, owner)
    row = stored(body["key"]["id"])
    assert row.key_hash == sha256(body["token"])
    values = [str(getattr(row, column.key)) for column in ApiKey.__table__.columns]
    assert not any(body["token"][4:] in value for value in values)


def test_rotate_gives_a_new_token_and_the_old_one_no_longer_matches(
    client: FlaskClient, owner: Account
) -> None:
    body = create_key(client, owner)
    key_id, old = body["key"]["id"], body["token"]
    response = client.put(f"/api/settings/api/keys/{key_id}/rotate", headers=owner.headers)
    assert response.status_code == 200
    new = response.get_json()["token"]
    assert TOKEN.match(new) and new != old
    row = stored(key_id)
    assert row.key_hash == sha256(new)
    assert db.session.scalar(select(ApiKey).where(ApiKey.key_hash == sha256(old))) is None
    (listed,) = summary(client, owner)["apiKeys"]
    assert listed["keyPreview"] == f"flx_...{new[-4:]}"
    assert listed["id"] == key_id


def test_delete_revokes_the_key_and_removes_it_from_the_list(
    client: FlaskClient, owner: Account
) -> None:
    body = create_key(client, owner)
    key_id = body["key"]["id"]
    response = client.delete(f"/api/settings/api/keys/{key_id}", headers=owner.headers)
    assert response.status_code == 200
    assert response.get_json()["status"] == "ok"
    assert isinstance(response.get_json()["message"], str)
    assert stored(key_id).status == "revoked"
    assert summary(client, owner)["apiKeys"] == []
    again = client.delete(f"/api/settings/api/keys/{key_id}", headers=owner.headers)
    assert_envelope(again, 404, "not_found")
    rotate = client.put(f"/api/settings/api/keys/{key_id}/rotate", headers=owner.headers)
    assert_envelope(rotate, 404, "not_found")


@pytest.mark.parametrize(
    "scopes",
    [["workflows:delete"], ["admin"], [], ["workflows:read", "billing:write"]],
    ids=["unknown-action", "no-resource", "empty", "one-bad"],
)
def test_scopes_outside_the_list_are_refused_with_a_message(
    client: FlaskClient, owner: Account, scopes: list[str]
) -> None:
    response = client.post(
        "/api/settings/api/keys", json={"label": "x", "scopes": scopes}, headers=owner.headers
    )
    body = assert_envelope(response, 422, "validation_error")
    assert "scopes" in body["errors"]
    assert (
        db.session.scalar(select(ApiKey).where(ApiKey.workspace_id == owner.workspace_id)) is None
    )


@pytest.mark.parametrize(
    "body",
    [{"scopes": "workflows:read"}, {"label": "x"}, {"scopes": ["workflows:read"], "keyHash": "x"}],
    ids=["scopes-not-a-list", "no-scopes", "unknown-field"],
)
def test_malformed_bodies_are_422(client: FlaskClient, owner: Account, body: Any) -> None:
    response = client.post("/api/settings/api/keys", json=body, headers=owner.headers)
    assert_envelope(response, 422, "validation_error")


def test_duplicate_scopes_are_kept_once_and_label_defaults(
    client: FlaskClient, owner: Account
) -> None:
    response = client.post(
        "/api/settings/api/keys",
        json={"scopes": ["webhooks:read", "webhooks:read"]},
        headers=owner.headers,
    )
    assert response.status_code == 201
    key = response.get_json()["key"]
    assert key["scopes"] == ["webhooks:read"]
    assert key["label"] == "API Key"


def test_expiry_must_be_in_the_future(client: FlaskClient, owner: Account) -> None:
    past = (utcnow() - timedelta(minutes=1)).isoformat()
    response = client.post(
        "/api/settings/api/keys",
        json={"scopes": ["workflows:read"], "expiresAt": past},
        headers=owner.headers,
    )
    assert_envelope(response, 422, "validation_error")


def test_an_expired_key_reads_as_expired_and_cannot_be_rotated(
    client: FlaskClient, owner: Account
) -> None:
    future = (utcnow() + timedelta(days=1)).isoformat()
    body = create_key(client, owner, expiresAt=future)
    assert body["key"]["expiresAt"] is not None
    row = stored(body["key"]["id"])
    row.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    (listed,) = summary(client, owner)["apiKeys"]
    assert listed["status"] == "expired"
    response = client.put(f"/api/settings/api/keys/{row.id}/rotate", headers=owner.headers)
    assert_envelope(response, 409, "api_key_expired")
    assert stored(str(row.id)).key_hash == sha256(body["token"])


# --- roles and isolation ---------------------------------------------------------------------

Call = Callable[[FlaskClient, Account, str], TestResponse]
KEY_ROUTES: dict[str, Call] = {
    "rotate": lambda c, a, key_id: c.put(
        f"/api/settings/api/keys/{key_id}/rotate", headers=a.headers
    ),
    "delete": lambda c, a, key_id: c.delete(f"/api/settings/api/keys/{key_id}", headers=a.headers),
}


@pytest.mark.parametrize("role", MANAGERS)
def test_admins_and_owners_create_rotate_and_revoke(
    client: FlaskClient, owner: Account, role: str
) -> None:
    account = member(owner, role)
    key_id = create_key(client, account)["key"]["id"]
    for name, route in KEY_ROUTES.items():
        assert route(client, account, key_id).status_code == 200, name


@pytest.mark.parametrize("role", NON_MANAGERS)
def test_viewers_and_editors_cannot_create(client: FlaskClient, owner: Account, role: str) -> None:
    response = client.post(
        "/api/settings/api/keys",
        json={"scopes": ["workflows:read"]},
        headers=member(owner, role).headers,
    )
    assert_envelope(response, 403, "forbidden")
    assert summary(client, owner)["apiKeys"] == []


@pytest.mark.parametrize("route", list(KEY_ROUTES.values()), ids=list(KEY_ROUTES))
@pytest.mark.parametrize("role", NON_MANAGERS)
def test_viewers_and_editors_cannot_rotate_or_revoke(
    client: FlaskClient, owner: Account, role: str, route: Call
) -> None:
    body = create_key(client, owner)
    assert_envelope(route(client, member(owner, role), body["key"]["id"]), 403, "forbidden")
    row = stored(body["key"]["id"])
    assert (row.status, row.key_hash) == ("active", sha256(body["token"]))


@pytest.mark.parametrize("role", NON_MANAGERS)
def test_viewers_and_editors_see_the_keys_in_the_summary(
    client: FlaskClient, owner: Account, role: str
) -> None:
    key = create_key(client, owner)["key"]
    assert summary(client, member(owner, role))["apiKeys"] == [key]


@pytest.mark.parametrize("route", list(KEY_ROUTES.values()), ids=list(KEY_ROUTES))
def test_another_workspace_gets_404_and_changes_nothing(
    client: FlaskClient, owner: Account, route: Call
) -> None:
    body = create_key(client, owner)
    assert_envelope(route(client, make_account(), body["key"]["id"]), 404, "not_found")
    row = stored(body["key"]["id"])
    assert (row.status, row.key_hash) == ("active", sha256(body["token"]))
