"""Configuration refuses unsafe production settings at startup."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from fluxolab.config import build_config

GOOD = {
    "JWT_SECRET_KEY": "k" * 48,
    "CREDENTIALS_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
    "DATABASE_URL": "postgresql+psycopg://u:p@db/fluxolab",
}


@pytest.fixture()
def production(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    monkeypatch.setenv("FLUXOLAB_ENV", "production")
    for name, value in GOOD.items():
        monkeypatch.setenv(name, value)
    return monkeypatch


def test_production_starts_with_strong_settings(production: pytest.MonkeyPatch) -> None:
    config = build_config()
    assert config["SQLALCHEMY_DATABASE_URI"] == GOOD["DATABASE_URL"]


@pytest.mark.parametrize("mode", ["production", "development"])
@pytest.mark.parametrize(
    "value", ["", "change-me", "short-secret"], ids=["empty", "default", "short"]
)
def test_weak_jwt_secret_refuses_to_start(
    production: pytest.MonkeyPatch, mode: str, value: str
) -> None:
    production.setenv("FLUXOLAB_ENV", mode)
    production.setenv("JWT_SECRET_KEY", value)
    with pytest.raises(RuntimeError, match="JWT_SECRET_KEY"):
        build_config()


def test_invalid_fernet_key_refuses_to_start(production: pytest.MonkeyPatch) -> None:
    production.setenv("CREDENTIALS_ENCRYPTION_KEYS", "x" * 44)
    with pytest.raises(RuntimeError, match="Fernet"):
        build_config()


def test_production_without_database_url_refuses_to_start(production: pytest.MonkeyPatch) -> None:
    production.delenv("DATABASE_URL")
    with pytest.raises(RuntimeError, match="DATABASE_URL"):
        build_config()


def test_unknown_mode_refuses_to_start(production: pytest.MonkeyPatch) -> None:
    production.setenv("FLUXOLAB_ENV", "staging")
    with pytest.raises(RuntimeError, match="FLUXOLAB_ENV"):
        build_config()
