"""CSRF protection of the HTML form: a signed, expiring token in the page and a cookie.

Each ``GET /forms/<token>`` makes a random nonce. The page carries it signed (itsdangerous,
keyed by the server's secret, bound to the form's trigger id, valid ``FORM_CSRF_MAX_AGE_SECONDS``)
in a hidden input; the same nonce goes into a ``SameSite=Strict``, ``HttpOnly`` cookie scoped
to the form's path. A submission must carry a valid signed token for this form *and* the
matching cookie (double submit): a cross-site page can neither read the token nor make the
browser send the cookie. The nonce is also the submission's idempotency key, so a refresh
of the thank-you page (the browser posting the same body again) starts no second run.
"""

from __future__ import annotations

import secrets
import uuid

from flask import current_app
from itsdangerous import BadData, URLSafeTimedSerializer

FIELD = "_csrf"
COOKIE = "fluxolab_form_nonce"
_SALT = "fluxolab.forms.csrf"


def _serializer() -> URLSafeTimedSerializer:
    key = current_app.config.get("TRIGGER_TOKEN_KEY") or current_app.config["JWT_SECRET_KEY"]
    return URLSafeTimedSerializer(str(key), salt=_SALT)


def new_nonce() -> str:
    """Return a fresh random nonce for one page view."""
    return secrets.token_urlsafe(24)


def sign(trigger_id: uuid.UUID, nonce: str) -> str:
    """Return the signed token the page carries for ``nonce``."""
    return _serializer().dumps({"f": str(trigger_id), "n": nonce})


def verify(trigger_id: uuid.UUID, signed: str | None, cookie: str | None) -> str | None:
    """Return the nonce when ``signed`` is valid for this form and matches ``cookie``, else None."""
    if not signed or not cookie:
        return None
    max_age = int(current_app.config.get("FORM_CSRF_MAX_AGE_SECONDS", 7200))
    try:
        data = _serializer().loads(signed, max_age=max_age)
    except BadData:
        return None
    if not isinstance(data, dict) or data.get("f") != str(trigger_id):
        return None
    nonce = data.get("n")
    if not isinstance(nonce, str) or not secrets.compare_digest(nonce, cookie):
        return None
    return nonce
