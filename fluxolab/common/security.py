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

F = TypeVar("F", bound=Callable[..., Any])


def auth_required(role: str = "viewer") -> Callable[[F], F]:
    """Require a valid access token whose user has at least ``role`` in the workspace.

    The workspace is the token's ``workspaceId`` unless an ``X-Workspace-Id`` header names
    another workspace the user belongs to. Membership and role come from the database.
    """
    if role not in ROLE_RANK:
        raise ValueError(f"unknown role {role!r}")

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            verify_jwt_in_request()
            actor = resolve_actor(get_jwt(), request.headers.get("X-Workspace-Id"))
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
