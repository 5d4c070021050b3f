"""Credential routes: contract 3.3 shapes, validation per type, names, updates, deletion."""

from __future__ import annotations

import copy
import json
import uuid
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from fluxolab.credentials.cipher import cipher
from fluxolab.extensions import db
from fluxolab.models import Credential
from tests.api.test_workflows import RUNNABLE, create_workflow
from tests.factories import Account, make_account
from tests.helpers import assert_envelope

SMTP_SECRET: dict[str, Any] = {
    "host": "smtp.example.com",
    "port": 587,
    "secure": False,
    "user": "ana@example.com",
    "password": "app-pass-word-123",
}
# What the Settings panel sends (contract 3.3).
PANEL_BODY: dict[str, Any] = {"name": "smtp-principal", "type": "smtp", "secret": SMTP_SECRET}

VALID_SECRETS: dict[str, dict[str, Any]] = {
    "http-header": {"name": "X-Api-Key", "value": "header-secret-1"},
    "http-bearer": {"token": "bearer-secret-1", "testUrl": "https://api.example.com/me"},
    "http-basic": {"user": "ana", "password": "basic-secret-1"},
    "api-key-query": {"name": "api_key", "value": "query-secret-1"},
    "oauth2-client-credentials": {
        "tokenUrl": "https://auth.example.com/token",
        "clientId": "client-1",
        "clientSecret": "client-secret-1",
        "scope": "read",
        "authStyle": "body",
    },
    "smtp": SMTP_SECRET,
    "openai-compatible": {"baseUrl": "https://ai.example.com/v1", "apiKey": "sk-secret-1"},
}
SECRET_FIELD = {
    "http-header": "value",
    "http-bearer": "token",
    "http-basic": "password",
    "api-key-query": "value",
    "oauth2-client-credentials": "clientSecret",
    "smtp": "password",
    "openai-compatible": "apiKey",
}


def create_credential(
    client: FlaskClient, account: Account, name: str = "smtp-principal", **body: Any
) -> dict[str, Any]:
    """POST a credential through the contract route and return the created credential."""
    payload = {**copy.deepcopy(PANEL_BODY), "name": name, **body}
    response = client.post("/api/workflows/credentials", json=payload, headers=account.headers)
    assert response.status_code == 201, response.get_json()
    credential = response.get_json()["credential"]
    assert isinstance(credential, dict)
    return credential


def detail(client: FlaskClient, account: Account, credential_id: str) -> dict[str, Any]:
    response = client.get(f"/api/credentials/{credential_id}", headers=account.headers)
    assert response.status_code == 200, response.get_json()
    body: dict[str, Any] = response.get_json()["credential"]
    return body


def stored_secret(credential_id: str) -> dict[str, Any]:
    """Decrypt the stored secret of a credential (what the routes never show)."""
    row = db.session.get(Credential, uuid.UUID(credential_id))
    assert row is not None
    return cipher().decrypt(row.data_encrypted)


@pytest.fixture()
def owner() -> Account:
    return make_account()


def test_panel_post_is_201_with_the_contract_shape(client: FlaskClient, owner: Account) -> None:
    response = client.post("/api/workflows/credentials", json=PANEL_BODY, headers=owner.headers)
    assert response.status_code == 201
    body = response.get_json()
    assert set(body) == {"status", "credential"}
    assert body["status"] == "created"
    assert set(body["credential"]) == {"id", "name", "type", "createdAt"}
    assert body["credential"]["name"] == "smtp-principal"
    assert body["credential"]["type"] == "smtp"


def test_panel_get_lists_exactly_id_name_type_created_at(
    client: FlaskClient, owner: Account
) -> None:
    create_credential(client, owner, name="b-smtp")
    create_credential(client, owner, name="A-smtp")
    response = client.get("/api/workflows/credentials", headers=owner.headers)
    assert response.status_code == 200
    body = response.get_json()
    assert set(body) == {"credentials"}
    assert [c["name"] for c in body["credentials"]] == ["A-smtp", "b-smtp"]
    for credential in body["credentials"]:
        assert set(credential) == {"id", "name", "type", "createdAt"}
        assert credential["createdAt"].startswith("20")


def test_workflows_credentials_is_not_read_as_a_workflow_id(
    client: FlaskClient, owner: Account
) -> None:
    create_workflow(client, owner)
    response = client.get("/api/workflows/credentials", headers=owner.headers)
    assert response.status_code == 200
    assert "workflow" not in response.get_json()
    assert (
        client.put("/api/workflows/credentials", json={}, headers=owner.headers).status_code == 405
    )


