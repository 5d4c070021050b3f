"""Configuration refuses unsafe production settings at startup."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from fluxolab.config import DEFAULT_POSTGRES_DRIVER, build_config, load_or_create_local_secrets

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


@pytest.mark.parametrize(
    ("given", "used"),
    [
        ("postgresql+psycopg2://u:p@db/fluxolab", "postgresql+psycopg2://u:p@db/fluxolab"),
        ("postgresql+psycopg://u:p@db/fluxolab", "postgresql+psycopg://u:p@db/fluxolab"),
        ("postgresql://u:p@db/fluxolab", f"postgresql+{DEFAULT_POSTGRES_DRIVER}://u:p@db/fluxolab"),
        ("postgres://u:p@db/fluxolab", f"postgresql+{DEFAULT_POSTGRES_DRIVER}://u:p@db/fluxolab"),
        ("sqlite:////tmp/x.db", "sqlite:////tmp/x.db"),
    ],
)
def test_database_url_picks_the_postgres_driver(
    production: pytest.MonkeyPatch, given: str, used: str
) -> None:
    production.setenv("DATABASE_URL", given)
    assert build_config()["SQLALCHEMY_DATABASE_URI"] == used


def test_unsupported_postgres_driver_refuses_to_start(production: pytest.MonkeyPatch) -> None:
    production.setenv("DATABASE_URL", "postgresql+asyncpg://u:p@db/fluxolab")
    with pytest.raises(RuntimeError, match="asyncpg"):
        build_config()


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


def test_local_secrets_are_created_private(tmp_path: Path) -> None:
    created = load_or_create_local_secrets(tmp_path)
    assert (tmp_path / "secrets.json").stat().st_mode & 0o777 == 0o600
    assert load_or_create_local_secrets(tmp_path) == created


def test_local_secrets_found_world_readable_are_made_private(tmp_path: Path) -> None:
    created = load_or_create_local_secrets(tmp_path)
    (tmp_path / "secrets.json").chmod(0o644)
    assert load_or_create_local_secrets(tmp_path) == created
    assert (tmp_path / "secrets.json").stat().st_mode & 0o777 == 0o600
