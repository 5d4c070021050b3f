"""The one access helper every protected route uses: authenticate, load the actor, check role."""

from __future__ import annotations

from collections.abc import Callable
from copy import deepcopy
from functools import wraps
from typing import Any, TypeVar, cast

from flask import g, request
from flask_jwt_extended import get_jwt, verify_jwt_in_request

from fluxolab.auth.actor import ROLE_RANK, Actor, resolve_actor
from fluxolab.errors import Forbidden
from fluxolab.settings.apikeys import TOKEN_PREFIX, resolve_key_actor

F = TypeVar("F", bound=Callable[..., Any])

# Blueprint -> the resource of the API-key scope its routes need (GET reads, others write).
# Blueprints not listed (auth, users, settings: keys, members, billing ...) refuse API keys.
API_KEY_RESOURCES = {
    "workflows": "workflows",
    "nodes": "workflows",
    "executions": "executions",
    "node-tests": "executions",
    "webhooks": "webhooks",
    "credentials": "credentials",
}
API_KEY_HEADER = "X-API-Key"


def api_key_scope(blueprint: str | None, method: str) -> str | None:
    """The scope an API key needs for a route, or None when the route refuses API keys."""
    resource = API_KEY_RESOURCES.get(blueprint or "")
    if resource is None:
        return None
    return f"{resource}:{'read' if method in ('GET', 'HEAD') else 'write'}"


def presented_api_key() -> str | None:
    """The API key of the request: ``X-API-Key``, or a Bearer token that starts ``flx_``."""
    header = request.headers.get(API_KEY_HEADER, "").strip()
    if header:
        return header
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    value = value.strip()
    if scheme.lower() == "bearer" and value.startswith(TOKEN_PREFIX):
        return value
    return None


def _resolve() -> Actor:
    workspace_header = request.headers.get("X-Workspace-Id")
    key = presented_api_key()
    if key is not None:
        scope = api_key_scope(request.blueprint, request.method)
        return resolve_key_actor(key, scope, workspace_header)
    verify_jwt_in_request()
    return resolve_actor(get_jwt(), workspace_header)


def auth_required(role: str = "viewer") -> Callable[[F], F]:
    """Require a valid access token whose user has at least ``role`` in the workspace.

    The workspace is the token's ``workspaceId`` unless an ``X-Workspace-Id`` header names
    another workspace the user belongs to. Membership and role come from the database.
    An API key (``X-API-Key`` or ``Bearer flx_...``) acts as its creator, with the creator's
    current role, on routes whose scope (``api_key_scope``) the key holds.
    """
    if role not in ROLE_RANK:
        raise ValueError(f"unknown role {role!r}")

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            actor = _resolve()
            if not actor.has_role(role):
                raise Forbidden(f"Esta acao exige o papel '{role}' ou superior.")
            g.actor = actor
            return view(*args, **kwargs)

        apidoc = deepcopy(getattr(wrapper, "_apidoc", {}))
        manual = apidoc.setdefault("manual_doc", {})
        manual["security"] = [{"bearerAuth": []}]
        manual["x-required-role"] = role
        wrapper._apidoc = apidoc  # type: ignore[attr-defined]
        wrapper._fluxo_role = role  # type: ignore[attr-defined]
        return cast(F, wrapper)

    return decorator


def public(view: F) -> F:
    """Mark a route as deliberately public (documented, and exempt from the auth invariant)."""
    apidoc = deepcopy(getattr(view, "_apidoc", {}))
    apidoc.setdefault("manual_doc", {})["security"] = []
    view._apidoc = apidoc  # type: ignore[attr-defined]
    view._fluxo_role = "public"  # type: ignore[attr-defined]
    return view


def current_actor() -> Actor:
    """Return the actor loaded by ``auth_required`` for this request."""
    return cast(Actor, g.actor)
