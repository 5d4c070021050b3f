"""Property-based run of schemathesis against our own OpenAPI document: no 500, no surprise.

Every operation of ``/api/openapi.json`` (public ones included) is called through the WSGI
app (the session app, on the test PostgreSQL; each operation runs inside its own rolled-back
transaction) with valid and invalid data, by a user who registered and logged in over HTTP.
Four checks hold for every response:

- ``not_a_server_error``: no 5xx;
- ``status_code_conformance``: the status is documented for the operation;
- ``content_type_conformance``: the content type is the documented one;
- ``response_schema_conformance``: the body matches the documented schema (the error
  envelope ``{status, message, code, errors}`` for every error status).

The run is bounded and reproducible: ``derandomize`` with a fixed seed, at most
``MAX_EXAMPLES`` generated cases per operation and no example database, so ``make test``
stays fast and sends the same cases each time.

Exclusions (nothing else is left out):

- Path ids are replaced by the ids of objects the user owns (a workflow, a queued execution,
  an invitation, the user itself): random UUIDs would only ever reach the 404 that
  ``test_openapi_invariants.py::test_unknown_id_is_404_not_403_or_500`` already covers.
- The documented ``X-Workspace-Id`` header is not sent: a generated workspace id is never
  one of the user's, so every call would be the same 404 and reach no view.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import pytest
import schemathesis
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, Phase, seed, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from werkzeug.test import TestResponse

from tests.factories import PASSWORD, unique_email
from tests.helpers import fresh_app

# Generated cases per operation: 25 keeps the whole run under a minute on two cores;
# `make fuzz` runs the same test with more (SCHEMATHESIS_MAX_EXAMPLES, default 200).
MAX_EXAMPLES = int(os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "25"))
WORKSPACE_HEADER = "X-Workspace-Id"
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def _document() -> dict[str, Any]:
    """The OpenAPI document of a throw-away app (collection time needs no database)."""
    config = {
        "FLUXOLAB_ENV": "test",
        "SQLALCHEMY_DATABASE_URI": "sqlite://",
        "RATELIMIT_ENABLED": False,
        "CELERY": {"broker_url": "memory://"},
    }
    with fresh_app(config) as throwaway:
        document: dict[str, Any] = throwaway.test_client().get("/api/openapi.json").get_json()
    return document


# pytest 9 broke schemathesis's lazy ``from_fixture`` loader (it sets ``node._nodeid``):
# the document is loaded at collection and the calls go to the session app.
schema = schemathesis.openapi.from_dict(_document())


RUNNABLE = {
    "nodes": [{"id": "t", "type": "manual"}, {"id": "end", "type": "no-op"}],
    "connections": [{"from": "t", "to": "end"}],
}


@dataclass
class World:
    """A user registered and logged in over HTTP, and one object of each kind it owns."""

    headers: dict[str, str]
    ids: dict[str, str]


def _ok(response: TestResponse, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.get_json()
    body: dict[str, Any] = response.get_json()
    return body


@pytest.fixture()
def world(client: FlaskClient) -> World:
    """Register and log in over HTTP, then create a workflow, an execution, an invitation."""
    email = unique_email("fuzz")
    user = {"email": email, "password": PASSWORD, "displayName": "Fuzz Tester"}
    _ok(client.post("/api/auth/register", json=user), 201)
    login = _ok(client.post("/api/auth/login", json={"email": email, "password": PASSWORD}), 200)
    headers = {"Authorization": f"Bearer {login['token']}"}
    workflow = _ok(
        client.post("/api/workflows", json={"name": "W", "definition": RUNNABLE}, headers=headers),
        201,
    )["workflow"]
    run = _ok(client.post(f"/api/workflows/{workflow['id']}/run", json={}, headers=headers), 202)
    invited = _ok(
        client.post(
            "/api/users/workspace-members",
            json={"email": unique_email("invited"), "role": "editor"},
            headers=headers,
        ),
        201,
    )
    ids = {
        "workflow_id": workflow["id"],
        "execution_id": run["executionId"],
        "invitation_id": invited["invitation"]["id"],
        "user_id": login["user"]["id"],
    }
    return World(headers=headers, ids=ids)


@schema.parametrize()
@seed(20260701)
@settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_api_conforms_to_its_openapi_document(app: Flask, case: Any, world: World) -> None:
    for name in case.path_parameters or {}:
        if name in world.ids:
            case.path_parameters[name] = world.ids[name]
    if case.headers:
        case.headers.pop(WORKSPACE_HEADER, None)
    case.call_and_validate(app=app, headers=world.headers, checks=CHECKS)
