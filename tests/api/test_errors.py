"""Every failure answers with the one JSON envelope: routing, limits, bad JSON, crashes, outages.

Also home of two helpers the other foundation tests import: ``assert_envelope`` and ``fresh_app``
(a second app built for one test, with the extension singletons restored afterwards).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast

import pytest
from celery import _state as celery_state
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine
from werkzeug.test import TestResponse

from fluxolab import create_app
from fluxolab.auth import service as auth_service
from fluxolab.extensions import api, cors, db, jwt, limiter, migrate
from tests.conftest import make_test_config
from tests.factories import PASSWORD, make_account

ENVELOPE_KEYS = {"status", "message", "code", "errors"}
CLOSED_DATABASE = "postgresql+psycopg://postgres@127.0.0.1:1/x"


def assert_envelope(response: TestResponse, status: int, code: str | None = None) -> dict[str, Any]:
    """Assert the status and that the body is exactly the error envelope; return the body."""
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    body = response.get_json()
    assert isinstance(body, dict), response.get_data(as_text=True)[:500]
    assert set(body) == ENVELOPE_KEYS, body
    assert body["status"] == "error"
    assert isinstance(body["message"], str) and body["message"]
    assert isinstance(body["code"], str) and body["code"]
    assert isinstance(body["errors"], dict)
    if code is not None:
        assert body["code"] == code, body
    return body


@contextmanager
def fresh_app(overrides: dict[str, Any], share_db_with: Flask | None = None) -> Iterator[Flask]:
    """Build a second app for one test, then restore the module-level extension singletons.

    ``create_app`` re-binds ``limiter`` (its ``enabled`` flag and storage are global),
    ``api.spec`` and the default Celery app; without the restore a rate-limited second app
    would leave limits switched on for the session app. With ``share_db_with`` the new app
    uses that app's rolled-back test connection, so nothing it writes survives the test.
    """
    saved = [(ext, dict(vars(ext))) for ext in (api, jwt, limiter, migrate, cors)]
    saved_celery = (celery_state.default_app, celery_state._tls.current_app)
    application = create_app(overrides)
    engines: list[Engine] = []
    try:
        with application.app_context():
            engines.extend(e for e in db.engines.values() if isinstance(e, Engine))
            if share_db_with is not None:
                with share_db_with.app_context():
                    connection = db.engines[None]
                cast(dict[Any, Any], db.engines)[None] = connection
        yield application
    finally:
        for engine in engines:
            engine.dispose()
        for ext, state in saved:
            vars(ext).clear()
            vars(ext).update(state)
        celery_state.set_default_app(saved_celery[0])
        celery_state._set_current_app(saved_celery[1])


@pytest.fixture()
def test_config(database_url: str, redis_url: str, tmp_path: Path) -> dict[str, Any]:
    """The session app's configuration, for building a variant of it."""
    return make_test_config(database_url, redis_url, tmp_path)


def _login_body() -> dict[str, str]:
    return {"email": "nobody@example.com", "password": PASSWORD}


def test_unknown_api_path_is_404_envelope(client: FlaskClient) -> None:
    response = client.get("/api/nope")
    assert response.status_code == 404
    assert response.get_json() == {
        "status": "error",
        "message": "Recurso nao encontrado.",
        "code": "not_found",
        "errors": {},
    }


def test_wrong_method_is_405_envelope(client: FlaskClient) -> None:
    assert_envelope(client.delete("/api/auth/login"), 405, "method_not_allowed")


def test_wrong_method_405_names_the_allowed_methods(client: FlaskClient) -> None:
    response = client.delete("/api/auth/login")
    assert response.status_code == 405
    assert "POST" in response.headers.get("Allow", ""), dict(response.headers)


def test_body_over_max_content_length_is_413_envelope(app: Flask, client: FlaskClient) -> None:
    size = int(app.config["MAX_CONTENT_LENGTH"]) + 1
    payload = b'{"email": "' + b"a" * size + b'", "password": "x"}'
    response = client.post("/api/auth/login", data=payload, content_type="application/json")
    assert_envelope(response, 413, "payload_too_large")


def test_malformed_json_is_400_envelope(client: FlaskClient) -> None:
    response = client.post(
        "/api/auth/login", data='{"email": "a@example.com", ', content_type="application/json"
    )
    assert_envelope(response, 400)


def test_malformed_json_message_says_the_body_is_not_json(client: FlaskClient) -> None:
    response = client.post("/api/auth/login", data="{", content_type="application/json")
    body = assert_envelope(response, 400)
    assert body["message"] == "O corpo da requisicao nao e um JSON valido."


