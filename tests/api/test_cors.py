"""CORS: off by default (same-origin frontend); an allow-list from the environment opens it."""

from __future__ import annotations

from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient

from tests.conftest import make_test_config
from tests.helpers import fresh_app

ALLOWED = "https://app.fluxolab.example"


def preflight(client: FlaskClient, origin: str) -> dict[str, str]:
    response = client.options(
        "/api/auth/login",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "Authorization, Content-Type",
        },
    )
    return dict(response.headers)


def test_cors_is_off_by_default(client: FlaskClient) -> None:
    headers = preflight(client, ALLOWED)
    assert "Access-Control-Allow-Origin" not in headers


def test_allow_listed_origin_gets_cors_headers_without_credentials(
    app: Flask, database_url: str, redis_url: str, tmp_path: Path
) -> None:
    config = {**make_test_config(database_url, redis_url, tmp_path), "CORS_ORIGINS": [ALLOWED]}
    with fresh_app(config, share_db_with=app) as cors_app:
        headers = preflight(cors_app.test_client(), ALLOWED)
        assert headers["Access-Control-Allow-Origin"] == ALLOWED
        assert "POST" in headers["Access-Control-Allow-Methods"]
        assert "authorization" in headers["Access-Control-Allow-Headers"].lower()
        assert "Access-Control-Allow-Credentials" not in headers


def test_origin_outside_the_allow_list_gets_no_cors_headers(
    app: Flask, database_url: str, redis_url: str, tmp_path: Path
) -> None:
    config = {**make_test_config(database_url, redis_url, tmp_path), "CORS_ORIGINS": [ALLOWED]}
    with fresh_app(config, share_db_with=app) as cors_app:
        headers = preflight(cors_app.test_client(), "https://evil.example")
        assert "Access-Control-Allow-Origin" not in headers


def test_allowed_preflight_is_204_without_a_body(
    app: Flask, database_url: str, redis_url: str, tmp_path: Path
) -> None:
    config = {**make_test_config(database_url, redis_url, tmp_path), "CORS_ORIGINS": [ALLOWED]}
    with fresh_app(config, share_db_with=app) as cors_app:
        response = cors_app.test_client().options(
            "/api/auth/login",
            headers={"Origin": ALLOWED, "Access-Control-Request-Method": "POST"},
        )
    assert response.status_code == 204
    assert response.get_data() == b""
    assert response.headers["Access-Control-Allow-Origin"] == ALLOWED
