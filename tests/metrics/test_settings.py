"""Metrics settings: the token per mode, the standalone secret, the children's folder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from fluxolab import standalone
from fluxolab.config import build_config, load_or_create_local_secrets
from fluxolab.metrics import multiproc

PRODUCTION = {
    "FLUXOLAB_ENV": "production",
    "JWT_SECRET_KEY": "k" * 48,
    "CREDENTIALS_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
    "DATABASE_URL": "postgresql+psycopg://u:p@db/fluxolab",
}


@pytest.fixture()
def production(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name, value in PRODUCTION.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("METRICS_TOKEN", raising=False)
    return monkeypatch


def test_production_without_a_token_has_metrics_off(production: pytest.MonkeyPatch) -> None:
    config = build_config()
    assert config["METRICS_TOKEN"] == ""
    assert config["WORKER_METRICS_PORT"] == 0


def test_production_refuses_a_short_token(production: pytest.MonkeyPatch) -> None:
    production.setenv("METRICS_TOKEN", "short")
    with pytest.raises(RuntimeError, match="METRICS_TOKEN"):
        build_config()
    production.setenv("METRICS_TOKEN", "t" * 32)
    assert build_config()["METRICS_TOKEN"] == "t" * 32


def test_standalone_secrets_include_a_metrics_token(tmp_path: Path) -> None:
    created = load_or_create_local_secrets(tmp_path)
    assert len(created["METRICS_TOKEN"]) >= 32
    assert load_or_create_local_secrets(tmp_path)["METRICS_TOKEN"] == created["METRICS_TOKEN"]


def test_an_older_secrets_file_gets_a_metrics_token_and_keeps_the_rest(tmp_path: Path) -> None:
    older = {
        "JWT_SECRET_KEY": "j" * 48,
        "CREDENTIALS_ENCRYPTION_KEYS": "c",
        "FLOWER_BASIC_AUTH": "a:b",
    }
    path = tmp_path / "secrets.json"
    path.write_text(json.dumps(older))
    path.chmod(0o600)
    upgraded = load_or_create_local_secrets(tmp_path)
    assert {name: upgraded[name] for name in older} == older
    assert len(upgraded["METRICS_TOKEN"]) >= 32
    assert json.loads(path.read_text()) == upgraded
    assert path.stat().st_mode & 0o777 == 0o600
    assert [entry.name for entry in tmp_path.iterdir()] == ["secrets.json"]


def test_standalone_gives_the_api_and_the_worker_one_metrics_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(multiproc.ENV, "/elsewhere")
    monkeypatch.setenv("WORKER_METRICS_PORT", "9101")
    folder = tmp_path / "var"
    envs = {name: standalone.child_environment(name, folder) for name in ("api", "worker")}
    for env in envs.values():
        assert env[multiproc.ENV] == str(folder / "metrics")
        assert "WORKER_METRICS_PORT" not in env  # the api's /metrics already has the worker
    for name in ("beat", "flower"):
        assert multiproc.ENV not in standalone.child_environment(name, folder)
