"""HTTP routes of credentials: the contract's ``/api/workflows/credentials`` (3.3) and
``/api/credentials``.

``/api/workflows/credentials`` never reaches the workflow routes: those match ids with the
``uuid`` converter only. No response carries a secret.
"""

from __future__ import annotations

import uuid
from typing import Any

from flask import current_app
from flask.views import MethodView
from flask_smorest import Blueprint

from fluxolab.common.openapi import error_responses
from fluxolab.common.ratelimit import hit_or_raise
from fluxolab.common.schemas import MessageSchema
from fluxolab.common.security import auth_required, current_actor
from fluxolab.credentials import service
from fluxolab.credentials.schemas import (
    CredentialBody,
    CredentialCreatedBody,
    CredentialCreateIn,
    CredentialListArgs,
    CredentialListBody,
    CredentialUpdateIn,
    TestResultBody,
    WorkflowCredentialsBody,
)
from fluxolab.errors import RateLimited

blp = Blueprint(
    "credentials",
    __name__,
    url_prefix="/api",
    description="Credentials: encrypted secrets the nodes use (never returned)",
)


def _scope() -> tuple[uuid.UUID, uuid.UUID]:
    actor = current_actor()
    return actor.workspace_id, actor.user_id


@blp.route("/workflows/credentials")
class WorkflowCredentials(MethodView):
    @auth_required("viewer")
    @blp.response(200, WorkflowCredentialsBody)
    def get(self) -> dict[str, Any]:
        """List the workspace's credentials for the builder (contract 3.3)

        Viewer or above. `{credentials: [{id, name, type, createdAt}]}` ordered by name.
        """
        rows = service.list_all(current_actor().workspace_id)
        return {"credentials": [service.summary(row, full=False) for row in rows]}

    @auth_required("editor")
    @error_responses(409)
    @blp.arguments(CredentialCreateIn)
    @blp.response(201, CredentialCreatedBody)
    def post(self, body: dict[str, Any]) -> dict[str, Any]:
        """Create a credential (contract 3.3)

        Editor or above. The `secret` is validated against the type's schema (422 naming
        each field), encrypted and never returned. A name already used in the workspace
        (ignoring case) is a 409.
        """
        workspace_id, user_id = _scope()
        row = service.create_credential(workspace_id, user_id, body)
        return {"status": "created", "credential": service.summary(row, full=False)}


@blp.route("/credentials")
class Credentials(MethodView):
    @auth_required("viewer")
    @blp.arguments(CredentialListArgs, location="query")
    @blp.response(200, CredentialListBody)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """List credentials, paginated

        Viewer or above (viewers see `id, name, type, createdAt` only). Filters: `type`,
        `search` (case-insensitive part of the name). Paginated with `limit`/`offset` or `page`.
        """
        actor = current_actor()
        page = service.list_credentials(actor.workspace_id, **args)
        full = actor.has_role("editor")
        return page.body("credentials", [service.summary(row, full=full) for row in page.items])


@blp.route("/credentials/<uuid:credential_id>")
class CredentialItem(MethodView):
    @auth_required("editor")
    @blp.response(200, CredentialBody)
    def get(self, credential_id: uuid.UUID) -> dict[str, Any]:
        """Get a credential without its secret

        Editor or above. Shows the non-secret fields and, for each secret field, whether it
        is set. Another workspace's credential is a 404.
        """
        row = service.get_credential(current_actor().workspace_id, credential_id)
        return {"status": "ok", "credential": service.detail(row)}

    @auth_required("editor")
    @error_responses(409)
    @blp.arguments(CredentialUpdateIn)
    @blp.response(200, CredentialBody)
    def put(self, body: dict[str, Any], credential_id: uuid.UUID) -> dict[str, Any]:
        """Update a credential (name, isActive, secret)

        Editor or above. Without `secret` the stored one is kept; a partial `secret` merges
        into it (a `null` field is removed) and the result is validated as a whole.
        Changing `type` needs the complete secret of the new type.
        """
        workspace_id, user_id = _scope()
        row = service.update_credential(workspace_id, credential_id, user_id, body)
        return {"status": "ok", "credential": service.detail(row)}

    @auth_required("editor")
    @error_responses(409)
    @blp.response(200, MessageSchema)
    def delete(self, credential_id: uuid.UUID) -> dict[str, Any]:
        """Delete a credential

        Editor or above. A credential used by an active workflow is a 409 naming the
        workflows; inactive workflows do not block (their runs would fail on that node).
        One that a webhook or form authenticates its callers with is a 409 naming them.
        """
        service.delete_credential(current_actor().workspace_id, credential_id)
        return {"status": "ok", "message": "Credencial excluida."}


@blp.route("/credentials/<uuid:credential_id>/test")
class CredentialTest(MethodView):
    @auth_required("editor")
    @error_responses(429)
    @blp.response(200, TestResultBody)
    def post(self, credential_id: uuid.UUID) -> dict[str, Any]:
        """Test a credential against its target

        Editor or above; rate limited per user (429). SMTP: connect and log in; AI: list
        the models; OAuth2: fetch a token; http-*: request `testUrl` with the auth applied.
        Always through the egress guard. A failure is `success: false` with the reason.
        """
        workspace_id, user_id = _scope()
        hit_or_raise(
            str(current_app.config["CREDENTIAL_TEST_RATE_LIMIT"]),
            "credential-test",
            [f"user:{user_id}"],
            RateLimited("Muitos testes de credencial; tente mais tarde.", retry_after=60),
        )
        result = service.check_credential(workspace_id, credential_id)
        return {"status": "ok", "result": {"success": result.success, "message": result.message}}
