"""Password reset: a 6-digit e-mailed code (10 min, 5 attempts), then a single-use reset token."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import uuid
from datetime import timedelta

from flask import current_app
from flask_jwt_extended import create_access_token, decode_token
from jwt import PyJWTError
from sqlalchemy import select, update

from fluxolab import audit, dispatch
from fluxolab.auth import tokens
from fluxolab.auth.passwords import ensure_policy, hash_password
from fluxolab.errors import BadRequest
from fluxolab.extensions import db
from fluxolab.mail import send_mail
from fluxolab.models import PasswordResetRequest, User, utcnow

CODE_LIFETIME = timedelta(minutes=10)
TOKEN_LIFETIME = timedelta(minutes=10)
MAX_ATTEMPTS = 5
FORGOT_MESSAGE = "Se existir uma conta com esse identificador, enviaremos um codigo de verificacao."
INVALID_CODE = "Codigo invalido ou expirado."
PENDING = ""  # code_hash of a request whose code the worker has not made yet
_CPF = re.compile(r"^(\d{3}\.\d{3}\.\d{3}-\d{2}|\d{11})$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def normalize_identifier(identifier: str) -> tuple[str, str]:
    """Return ``("email"|"cpf", value)`` or raise ``BadRequest`` for anything else."""
    value = identifier.strip()
    if _EMAIL.match(value):
        return "email", value.lower()
    if _CPF.match(value):
        return "cpf", re.sub(r"\D", "", value)
    raise BadRequest("Informe um e-mail ou CPF valido.", code="invalid_identifier")


def _find_user(kind: str, value: str) -> User | None:
    column = User.email if kind == "email" else User.cpf
    return db.session.execute(select(User).where(column == value)).scalar_one_or_none()


def _code_hash(code: str) -> str:
    key = current_app.config["JWT_SECRET_KEY"].encode()
    return hmac.new(key, code.encode(), hashlib.sha256).hexdigest()


def request_code(identifier: str, ip: str | None) -> None:
    """Cancel earlier codes and queue a new one; unknown identifiers do nothing, silently.

    The code itself is made and e-mailed by a worker (``deliver_code``), so the answer takes
    the same time whether or not the account exists, and no secret travels in the message.
    """
    kind, value = normalize_identifier(identifier)
    user = _find_user(kind, value)
    if user is None:
        return
    now = utcnow()
    db.session.execute(
        update(PasswordResetRequest)
        .where(
            PasswordResetRequest.user_id == user.id,
            PasswordResetRequest.consumed_at.is_(None),
            PasswordResetRequest.canceled_at.is_(None),
        )
        .values(canceled_at=now)
    )
    request = PasswordResetRequest(
        id=uuid.uuid4(),
        user_id=user.id,
        code_hash=PENDING,
        created_at=now,
        expires_at=now + CODE_LIFETIME,
        ip_address=(ip or "")[:45] or None,
    )
    db.session.add(request)
    db.session.commit()
    dispatch.send("mail.send_reset_code", str(request.id))


def deliver_code(request_id: uuid.UUID) -> bool:
    """Make the 6-digit code of a pending request, store its hash and e-mail it (once).

    Returns ``False`` when the request is gone, canceled, expired or already delivered.
    """
    code = f"{secrets.randbelow(1_000_000):06d}"
    email = db.session.execute(
        select(User.email)
        .join(PasswordResetRequest, PasswordResetRequest.user_id == User.id)
        .where(PasswordResetRequest.id == request_id)
    ).scalar_one_or_none()
    stored = db.session.execute(
        update(PasswordResetRequest)
        .where(
            PasswordResetRequest.id == request_id,
            PasswordResetRequest.code_hash == PENDING,
            PasswordResetRequest.canceled_at.is_(None),
            PasswordResetRequest.expires_at > utcnow(),
        )
        .values(code_hash=_code_hash(code))
    )
    db.session.commit()
    if email is None or stored.rowcount != 1:  # type: ignore[attr-defined]
        return False
    return send_mail(
        email,
        "FluxoLab: codigo para redefinir sua senha",
        f"Seu codigo de verificacao e {code}. Ele expira em 10 minutos.\n"
        "Se voce nao pediu a redefinicao, ignore esta mensagem.",
    )


def _open_request(user_id: uuid.UUID) -> PasswordResetRequest | None:
    return db.session.execute(
        select(PasswordResetRequest)
        .where(
            PasswordResetRequest.user_id == user_id,
            PasswordResetRequest.canceled_at.is_(None),
            PasswordResetRequest.consumed_at.is_(None),
            PasswordResetRequest.verified_at.is_(None),
            PasswordResetRequest.expires_at > utcnow(),
            PasswordResetRequest.code_hash != PENDING,
        )
        .order_by(PasswordResetRequest.created_at.desc())
        .limit(1)
    ).scalar_one_or_none()


def _spend_attempt(request_id: uuid.UUID) -> str | None:
    """Count one attempt against an open request; return its code hash, or None when none is left.

    One conditional ``UPDATE``: concurrent attempts are serialized by the row, so the cap
    holds however many arrive at once (a read-modify-write would let them all pass).
    """
    now = utcnow()
    return db.session.execute(
        update(PasswordResetRequest)
        .where(
            PasswordResetRequest.id == request_id,
            PasswordResetRequest.attempts < MAX_ATTEMPTS,
            PasswordResetRequest.canceled_at.is_(None),
            PasswordResetRequest.consumed_at.is_(None),
            PasswordResetRequest.verified_at.is_(None),
            PasswordResetRequest.expires_at > now,
        )
        .values(attempts=PasswordResetRequest.attempts + 1)
        .returning(PasswordResetRequest.code_hash)
        .execution_options(synchronize_session=False)
    ).scalar_one_or_none()


def _mark_verified(request_id: uuid.UUID) -> bool:
    """Mark a request verified, once: of two right answers at the same time only one wins."""
    marked = db.session.execute(
        update(PasswordResetRequest)
        .where(PasswordResetRequest.id == request_id, PasswordResetRequest.verified_at.is_(None))
        .values(verified_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return bool(marked.rowcount == 1)  # type: ignore[attr-defined]


def _refusal(request_id: uuid.UUID) -> BadRequest:
    """Why no attempt was left: the cap was reached, or the request closed meanwhile."""
    attempts = db.session.execute(
        select(PasswordResetRequest.attempts).where(PasswordResetRequest.id == request_id)
    ).scalar_one_or_none()
    if attempts is not None and attempts >= MAX_ATTEMPTS:
        return BadRequest(
            "Numero maximo de tentativas atingido; peca um novo codigo.", code="too_many_attempts"
        )
    return BadRequest(INVALID_CODE, code="invalid_code")


def verify_code(identifier: str, code: str) -> str:
    """Check a code (5 attempts at most, even concurrently) and return a single-use reset token.

    Raises ``BadRequest``: ``invalid_code`` for a wrong, expired or unknown code,
    ``too_many_attempts`` once the request's attempts are spent (the right code included).
    """
    kind, value = normalize_identifier(identifier)
    given_hash = _code_hash(code)
    user = _find_user(kind, value)
    request = _open_request(user.id) if user else None
    if user is None or request is None:
        raise BadRequest(INVALID_CODE, code="invalid_code")
    user_id, request_id = user.id, request.id
    stored_hash = _spend_attempt(request_id)
    if stored_hash is None:
        db.session.rollback()
        raise _refusal(request_id)
    if not hmac.compare_digest(stored_hash, given_hash) or not _mark_verified(request_id):
        db.session.commit()
        raise BadRequest(INVALID_CODE, code="invalid_code")
    db.session.commit()
    return create_access_token(
        identity=str(user_id),
        additional_claims={"purpose": "password_reset", "rid": str(request_id)},
        expires_delta=TOKEN_LIFETIME,
    )


def reset_password(reset_token: str, new_password: str) -> None:
    """Set a new password with a verified reset token (once) and end every session of the user."""
    ensure_policy(new_password, "newPassword")
    try:
        claims = decode_token(reset_token)
        request_id = uuid.UUID(str(claims["rid"]))
        user_id = uuid.UUID(str(claims["sub"]))
    except (PyJWTError, KeyError, ValueError) as exc:
        raise BadRequest(
            "Token de redefinicao invalido ou expirado.", code="invalid_reset_token"
        ) from exc
    if claims.get("purpose") != "password_reset":
        raise BadRequest("Token de redefinicao invalido ou expirado.", code="invalid_reset_token")
    spent = db.session.execute(
        update(PasswordResetRequest)
        .where(
            PasswordResetRequest.id == request_id,
            PasswordResetRequest.user_id == user_id,
            PasswordResetRequest.verified_at.is_not(None),
            PasswordResetRequest.consumed_at.is_(None),
            PasswordResetRequest.canceled_at.is_(None),
        )
        .values(consumed_at=utcnow())
    )
    user = db.session.get(User, user_id)
    if spent.rowcount != 1 or user is None:  # type: ignore[attr-defined]
        db.session.rollback()
        raise BadRequest(
            "Token de redefinicao ja utilizado ou invalido.", code="invalid_reset_token"
        )
    user.password_hash = hash_password(new_password)
    tokens.revoke_user_sessions(user.id, "password_reset")
    audit.record(
        "auth.password_reset",
        ("user", user.id),
        None,
        {"sessionsRevoked": True},
        user_id=user.id,
        workspace_id=user.default_workspace_id,
    )
    db.session.commit()
