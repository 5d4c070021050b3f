"""``fluxolab doctor`` in-process: each check's verdict follows the configuration."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from fluxolab.health import doctor
from tests.helpers import fresh_app


def lines(output: str) -> dict[str, str]:
    """``{check name: whole line}`` of a doctor report."""
    return {line.split()[1]: line for line in output.splitlines() if line[:4] in DOCTOR}


DOCTOR = {"PASS", "WARN", "FAIL"}


def test_doctor_passes_on_the_test_app_and_names_what_it_checked(app: Flask) -> None:
    result = app.test_cli_runner().invoke(args=["doctor"])

    assert result.exit_code == 0, result.output
    found = lines(result.output)
    assert list(found) == ["config", "database", "broker", "sandbox", "egress", "frontend"]
    assert found["config"].startswith("WARN") and "built-in test value" in found["config"]
    assert found["database"].startswith("PASS") and "at the migration head" in found["database"]
    assert found["broker"].startswith("PASS") and "redis://" in found["broker"]
    assert "EGRESS_ALLOW opens nothing" in found["egress"]
    assert result.output.splitlines()[-1].endswith(", 0 failed")


def test_database_behind_the_head_fails_with_the_fix(app: Flask) -> None:
    from sqlalchemy import text

    from fluxolab.extensions import db

    db.session.execute(text("UPDATE alembic_version SET version_num = '0001'"))

    result = app.test_cli_runner().invoke(args=["doctor"])

    assert result.exit_code == 1
    line = lines(result.output)["database"]
    assert line.startswith("FAIL") and "database at ['0001']" in line
    assert "flask --app wsgi db upgrade" in line
    assert result.output.splitlines()[-1].endswith(", 1 failed")


def test_an_unreachable_broker_fails_without_showing_its_password(
    app: Flask, tmp_path: Path
) -> None:
    overrides = {"CELERY": {"broker_url": "redis://:hunter2-secret@127.0.0.1:1/0"}}
    with fresh_app(overrides, share_db_with=app) as other:
        result = other.test_cli_runner().invoke(args=["doctor"])

    assert result.exit_code == 1
    line = lines(result.output)["broker"]
    assert line.startswith("FAIL") and "broker unreachable" in line
    assert "hunter2-secret" not in result.output and "redis://:***@127.0.0.1:1/0" in line


def test_filesystem_broker_folders_must_be_writable(tmp_path: Path) -> None:
    from celery import Celery

    folder = tmp_path / "queue"
    folder.mkdir()
    celery = Celery(broker="filesystem://")
    celery.conf.broker_transport_options = {
        key: str(folder) for key in ("data_folder_in", "processed_folder", "control_folder")
    }
    holder: Any = type("App", (), {"extensions": {"celery": celery}})()

    assert doctor.check_broker(holder).status == "PASS"
    folder.rmdir()
    failed = doctor.check_broker(holder)
    assert failed.status == "FAIL" and str(folder) in failed.detail


@pytest.mark.parametrize(
    ("allow", "status", "says"),
    [
        ("", "PASS", "EGRESS_ALLOW opens nothing"),
        ("api.internal, 10.1.2.0/24", "PASS", "opens api.internal, 10.1.2.0/24"),
        ("169.254.0.0/16", "WARN", "cloud metadata address 169.254.169.254 is open"),
        ("0.0.0.0/0", "WARN", "very wide networks are open: 0.0.0.0/0"),
        ("localhost", "WARN", "loopback is open"),
    ],
)
def test_egress_line_shows_what_is_open(allow: str, status: str, says: str) -> None:
    check = doctor.check_egress({"EGRESS_ALLOW": allow})

    assert check.status == status
    assert says in check.detail
    assert "blocked: loopback, private, link-local" in check.detail


def test_sandbox_check_runs_code_in_bubblewrap(app_ctx: Flask) -> None:
    check = doctor.check_sandbox()

    assert check.status in {"PASS", "WARN"}, check.detail
    assert "bwrap confines Code node runs" in check.detail and "no host files" in check.detail


def test_sandbox_check_fails_when_bubblewrap_is_missing(
    app_ctx: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fluxolab.engine.sandbox import bwrap

    monkeypatch.setenv("PATH", "/nonexistent")
    bwrap.unavailable_reason.cache_clear()
    try:
        check = doctor.check_sandbox()
    finally:
        bwrap.unavailable_reason.cache_clear()

    assert check.status == "FAIL"
    assert "bubblewrap is not installed" in check.detail


def test_frontend_folder_without_an_index_fails(tmp_path: Path, app: Flask) -> None:
    holder: Any = type("App", (), {"config": {"FRONTEND_DIR": str(tmp_path)}})()

    assert doctor.check_frontend(holder).status == "FAIL"
    (tmp_path / "index.html").write_text("<html></html>")
    served = doctor.check_frontend(holder)
    assert served.status == "PASS" and "1 files" in served.detail


def test_production_config_without_flower_login_warns() -> None:
    config = {
        "FLUXOLAB_ENV": "production",
        "JWT_SECRET_KEY": "x" * 40,
        "CREDENTIALS_ENCRYPTION_KEYS": "a,b",
        "TRIGGER_TOKEN_KEY": "k",
        "FLOWER_BASIC_AUTH": "",
    }

    check = doctor.check_config(config)

    assert check.status == "WARN" and "FLOWER_BASIC_AUTH unset" in check.detail
    assert "2 credential keys" in check.detail and "x" * 40 not in check.detail
    assert doctor.check_config({**config, "FLOWER_BASIC_AUTH": "admin:pw"}).status == "PASS"
