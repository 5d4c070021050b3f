"""HTTP routes of ``/api/users`` (contract 3.5, seed "Users Module")."""

from __future__ import annotations

from flask_smorest import Blueprint

blp = Blueprint(
    "users", __name__, url_prefix="/api/users", description="Profile, members, preferences"
)
