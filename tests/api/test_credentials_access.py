"""Credential routes: the role matrix and workspace isolation on every route with an id."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from tests.api.test_credentials import (
    PANEL_BODY,
    SMTP_SECRET,
    create_credential,
    stored_secret,
)
from tests.factories import Account, make_account, make_member
from tests.helpers import assert_envelope

Call = Callable[[FlaskClient, Account, str], TestResponse]


def _on(method: str, suffix: str = "", body: dict[str, Any] | None = None) -> Call:
    def call(client: FlaskClient, account: Account, credential_id: str) -> TestResponse:
        path = f"/api/credentials/{credential_id}{suffix}"
        return client.open(path, method=method, json=body, headers=account.headers)

    return call


LISTS: dict[str, Call] = {
    "panel-list": lambda c, a, _id: c.get("/api/workflows/credentials", headers=a.headers),
    "list": lambda c, a, _id: c.get("/api/credentials", headers=a.headers),
}
CREATE: Call = lambda c, a, _id: c.post(  # noqa: E731
    "/api/workflows/credentials", json={**PANEL_BODY, "name": "new"}, headers=a.headers
)
# Routes on one credential, with the status an editor gets.
ID_ROUTES: dict[str, tuple[Call, int]] = {
    "detail": (_on("GET"), 200),
    "update": (_on("PUT", "", {"name": "changed", "secret": {"password": "pw-changed"}}), 200),
    "test": (_on("POST", "/test"), 200),
    "delete": (_on("DELETE"), 200),
}
ROLES = ["viewer", "editor", "admin", "owner"]


@pytest.fixture()
def owner() -> Account:
    return make_account()


@pytest.fixture()
def credential_id(client: FlaskClient, owner: Account) -> str:
    # A closed loopback port: the test route fails at once, whatever the egress policy.
    secret = {**SMTP_SECRET, "host": "127.0.0.1", "port": 9}
    return str(create_credential(client, owner, secret=secret)["id"])


def _member(owner: Account, role: str) -> Account:
    return owner if role == "owner" else make_member(owner, role)


@pytest.mark.parametrize("route", list(LISTS.values()), ids=list(LISTS))
@pytest.mark.parametrize("role", ROLES)
def test_every_member_lists(
    client: FlaskClient, owner: Account, credential_id: str, route: Call, role: str
) -> None:
    response = route(client, _member(owner, role), credential_id)
    assert response.status_code == 200
    (item,) = response.get_json()["credentials"]
    assert item["id"] == credential_id


@pytest.mark.parametrize("route", list(LISTS.values()), ids=list(LISTS))
def test_viewer_sees_only_id_name_type_created_at(
    client: FlaskClient, owner: Account, credential_id: str, route: Call
) -> None:
    response = route(client, make_member(owner, "viewer"), credential_id)
    (item,) = response.get_json()["credentials"]
    assert set(item) == {"id", "name", "type", "createdAt"}


@pytest.mark.parametrize("role", ROLES)
def test_create_needs_editor(client: FlaskClient, owner: Account, role: str) -> None:
    response = CREATE(client, _member(owner, role), "")
    if role == "viewer":
        assert_envelope(response, 403, "forbidden")
        listed = client.get("/api/credentials", headers=owner.headers).get_json()
        assert listed["total"] == 0
    else:
        assert response.status_code == 201


@pytest.mark.parametrize(("route", "_ok"), list(ID_ROUTES.values()), ids=list(ID_ROUTES))
def test_viewer_cannot_read_change_test_or_delete(
    client: FlaskClient, owner: Account, credential_id: str, route: Call, _ok: int
) -> None:
    response = route(client, make_member(owner, "viewer"), credential_id)
    assert_envelope(response, 403, "forbidden")
    assert "app-pass-word" not in response.get_data(as_text=True)
    assert stored_secret(credential_id)["password"] == "app-pass-word-123"
    body = client.get(f"/api/credentials/{credential_id}", headers=owner.headers).get_json()
    assert body["credential"]["name"] == "smtp-principal"


@pytest.mark.parametrize(("route", "ok"), list(ID_ROUTES.values()), ids=list(ID_ROUTES))
@pytest.mark.parametrize("role", ["editor", "admin", "owner"])
def test_editor_and_above_manage(
    client: FlaskClient,
    owner: Account,
    credential_id: str,
    route: Call,
    ok: int,
    role: str,
) -> None:
    assert route(client, _member(owner, role), credential_id).status_code == ok


@pytest.mark.parametrize(("route", "_ok"), list(ID_ROUTES.values()), ids=list(ID_ROUTES))
def test_other_workspace_id_is_404_and_left_unchanged(
    client: FlaskClient, owner: Account, credential_id: str, route: Call, _ok: int
) -> None:
    response = route(client, make_account(), credential_id)
    assert_envelope(response, 404, "not_found")
    assert stored_secret(credential_id)["password"] == "app-pass-word-123"
    body = client.get(f"/api/credentials/{credential_id}", headers=owner.headers).get_json()
    assert body["credential"]["name"] == "smtp-principal"


@pytest.mark.parametrize("route", list(LISTS.values()), ids=list(LISTS))
def test_lists_show_only_own_workspace(
    client: FlaskClient, owner: Account, credential_id: str, route: Call
) -> None:
    other = make_account()
    create_credential(client, other, name="do-outro")
    (item,) = route(client, other, "").get_json()["credentials"]
    assert item["name"] == "do-outro"


@pytest.mark.parametrize(
    "route",
    [*LISTS.values(), CREATE, *(call for call, _ in ID_ROUTES.values())],
    ids=[*LISTS, "create", *ID_ROUTES],
)
def test_every_route_needs_a_token(client: FlaskClient, credential_id: str, route: Call) -> None:
    anonymous = Account(user=None, workspace_id=None, token="", refresh_token="")  # type: ignore[arg-type]
    assert route(client, anonymous, credential_id).status_code == 401
