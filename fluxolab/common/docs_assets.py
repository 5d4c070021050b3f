"""Serve the Swagger UI assets from the installed ``swagger-ui-bundle`` (docs work offline)."""

from __future__ import annotations

from flask import Blueprint, Response, send_from_directory
from swagger_ui_bundle import swagger_ui_path

from fluxolab.common.security import public

ASSETS_URL = "/api/docs/assets/"

blp = Blueprint("docs_assets", __name__)


@blp.get(f"{ASSETS_URL}<path:filename>")
@public
def asset(filename: str) -> Response:
    """Return one Swagger UI file (JavaScript, CSS, icons)."""
    return send_from_directory(swagger_ui_path, filename, max_age=86400)
