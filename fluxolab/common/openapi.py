"""Document every error an operation can answer, each with the one envelope schema.

flask-smorest documents one ``default`` error response whose schema says ``code`` is an
integer. FluxoLab replaces it (``configure_api``) with explicit statuses: the ones every
operation of a kind can answer are added here, from the operation's shape (a request body,
path parameters, bearer security); the ones only some routes answer (402, 409, 429 ...)
are declared on the route with ``error_responses``. Each refers to flask-smorest's
per-status response component (``NOT_FOUND`` ...), whose schema is ``ErrorSchema``.
"""

from __future__ import annotations

from collections.abc import Callable
from copy import deepcopy
from http import HTTPStatus
from typing import Any, TypeVar

from apispec import BasePlugin
from flask_smorest import Api

from fluxolab.common.schemas import ErrorSchema
from fluxolab.common.security import api_key_scope

F = TypeVar("F", bound=Callable[..., Any])

EVERY_OPERATION = (414, 500, 503)  # URI too long, a bug, database or broker unavailable
WITH_BODY = (400, 413, 415, 422)  # bad/refused JSON, too large, not JSON, invalid fields
WITH_PATH_PARAMETERS = (404,)
WITH_BEARER = (401, 403, 404)  # no/invalid token, role too low, X-Workspace-Id not a member
WITH_QUERY = (400, 422)  # NUL in a value, invalid parameters

WORKSPACE_HEADER = {
    "in": "header",
    "name": "X-Workspace-Id",
    "required": False,
    "description": "Act in another workspace the caller is a member of (404 otherwise).",
    "schema": {"type": "string", "format": "uuid"},
}


def error_statuses(path: str, operation: dict[str, Any]) -> list[int]:
    """Return the error statuses an operation answers because of its shape."""
    statuses = list(EVERY_OPERATION)
    if "requestBody" in operation:
        statuses.extend(WITH_BODY)
    if "{" in path:
        statuses.extend(WITH_PATH_PARAMETERS)
    if operation.get("security"):
        statuses.extend(WITH_BEARER)
    if any(p.get("in") == "query" for p in operation.get("parameters", [])):
        statuses.extend(WITH_QUERY)
    return sorted(set(statuses))


def _add(responses: dict[Any, Any], statuses: list[int] | tuple[int, ...]) -> None:
    documented = {str(code) for code in responses}
    for status in statuses:
        if str(status) not in documented:
            responses[str(status)] = HTTPStatus(status).name


class ErrorResponsesPlugin(BasePlugin):
    """apispec plugin: add the shape-derived error responses, the workspace header, and the
    API-key scope of each protected operation (``x-api-key-scope``, null: no API keys)."""

    def operation_helper(
        self,
        path: str | None = None,
        operations: dict[str, Any] | None = None,
        **_kwargs: Any,
    ) -> None:
        """Complete each operation of ``path`` in place."""
        for method, operation in (operations or {}).items():
            _add(operation.setdefault("responses", {}), error_statuses(path or "", operation))
            if operation.get("security"):
                operation.setdefault("parameters", []).append(dict(WORKSPACE_HEADER))
                blueprint = (operation.get("tags") or [None])[0]
                operation["x-api-key-scope"] = api_key_scope(blueprint, method.upper())


def error_responses(*statuses: int) -> Callable[[F], F]:
    """Declare the route-specific error statuses of a view (402 quota, 409 conflict ...)."""

    def decorator(view: F) -> F:
        apidoc = deepcopy(getattr(view, "_apidoc", {}))
        responses = apidoc.setdefault("manual_doc", {}).setdefault("responses", {})
        _add(responses, statuses)
        view._apidoc = apidoc  # type: ignore[attr-defined]
        return view

    return decorator


def configure_api(api: Api) -> dict[str, Any]:
    """Make flask-smorest document ``ErrorSchema``; return the ``spec_kwargs`` for init_app."""
    api.ERROR_SCHEMA = ErrorSchema
    api.DEFAULT_ERROR_RESPONSE_NAME = None
    return {"extra_plugins": [ErrorResponsesPlugin()]}
