"""Liveness and readiness probes: ``/api/health`` and ``/api/health/ready``."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import psycopg
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.engine import make_url
from werkzeug.test import TestResponse

from tests.conftest import make_test_config
from tests.helpers import CLOSED_DATABASE, ENVELOPE_KEYS, fresh_app, scratch_database

CLOSED_BROKER = "redis://127.0.0.1:1/0"


@pytest.fixture()
def test_config(database_url: str, redis_url: str, tmp_path: Path) -> dict[str, Any]:
    return make_test_config(database_url, redis_url, tmp_path)


def ready_of(config: dict[str, Any], share_db_with: Flask | None = None) -> TestResponse:
    """GET /api/health/ready on an app built from ``config``."""
    with fresh_app(config, share_db_with=share_db_with) as probe:
        return probe.test_client().get("/api/health/ready")


def assert_not_ready(response: TestResponse, failing: str, healthy: str) -> dict[str, Any]:
    """503 with Retry-After, the envelope keys plus ``checks``, naming only ``failing``."""
    assert response.status_code == 503, response.get_json()
    assert int(response.headers["Retry-After"]) > 0
    body = response.get_json()
    assert set(body) == ENVELOPE_KEYS | {"checks"}
    assert body["status"] == "error"
    assert body["code"] == "not_ready"
    assert isinstance(body["message"], str)
    assert failing in body["message"] and healthy not in body["message"]
    assert body["checks"][healthy] == "ok"
    assert body["checks"][failing] != "ok"
    return dict(body)


def test_health_is_200_status_ok(client: FlaskClient) -> None:
    response = client.get("/api/health")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_health_needs_no_token_even_with_a_bad_one(client: FlaskClient) -> None:
    response = client.get("/api/health", headers={"Authorization": "Bearer x.y.z"})
    assert response.status_code == 200


def test_ready_is_200_with_database_and_broker_ok(client: FlaskClient) -> None:
    response = client.get("/api/health/ready")
    assert response.status_code == 200
    assert response.get_json() == {
        "status": "ok",
        "checks": {"database": "ok", "broker": "ok"},
    }


def test_celery_uses_the_broker_configured_in_the_app(app: Flask) -> None:
    celery = app.extensions["celery"]
    assert celery.conf.broker_url == app.config["CELERY"]["broker_url"]


def test_ready_is_503_naming_broker_when_the_broker_is_down(
    app: Flask, test_config: dict[str, Any]
) -> None:
    config = {**test_config, "CELERY": {"broker_url": CLOSED_BROKER}}
    started = time.monotonic()
    response = ready_of(config, share_db_with=app)
    assert_not_ready(response, failing="broker", healthy="database")
    assert time.monotonic() - started < 10


def test_ready_is_503_naming_database_when_the_database_is_empty(
    test_config: dict[str, Any],
) -> None:
    with scratch_database("empty") as url:
        response = ready_of({**test_config, "SQLALCHEMY_DATABASE_URI": url})
    assert_not_ready(response, failing="database", healthy="broker")


def test_ready_is_503_naming_database_when_not_at_the_migration_head(
    test_config: dict[str, Any],
) -> None:
    with scratch_database("behind") as url:
        dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("CREATE TABLE alembic_version (version_num varchar(32) PRIMARY KEY)")
            conn.execute("INSERT INTO alembic_version VALUES ('0000_older')")
        response = ready_of({**test_config, "SQLALCHEMY_DATABASE_URI": url})
    body = assert_not_ready(response, failing="database", healthy="broker")
    assert "0000_older" in body["checks"]["database"]


def test_ready_is_503_naming_database_when_the_database_is_down(
    test_config: dict[str, Any],
) -> None:
    response = ready_of({**test_config, "SQLALCHEMY_DATABASE_URI": CLOSED_DATABASE})
    assert_not_ready(response, failing="database", healthy="broker")


def test_swagger_ui_assets_are_served_locally(client: FlaskClient) -> None:
    page = client.get("/api/docs").get_data(as_text=True)
    assert "/api/docs/assets/swagger-ui-bundle.js" in page
    asset = client.get("/api/docs/assets/swagger-ui-bundle.js")
    assert asset.status_code == 200
    assert "javascript" in asset.content_type
    assert client.get("/api/docs/assets/../../config.py").status_code == 404
