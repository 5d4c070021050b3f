"""Serve a built FluxoLab frontend (its ``dist/``) at ``/``, on the API's own origin.

Registered only when ``FLUXOLAB_FRONTEND_DIR`` names a folder with an ``index.html``. A
request for a file of the build gets it: hashed assets (``assets/``, or a name carrying a
content hash such as ``app-3f2a9c1d.js``) are cached for a year as immutable, any other file
is revalidated on each use. Any other path is a route of the single-page app and gets
``index.html``, never cached, so a new build is picked up at once. ``/api/*``,
``/forms/*`` and ``/metrics`` are never the app's: an unknown path there stays the API's
JSON 404.
"""

from __future__ import annotations

import re
from pathlib import Path

from flask import Blueprint, Flask, Response, current_app, request, send_from_directory
from werkzeug.security import safe_join

from fluxolab.common.security import public
from fluxolab.errors import MethodNotAllowed, NotFound

blp = Blueprint("frontend", __name__)
SERVER_PREFIXES = ("api", "forms", "metrics")
# Vite names its output assets/<name>-<hash>.<ext>; other bundlers put a hash in the name too
_HASHED = re.compile(
    r"(^|/)assets/|[.-][0-9A-Za-z_-]{8,}\.(js|mjs|css|woff2?|svg|png|jpe?g|webp|ico|map)$"
)
YEAR = 365 * 24 * 3600


def folder(app: Flask) -> Path | None:
    """The configured build folder, when it holds an ``index.html``."""
    configured = str(app.config.get("FRONTEND_DIR") or "")
    if not configured:
        return None
    path = Path(configured).resolve()
    return path if (path / "index.html").is_file() else None


def install(app: Flask) -> None:
    """Serve the build at ``/`` when one is configured (a missing build is an error)."""
    if not app.config.get("FRONTEND_DIR"):
        return
    if folder(app) is None:
        raise RuntimeError(f"FLUXOLAB_FRONTEND_DIR has no index.html: {app.config['FRONTEND_DIR']}")
    app.register_blueprint(blp)


def _index(root: Path) -> Response:
    response = send_from_directory(root, "index.html", max_age=0)
    response.headers["Cache-Control"] = "no-cache"
    return response


# every method: an unknown path under the server's prefixes stays a 404 whatever the method
_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]


@blp.route("/", defaults={"path": ""}, methods=_METHODS)
@blp.route("/<path:path>", methods=_METHODS)
@public
def page(path: str) -> Response:
    """A file of the build, else the single-page app's ``index.html``."""
    root = folder(current_app)
    if root is None or path.split("/", 1)[0] in SERVER_PREFIXES:
        raise NotFound()
    if request.method not in ("GET", "HEAD"):
        raise MethodNotAllowed(allow=("GET", "HEAD"))
    found = safe_join(str(root), path) if path else None
    if found is None or not Path(found).is_file() or path == "index.html":
        return _index(root)
    if _HASHED.search(path):
        response = send_from_directory(root, path, max_age=YEAR)
        response.headers["Cache-Control"] = f"public, max-age={YEAR}, immutable"
        return response
    response = send_from_directory(root, path, max_age=0)
    response.headers["Cache-Control"] = "no-cache"
    return response
