"""Factories: users with workspaces, extra members, and tokens, built through the services."""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass

from flask.testing import FlaskClient

from fluxolab.auth import service as auth
from fluxolab.extensions import db
from fluxolab.models import User
from fluxolab.workspaces import service as workspaces

PASSWORD = "Secret123!"
_counter = itertools.count(1)


@dataclass
class Account:
    """A registered user, the workspace the token acts on, and auth headers."""

    user: User
    workspace_id: uuid.UUID
    token: str
    refresh_token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    @property
    def user_id(self) -> uuid.UUID:
        return self.user.id


def unique_email(prefix: str = "user") -> str:
    return f"{prefix}{next(_counter)}-{uuid.uuid4().hex[:6]}@example.com"


def make_account(email: str | None = None, name: str = "Ana Souza") -> Account:
    """Register a user (own workspace, owner) and log in."""
    email = email or unique_email()
    auth.register(email, PASSWORD, name, "#6366F1", None)
    login = auth.login(email, PASSWORD, "127.0.0.1", "pytest")
    return Account(
        login.user, login.workspace_id, login.tokens.access_token, login.tokens.refresh_token
    )


def make_member(owner: Account, role: str, email: str | None = None) -> Account:
    """Create a user who belongs to ``owner``'s workspace with ``role`` (token acts on it)."""
    account = make_account(email)
    workspaces.add_member(owner.workspace_id, account.user.id, role, owner.user.id)
    user = db.session.get(User, account.user.id)
    assert user is not None
    user.default_workspace_id = owner.workspace_id
    db.session.commit()
    login = auth.login(user.email, PASSWORD, "127.0.0.1", "pytest")
    return Account(
        login.user, owner.workspace_id, login.tokens.access_token, login.tokens.refresh_token
    )


def api_login(client: FlaskClient, email: str, password: str = PASSWORD) -> dict[str, object]:
    """Log in over HTTP and return the JSON body."""
    response = client.post("/api/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert isinstance(body, dict)
    return body
