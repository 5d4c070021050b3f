"""Password hashing (argon2id) and the password policy shared by register and reset."""

from __future__ import annotations

import re
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app

from fluxolab.errors import ValidationFailed

POLICY_MESSAGE = (
    "A senha deve ter de 8 a 72 caracteres, com letra minuscula, letra maiuscula, "
    "numero e um caractere especial (@$!%*?&)."
)
_POLICY = re.compile(r"^(?=.*[a-z])(?=.*[A-Z])(?=.*\d)(?=.*[@$!%*?&]).{8,72}$")


def meets_policy(password: str) -> bool:
    """Tell whether ``password`` satisfies the policy the frontend also checks."""
    return bool(_POLICY.match(password))


def ensure_policy(password: str, field: str) -> None:
    """Refuse a password a user chooses (register, reset, any change) that breaks the policy.

    Raises ``ValidationFailed`` with the policy message as the error of ``field``.
    """
    if not meets_policy(password):
        raise ValidationFailed(POLICY_MESSAGE, errors={field: [POLICY_MESSAGE]})


@lru_cache(maxsize=4)
def _hasher(time_cost: int, memory_cost: int) -> PasswordHasher:
    return PasswordHasher(time_cost=time_cost, memory_cost=memory_cost, parallelism=1)


def hasher() -> PasswordHasher:
    """Return the argon2id hasher with the configured cost (cheaper only in tests)."""
    config = current_app.config
    return _hasher(
        int(config.get("ARGON2_TIME_COST", 3)), int(config.get("ARGON2_MEMORY_KIB", 65536))
    )


def hash_password(password: str) -> str:
    """Hash a password with argon2id."""
    return hasher().hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Check a password; an unknown user is checked against a dummy hash to keep timing flat."""
    target = password_hash or _dummy_hash()
    try:
        ok = hasher().verify(target, password)
    except (VerificationError, InvalidHashError):
        return False
    return ok and password_hash is not None


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return hasher().hash("not-a-real-password-Aa1!")