def test_no_response_carries_the_secret(client: FlaskClient, owner: Account) -> None:
    credential = create_credential(client, owner)
    cid = credential["id"]
    password = SMTP_SECRET["password"]
    responses = [
        client.get("/api/workflows/credentials", headers=owner.headers),
        client.get("/api/credentials", headers=owner.headers),
        client.get(f"/api/credentials/{cid}", headers=owner.headers),
        client.put(f"/api/credentials/{cid}", json={"name": "x"}, headers=owner.headers),
        client.put(
            f"/api/credentials/{cid}", json={"secret": {"port": "bad"}}, headers=owner.headers
        ),
    ]
    for response in responses:
        assert password not in response.get_data(as_text=True)
    row = db.session.execute(select(Credential)).scalar_one()
    assert password not in row.data_encrypted


def test_detail_shows_non_secret_fields_and_only_that_secrets_are_set(
    client: FlaskClient, owner: Account
) -> None:
    credential = detail(client, owner, create_credential(client, owner)["id"])
    assert credential["config"] == {
        "host": "smtp.example.com",
        "port": 587,
        "secure": False,
        "user": "ana@example.com",
    }
    assert credential["secretsSet"] == {"password": True}
    assert credential["isActive"] is True and credential["lastUsedAt"] is None
    assert "secret" not in credential


@pytest.mark.parametrize("kind", list(VALID_SECRETS))
def test_every_type_accepts_its_secret_and_hides_its_secret_field(
    client: FlaskClient, owner: Account, kind: str
) -> None:
    created = create_credential(client, owner, name=kind, type=kind, secret=VALID_SECRETS[kind])
    shown = detail(client, owner, created["id"])
    assert shown["type"] == kind
    assert shown["secretsSet"][SECRET_FIELD[kind]] is True
    assert SECRET_FIELD[kind] not in shown["config"]
    assert VALID_SECRETS[kind][SECRET_FIELD[kind]] not in json.dumps(shown)
    assert stored_secret(created["id"]) == VALID_SECRETS[kind]


INVALID: dict[str, tuple[str, dict[str, Any], dict[str, str]]] = {
    "smtp-port-string": ("smtp", {**SMTP_SECRET, "port": "587"}, {"port": "type integer"}),
    "smtp-port-range": ("smtp", {**SMTP_SECRET, "port": 70000}, {"port": "between"}),
    "smtp-secure-string": ("smtp", {**SMTP_SECRET, "secure": "yes"}, {"secure": "boolean"}),
    "smtp-missing-host": (
        "smtp",
        {k: v for k, v in SMTP_SECRET.items() if k != "host"},
        {"host": "Missing"},
    ),
    "smtp-unknown-field": ("smtp", {**SMTP_SECRET, "tls": True}, {"tls": "Unknown"}),
    "bearer-empty": ("http-bearer", {"token": ""}, {"token": "empty"}),
    "bearer-test-url-ftp": (
        "http-bearer",
        {"token": "t0ken-t0ken", "testUrl": "ftp://example.com/"},
        {"testUrl": "http"},
    ),
    "header-bad-name": ("http-header", {"name": "X Bad", "value": "v"}, {"name": "format"}),
    "basic-missing-both": ("http-basic", {}, {"user": "Missing", "password": "Missing"}),
    "oauth2-auth-style": (
        "oauth2-client-credentials",
        {**VALID_SECRETS["oauth2-client-credentials"], "authStyle": "query"},
        {"authStyle": "one of"},
    ),
    "oauth2-token-url-file": (
        "oauth2-client-credentials",
        {**VALID_SECRETS["oauth2-client-credentials"], "tokenUrl": "file:///etc/passwd"},
        {"tokenUrl": "http"},
    ),
    "openai-base-url-javascript": (
        "openai-compatible",
        {"baseUrl": "javascript:alert(1)", "apiKey": "sk-1234567"},
        {"baseUrl": "http"},
    ),
    "query-missing-value": ("api-key-query", {"name": "k"}, {"value": "Missing"}),
}