def _nested(kind: str, depth: int) -> str:
    if kind == "arrays":
        return "[" * depth + "]" * depth
    return '{"a": ' * depth + "1" + "}" * depth


@pytest.mark.parametrize("kind", ["arrays", "objects"])
@pytest.mark.parametrize("depth", [100, 100_000], ids=["depth-100", "depth-100000"])
def test_deeply_nested_json_is_400_json_too_deep(
    client: FlaskClient, kind: str, depth: int
) -> None:
    payload = '{"email": ' + _nested(kind, depth) + ', "password": "x"}'
    response = client.post("/api/auth/login", data=payload, content_type="application/json")
    assert_envelope(response, 400, "json_too_deep")


def test_nesting_within_the_limit_reaches_validation(client: FlaskClient) -> None:
    payload = '{"email": ' + _nested("arrays", 60) + ', "password": "secret-pass"}'
    response = client.post("/api/auth/login", data=payload, content_type="application/json")
    body = assert_envelope(response, 422, "validation_error")
    assert "email" in body["errors"]


def test_brackets_inside_strings_do_not_count_as_nesting(client: FlaskClient) -> None:
    payload = '{"email": "' + "[{" * 500 + '", "password": "secret-pass"}'
    response = client.post("/api/auth/login", data=payload, content_type="application/json")
    body = assert_envelope(response, 422, "validation_error")
    assert "email" in body["errors"]


def test_non_json_content_type_on_json_endpoint_is_422_envelope(client: FlaskClient) -> None:
    response = client.post(
        "/api/auth/login",
        data='{"email": "a@example.com", "password": "secret-pass"}',
        content_type="text/plain",
    )
    body = assert_envelope(response, 422, "validation_error")
    assert set(body["errors"]) == {"email", "password"}


def test_unexpected_exception_is_500_envelope_without_details(
    client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    def explode(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("secret-detail")

    monkeypatch.setattr(auth_service, "login", explode)
    response = client.post("/api/auth/login", json=_login_body())
    assert response.status_code == 500
    assert response.get_json() == {
        "status": "error",
        "message": "Erro interno do servidor.",
        "code": "internal_error",
        "errors": {},
    }
    text = response.get_data(as_text=True)
    assert "secret-detail" not in text
    assert "Traceback" not in text


ERROR_REQUESTS: list[tuple[str, str, str, dict[str, Any]]] = [
    ("unknown-path", "GET", "/api/nope", {}),
    ("wrong-method", "DELETE", "/api/auth/login", {}),
    ("no-token", "GET", "/api/auth/me", {}),
    ("garbage-token", "GET", "/api/auth/me", {"headers": {"Authorization": "Bearer x.y.z"}}),
    ("bad-credentials", "POST", "/api/auth/login", {"json": _login_body()}),
    ("unknown-field", "POST", "/api/auth/login", {"json": {**_login_body(), "role": "owner"}}),
    ("missing-fields", "POST", "/api/auth/login", {"json": {}}),
    ("body-not-object", "POST", "/api/auth/login", {"json": [1, 2]}),
    (
        "malformed-json",
        "POST",
        "/api/auth/login",
        {"data": "{", "content_type": "application/json"},
    ),
    (
        "too-deep",
        "POST",
        "/api/auth/login",
        {"data": "[" * 200 + "]" * 200, "content_type": "application/json"},
    ),
    ("bad-identifier", "POST", "/api/auth/password/forgot", {"json": {"identifier": "abc"}}),
    ("unknown-provider", "GET", "/api/auth/oauth/myspace", {}),
]


@pytest.mark.parametrize(
    ("method", "path", "kwargs"),
    [case[1:] for case in ERROR_REQUESTS],
    ids=[case[0] for case in ERROR_REQUESTS],
)
def test_every_error_is_exactly_the_envelope_with_a_string_message(
    client: FlaskClient, method: str, path: str, kwargs: dict[str, Any]
) -> None:
    response = client.open(path, method=method, **kwargs)
    assert 400 <= response.status_code < 600
    assert_envelope(response, response.status_code)


def test_error_envelope_for_a_duplicate_is_the_envelope(client: FlaskClient) -> None:
    account = make_account()
    response = client.post(
        "/api/auth/register",
        json={"email": account.user.email, "password": PASSWORD, "displayName": "Ana"},
    )
    assert_envelope(response, 409, "email_taken")


def test_database_down_is_503_with_retry_after(test_config: dict[str, Any]) -> None:
    with fresh_app({**test_config, "SQLALCHEMY_DATABASE_URI": CLOSED_DATABASE}) as down:
        response = down.test_client().post("/api/auth/login", json=_login_body())
    assert_envelope(response, 503, "service_unavailable")
    assert int(response.headers["Retry-After"]) > 0
