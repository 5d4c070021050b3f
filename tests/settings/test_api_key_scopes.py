"""Generated from the OpenAPI document: every protected route refuses a key without its scope.

Each protected operation documents ``x-api-key-scope`` (null: API keys refused). A key
holding every other scope gets a 403 (``insufficient_scope``, or ``api_key_not_allowed``
where keys are refused altogether); a key holding the scope gets past authentication.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from flask.testing import FlaskClient

from fluxolab.models import API_KEY_SCOPES
from tests.api.test_openapi_invariants import (
    build_request,
    is_id_parameter,
    openapi_snapshot,
    operations,
    path_parameters,
)
from tests.factories import make_account
from tests.helpers import assert_envelope
from tests.settings.test_api_keys import create_key

KEY_ERRORS = {"insufficient_scope", "api_key_not_allowed", "api_key_invalid"}


def keyed_request(operation: tuple[str, str, dict[str, Any]]) -> dict[str, Any]:
    """The invariants' minimal request; a non-id path value is 1 or a real node type."""
    spec, _keys = openapi_snapshot()
    method, path, op = operation
    request = build_request(spec, method, path, op)
    request["path"] = _fill(path, spec, op)
    return request


def _fill(path: str, spec: dict[str, Any], op: dict[str, Any]) -> str:
    url = path
    for parameter in path_parameters(spec, path, op):
        kind = parameter.get("schema", {}).get("type")
        value = "1" if kind == "integer" else "webhook"
        if is_id_parameter(parameter):
            value = str(uuid.uuid4())
        url = url.replace("{" + parameter["name"] + "}", value)
    return url


def protected() -> list[tuple[str, str, dict[str, Any]]]:
    spec, _keys = openapi_snapshot()
    return [op for op in operations(spec) if op[2].get("security")]


PROTECTED = protected()


def test_every_protected_operation_documents_its_api_key_scope() -> None:
    for method, path, operation in PROTECTED:
        assert "x-api-key-scope" in operation, f"{method} {path}"
        scope = operation["x-api-key-scope"]
        assert scope is None or scope in API_KEY_SCOPES, f"{method} {path}: {scope}"


def test_the_scoped_routes_cover_every_resource() -> None:
    scopes = {op[2]["x-api-key-scope"] for op in PROTECTED} - {None}
    assert scopes == set(API_KEY_SCOPES)


@pytest.mark.parametrize("operation", PROTECTED, ids=[f"{m.upper()} {p}" for m, p, _ in PROTECTED])
def test_a_key_without_the_routes_scope_is_refused(
    client: FlaskClient, operation: tuple[str, str, dict[str, Any]]
) -> None:
    _method, _path, op = operation
    scope = op["x-api-key-scope"]
    owner = make_account()
    others = [s for s in API_KEY_SCOPES if s != scope]
    token = create_key(client, owner, scopes=others)["token"]
    response = client.open(headers={"X-API-Key": token}, **keyed_request(operation))
    expected = "api_key_not_allowed" if scope is None else "insufficient_scope"
    assert_envelope(response, 403, expected)


@pytest.mark.parametrize(
    "operation",
    [op for op in PROTECTED if op[2]["x-api-key-scope"]],
    ids=[f"{m.upper()} {p}" for m, p, o in PROTECTED if o["x-api-key-scope"]],
)
def test_a_key_with_the_routes_scope_gets_past_authentication(
    client: FlaskClient, operation: tuple[str, str, dict[str, Any]]
) -> None:
    op = operation[2]
    owner = make_account()
    token = create_key(client, owner, scopes=[op["x-api-key-scope"]])["token"]
    response = client.open(headers={"X-API-Key": token}, **keyed_request(operation))
    assert response.status_code != 401, response.get_json()
    body = response.get_json() or {}
    assert body.get("code") not in KEY_ERRORS, body
    assert response.status_code < 500, body