@pytest.mark.parametrize(("kind", "secret", "expected"), list(INVALID.values()), ids=list(INVALID))
def test_invalid_secret_is_422_naming_each_field(
    client: FlaskClient,
    owner: Account,
    kind: str,
    secret: dict[str, Any],
    expected: dict[str, str],
) -> None:
    body = {"name": "bad", "type": kind, "secret": secret}
    response = client.post("/api/workflows/credentials", json=body, headers=owner.headers)
    envelope = assert_envelope(response, 422, "validation_error")
    errors = envelope["errors"]["secret"]
    for field, words in expected.items():
        assert any(words in message for message in errors[field]), errors
    assert "secret." in envelope["message"]
    assert db.session.execute(select(Credential)).first() is None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"type": "smtp", "secret": SMTP_SECRET}, "name"),
        ({"name": "   ", "type": "smtp", "secret": SMTP_SECRET}, "name"),
        ({"name": "x" * 256, "type": "smtp", "secret": SMTP_SECRET}, "name"),
        ({"name": "x", "type": "ftp", "secret": {}}, "type"),
        ({"name": "x", "type": "smtp"}, "secret"),
        ({"name": "x", "type": "smtp", "secret": "pw"}, "secret"),
        ({**PANEL_BODY, "isActive": False}, "isActive"),
        ({**PANEL_BODY, "workspaceId": "x"}, "workspaceId"),
    ],
    ids=[
        "name-missing",
        "name-blank",
        "name-too-long",
        "unknown-type",
        "secret-missing",
        "secret-not-object",
        "server-field",
        "workspace-field",
    ],
)
def test_bad_body_is_422(
    client: FlaskClient, owner: Account, body: dict[str, Any], field: str
) -> None:
    response = client.post("/api/workflows/credentials", json=body, headers=owner.headers)
    assert field in assert_envelope(response, 422)["errors"]


def test_names_are_trimmed_and_255_is_accepted(client: FlaskClient, owner: Account) -> None:
    assert create_credential(client, owner, name="  smtp  ")["name"] == "smtp"
    assert len(create_credential(client, owner, name="n" * 255)["name"]) == 255


def test_duplicate_name_is_409_ignoring_case_and_spaces(
    client: FlaskClient, owner: Account
) -> None:
    create_credential(client, owner, name="SMTP Principal")
    body = {**PANEL_BODY, "name": " smtp principal "}
    response = client.post("/api/workflows/credentials", json=body, headers=owner.headers)
    envelope = assert_envelope(response, 409, "credential_name_taken")
    assert "smtp principal" in envelope["message"]
    assert (
        len(client.get("/api/workflows/credentials", headers=owner.headers).json["credentials"])
        == 1
    )


def test_same_name_in_another_workspace_is_fine(client: FlaskClient, owner: Account) -> None:
    create_credential(client, owner, name="smtp")
    create_credential(client, make_account(), name="smtp")


def test_rename_to_a_taken_name_is_409_and_changes_nothing(
    client: FlaskClient, owner: Account
) -> None:
    create_credential(client, owner, name="one")
    second = create_credential(client, owner, name="two")
    response = client.put(
        f"/api/credentials/{second['id']}", json={"name": "ONE"}, headers=owner.headers
    )
    assert_envelope(response, 409, "credential_name_taken")
    assert detail(client, owner, second["id"])["name"] == "two"


def test_put_without_secret_keeps_it(client: FlaskClient, owner: Account) -> None:
    cid = create_credential(client, owner)["id"]
    response = client.put(
        f"/api/credentials/{cid}", json={"name": "renamed"}, headers=owner.headers
    )
    assert response.status_code == 200
    assert response.get_json()["credential"]["name"] == "renamed"
    assert stored_secret(cid) == SMTP_SECRET


def test_partial_secret_merges_into_the_stored_one(client: FlaskClient, owner: Account) -> None:
    cid = create_credential(client, owner)["id"]
    response = client.put(
        f"/api/credentials/{cid}",
        json={"secret": {"password": "new-password-456", "port": 465, "secure": True}},
        headers=owner.headers,
    )
    assert response.status_code == 200
    assert response.get_json()["credential"]["config"]["port"] == 465
    assert stored_secret(cid) == {
        **SMTP_SECRET,
        "password": "new-password-456",
        "port": 465,
        "secure": True,
    }


def test_partial_secret_is_validated_as_a_whole(client: FlaskClient, owner: Account) -> None:
    cid = create_credential(client, owner)["id"]
    response = client.put(
        f"/api/credentials/{cid}", json={"secret": {"host": None}}, headers=owner.headers
    )
    assert "host" in assert_envelope(response, 422)["errors"]["secret"]
    response = client.put(
        f"/api/credentials/{cid}", json={"secret": {"port": "x"}}, headers=owner.headers
    )
    assert "port" in assert_envelope(response, 422)["errors"]["secret"]
    assert stored_secret(cid) == SMTP_SECRET


def test_null_removes_an_optional_field(client: FlaskClient, owner: Account) -> None:
    kind = "oauth2-client-credentials"
    cid = create_credential(client, owner, type=kind, secret=VALID_SECRETS[kind])["id"]
    response = client.put(
        f"/api/credentials/{cid}", json={"secret": {"scope": None}}, headers=owner.headers
    )
    assert response.status_code == 200
    assert "scope" not in stored_secret(cid)


