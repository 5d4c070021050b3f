"""The node catalog routes (contract 8): the registry exactly, roles, routing, validation."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from fluxolab.engine import catalog, registry
from tests.factories import Account, make_account, make_member

BASE = "/api/workflows/nodes"


@pytest.fixture()
def owner() -> Account:
    return make_account()


@pytest.fixture()
def viewer(owner: Account) -> Account:
    return make_member(owner, "viewer")


def get(client: FlaskClient, account: Account, path: str, **query: Any) -> dict[str, Any]:
    response = client.get(f"{BASE}{path}", query_string=query, headers=account.headers)
    assert response.status_code == 200, response.get_json()
    body: dict[str, Any] = response.get_json()
    return body


def validate(client: FlaskClient, account: Account, **body: Any) -> dict[str, Any]:
    response = client.post(f"{BASE}/validate", json=body, headers=account.headers)
    assert response.status_code == 200, response.get_json()
    validation: dict[str, Any] = response.get_json()["validation"]
    return validation


def test_templates_are_the_registry_exactly(client: FlaskClient, viewer: Account) -> None:
    body = get(client, viewer, "/templates")
    assert body == {"status": "ok", "templates": catalog.templates()}
    assert {t["id"] for t in body["templates"]} == {t.type for t in registry.all()}


def test_templates_filter_by_category(client: FlaskClient, viewer: Account) -> None:
    found = get(client, viewer, "/templates", category="flow")["templates"]
    assert found == [t for t in catalog.templates() if t["category"] == "flow"]
    assert "execute-workflow" in {t["id"] for t in found}


@pytest.mark.parametrize("search", ["EXECUTE WORKFLOW", "another WORKFLOW of", "execute-wor"])
def test_templates_search_name_description_and_type(
    client: FlaskClient, viewer: Account, search: str
) -> None:
    found = get(client, viewer, "/templates", search=search)["templates"]
    assert [t["id"] for t in found] == ["execute-workflow"]


def test_search_and_category_combine(client: FlaskClient, viewer: Account) -> None:
    assert get(client, viewer, "/templates", category="data", search="execute")["templates"] == []


def test_unknown_category_is_a_422(client: FlaskClient, viewer: Account) -> None:
    response = client.get(f"{BASE}/templates?category=nope", headers=viewer.headers)
    assert response.status_code == 422
    assert isinstance(response.get_json()["message"], str)


def test_categories_and_triggers_are_the_catalog(client: FlaskClient, viewer: Account) -> None:
    categories = get(client, viewer, "/categories")["categories"]
    assert categories == catalog.categories()
    assert [c["id"] for c in categories] == ["ai", "action", "data", "flow", "core", "human"]
    triggers = get(client, viewer, "/triggers")["triggers"]
    assert triggers == catalog.triggers()
    assert [t["id"] for t in triggers] == ["manual", "schedule", "webhook", "form", "error-trigger"]


@pytest.mark.parametrize("node_type", [t.type for t in registry.all()])
def test_config_schema_of_every_type(client: FlaskClient, viewer: Account, node_type: str) -> None:
    assert get(client, viewer, f"/config-schema/{node_type}")["schema"] == catalog.config_schema(
        node_type
    )


def test_config_schema_resolves_aliases(client: FlaskClient, viewer: Account) -> None:
    schema = get(client, viewer, "/config-schema/if.branch")["schema"]
    assert schema == catalog.config_schema("if-condition")


def test_config_schema_of_an_unknown_type_is_a_404_envelope(
    client: FlaskClient, viewer: Account
) -> None:
    response = client.get(f"{BASE}/config-schema/ai-nope", headers=viewer.headers)
    assert response.status_code == 404
    body = response.get_json()
    assert body["status"] == "error"
    assert body["message"] == "Node type 'ai-nope' not found"


@pytest.mark.parametrize("path", ["/templates", "/categories", "/triggers", "/config-schema/set"])
def test_catalog_needs_a_token(client: FlaskClient, path: str) -> None:
    response = client.get(f"{BASE}{path}")
    assert response.status_code == 401
    assert isinstance(response.get_json()["message"], str)


def test_catalog_routes_win_over_the_workflow_id_route(client: FlaskClient, owner: Account) -> None:
    """``/api/workflows/<uuid>`` never sees ``nodes``; what is not a catalog route is a 404."""
    assert client.get(f"{BASE}/templates", headers=owner.headers).status_code == 200
    assert client.post(f"{BASE}/validate", json={}, headers=owner.headers).status_code == 200
    for path in ("/api/workflows/nodes", f"{BASE}/nope"):
        response = client.get(path, headers=owner.headers)
        assert response.status_code == 404
        assert response.get_json()["status"] == "error"
    assert client.delete(f"{BASE}/templates", headers=owner.headers).status_code == 405


def test_catalog_answers_carry_an_etag_and_honour_if_none_match(
    client: FlaskClient, viewer: Account
) -> None:
    first = client.get(f"{BASE}/categories", headers=viewer.headers)
    etag = first.headers["ETag"]
    assert first.headers["Cache-Control"] == "private, max-age=300"
    again = client.get(f"{BASE}/categories", headers={**viewer.headers, "If-None-Match": etag})
    assert again.status_code == 304
    assert again.data == b""


# --- validate ------------------------------------------------------------------------------


def test_a_valid_node_validates(client: FlaskClient, viewer: Account) -> None:
    validation = validate(
        client, viewer, type="execute-workflow", name="Run child", config={"workflowId": "x"}
    )
    assert validation == {"isValid": True, "errors": [], "warnings": []}


def test_type_and_name_are_required(client: FlaskClient, viewer: Account) -> None:
    validation = validate(client, viewer, config={})
    assert validation == {
        "isValid": False,
        "errors": ["Node type is required", "Node name is required"],
        "warnings": [],
    }


def test_unknown_type(client: FlaskClient, viewer: Account) -> None:
    validation = validate(client, viewer, type="ai-nope", name="A")
    assert validation["errors"] == ["Unknown node type 'ai-nope'"]


def test_required_type_and_enum_messages(client: FlaskClient, viewer: Account) -> None:
    missing = validate(client, viewer, type="if-condition", name="If", config={})
    assert "Required field 'condition' is missing" in missing["errors"]
    wrong = validate(
        client,
        viewer,
        type="execute-workflow",
        name="Run",
        config={"workflowId": 5, "mode": "later"},
    )
    assert wrong["isValid"] is False
    assert wrong["errors"] == [
        'Field \'mode\' must be one of: "wait", "fireAndForget"',
        "Field 'workflowId' must be of type string",
    ]


def test_expression_syntax_is_checked(client: FlaskClient, viewer: Account) -> None:
    validation = validate(
        client, viewer, type="execute-workflow", name="Run", config={"workflowId": "{{ $json. }}"}
    )
    assert validation["isValid"] is False
    assert validation["errors"][0].startswith("Field 'workflowId': Expression error:")


def test_expressions_satisfy_the_schema(client: FlaskClient, viewer: Account) -> None:
    validation = validate(
        client,
        viewer,
        type="execute-workflow",
        name="Run",
        config={"workflowId": "{{ $json.id }}", "mode": "{{ $json.mode }}"},
    )
    assert validation["isValid"] is True


def test_aliases_and_unknown_fields_are_warnings(client: FlaskClient, viewer: Account) -> None:
    validation = validate(
        client, viewer, type="if.branch", name="If", config={"left": "a", "extra": 1}
    )
    assert "Node type 'if.branch' is an alias of 'if-condition'" in validation["warnings"]
    assert "Unknown field 'extra'" in validation["warnings"]


def _credential(client: FlaskClient, account: Account, kind: str, secret: dict[str, Any]) -> str:
    response = client.post(
        "/api/workflows/credentials",
        json={"name": f"cred {kind}", "type": kind, "secret": secret},
        headers=account.headers,
    )
    assert response.status_code == 201, response.get_json()
    return str(response.get_json()["credential"]["id"])


def _http(credential_id: str) -> dict[str, Any]:
    return {"url": "https://example.com/", "method": "GET", "credentialId": credential_id}


def test_a_credential_of_an_accepted_type_is_valid(
    client: FlaskClient, owner: Account, viewer: Account
) -> None:
    bearer = _credential(client, owner, "http-bearer", {"token": "token-123456"})
    validation = validate(client, viewer, type="http-request", name="Call", config=_http(bearer))
    assert validation == {"isValid": True, "errors": [], "warnings": []}


def test_a_credential_of_another_type_is_an_error(
    client: FlaskClient, owner: Account, viewer: Account
) -> None:
    ai = _credential(
        client, owner, "openai-compatible", {"baseUrl": "https://ai.example.com", "apiKey": "k" * 8}
    )
    validation = validate(client, viewer, type="http-request", name="Call", config=_http(ai))
    assert validation["isValid"] is False
    assert validation["errors"][0].startswith(f"Credential '{ai}' is of type openai-compatible")


def test_a_missing_or_foreign_credential_is_not_found(
    client: FlaskClient, owner: Account, viewer: Account
) -> None:
    stranger = make_account()
    foreign = _credential(client, stranger, "http-bearer", {"token": "token-123456"})
    for credential_id in (foreign, "00000000-0000-0000-0000-000000000000"):
        validation = validate(
            client, viewer, type="http-request", name="Call", config=_http(credential_id)
        )
        assert validation["errors"] == [f"Credential '{credential_id}' not found"]


def test_validate_needs_a_token(client: FlaskClient) -> None:
    assert client.post(f"{BASE}/validate", json={"type": "set"}).status_code == 401


def test_validate_refuses_unknown_body_fields(client: FlaskClient, viewer: Account) -> None:
    response = client.post(f"{BASE}/validate", json={"nope": 1}, headers=viewer.headers)
    assert response.status_code == 422