def test_type_change_needs_the_whole_new_secret(client: FlaskClient, owner: Account) -> None:
    cid = create_credential(client, owner)["id"]
    response = client.put(
        f"/api/credentials/{cid}", json={"type": "http-bearer"}, headers=owner.headers
    )
    assert "secret" in assert_envelope(response, 422)["errors"]
    response = client.put(
        f"/api/credentials/{cid}",
        json={"type": "http-bearer", "secret": {"password": "x"}},
        headers=owner.headers,
    )
    assert set(assert_envelope(response, 422)["errors"]["secret"]) == {"password", "token"}
    response = client.put(
        f"/api/credentials/{cid}",
        json={"type": "http-bearer", "secret": {"token": "a-new-token"}},
        headers=owner.headers,
    )
    assert response.status_code == 200
    assert stored_secret(cid) == {"token": "a-new-token"}


def test_is_active_toggles(client: FlaskClient, owner: Account) -> None:
    cid = create_credential(client, owner)["id"]
    response = client.put(
        f"/api/credentials/{cid}", json={"isActive": False}, headers=owner.headers
    )
    assert response.get_json()["credential"]["isActive"] is False
    assert detail(client, owner, cid)["isActive"] is False


def test_paginated_list_filters_by_type_and_searches_names(
    client: FlaskClient, owner: Account
) -> None:
    for kind in ("smtp", "http-bearer", "openai-compatible"):
        for n in range(2):
            create_credential(
                client, owner, name=f"{kind} {n}_x", type=kind, secret=VALID_SECRETS[kind]
            )
    response = client.get("/api/credentials?limit=4", headers=owner.headers)
    body = response.get_json()
    assert set(body) == {"status", "credentials", "total", "limit", "offset"}
    assert body["total"] == 6 and len(body["credentials"]) == 4
    assert set(body["credentials"][0]) == {
        "id",
        "name",
        "type",
        "createdAt",
        "isActive",
        "lastUsedAt",
        "updatedAt",
    }
    page2 = client.get("/api/credentials?limit=4&page=2", headers=owner.headers).get_json()
    assert len(page2["credentials"]) == 2
    by_type = client.get("/api/credentials?type=smtp", headers=owner.headers).get_json()
    assert {c["type"] for c in by_type["credentials"]} == {"smtp"} and by_type["total"] == 2
    found = client.get("/api/credentials?search=HTTP-B", headers=owner.headers).get_json()
    assert [c["name"] for c in found["credentials"]] == ["http-bearer 0_x", "http-bearer 1_x"]
    like = client.get("/api/credentials?search=%25", headers=owner.headers).get_json()
    assert like["total"] == 0
    assert client.get("/api/credentials?type=ftp", headers=owner.headers).status_code == 422


def _use_in_workflow(
    client: FlaskClient, owner: Account, credential_id: str, name: str, active: bool
) -> str:
    definition = copy.deepcopy(RUNNABLE)
    definition["nodes"][1]["params"] = {"credentialId": credential_id}
    workflow = create_workflow(client, owner, name=name, definition=definition)
    if active:
        response = client.patch(
            f"/api/workflows/{workflow['id']}/status", json={"active": True}, headers=owner.headers
        )
        assert response.status_code == 200, response.get_json()
    return str(workflow["id"])


def test_delete_of_a_credential_used_by_active_workflows_is_409_naming_them(
    client: FlaskClient, owner: Account
) -> None:
    cid = create_credential(client, owner)["id"]
    _use_in_workflow(client, owner, cid, "Envio diario", active=True)
    _use_in_workflow(client, owner, cid, "Rascunho", active=False)
    response = client.delete(f"/api/credentials/{cid}", headers=owner.headers)
    envelope = assert_envelope(response, 409, "credential_in_use")
    assert "'Envio diario'" in envelope["message"]
    assert "Rascunho" not in envelope["message"]
    assert envelope["errors"] == {"workflows": ["Envio diario"]}
    assert detail(client, owner, cid)["id"] == cid


def test_delete_used_only_by_inactive_workflows_succeeds(
    client: FlaskClient, owner: Account
) -> None:
    cid = create_credential(client, owner)["id"]
    workflow_id = _use_in_workflow(client, owner, cid, "Parado", active=False)
    response = client.delete(f"/api/credentials/{cid}", headers=owner.headers)
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "message": "Credencial excluida."}
    assert client.get(f"/api/credentials/{cid}", headers=owner.headers).status_code == 404
    assert client.get(f"/api/workflows/{workflow_id}", headers=owner.headers).status_code == 200


def test_delete_after_the_workflow_is_deactivated_succeeds(
    client: FlaskClient, owner: Account
) -> None:
    cid = create_credential(client, owner)["id"]
    workflow_id = _use_in_workflow(client, owner, cid, "Ativo", active=True)
    client.patch(
        f"/api/workflows/{workflow_id}/status", json={"active": False}, headers=owner.headers
    )
    assert client.delete(f"/api/credentials/{cid}", headers=owner.headers).status_code == 200
