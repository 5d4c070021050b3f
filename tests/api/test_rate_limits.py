"""Login (429) and password-reset (400, contract 2.2) rate limits, on an app with limits on.

The session app runs with ``RATELIMIT_ENABLED`` False; these tests build a second app on the
same (rolled-back) database with small limits and in-memory counters, fresh for every test.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.conftest import make_test_config
from tests.factories import PASSWORD, make_account, unique_email
from tests.helpers import assert_envelope, fresh_app

LIMITS = {
    "RATELIMIT_ENABLED": True,
    "RATELIMIT_STORAGE_URI": "memory://",
    "LOGIN_RATE_LIMIT": "3 per minute",
    "PASSWORD_RESET_RATE_LIMIT": "2 per hour",
}


@pytest.fixture()
def limited(app: Flask, database_url: str, redis_url: str, tmp_path: Path) -> Iterator[FlaskClient]:
    """A client of an app with small limits; counters start at zero."""
    config = {**make_test_config(database_url, redis_url, tmp_path), **LIMITS}
    with fresh_app(config, share_db_with=app) as limited_app:
        yield limited_app.test_client()


def login(client: FlaskClient, email: str, ip: str = "10.0.0.1") -> Any:
    return client.post(
        "/api/auth/login",
        json={"email": email, "password": "wrong-password"},
        environ_base={"REMOTE_ADDR": ip},
    )


def forgot(client: FlaskClient, identifier: str, ip: str = "10.0.0.1") -> Any:
    return client.post(
        "/api/auth/password/forgot",
        json={"identifier": identifier},
        environ_base={"REMOTE_ADDR": ip},
    )


def assert_throttled(response: Any) -> None:
    assert_envelope(response, 429, "rate_limited")
    assert int(response.headers["Retry-After"]) > 0


def test_fourth_login_from_one_ip_is_429_with_retry_after(limited: FlaskClient) -> None:
    email = make_account().user.email
    for _ in range(3):
        assert_envelope(login(limited, email), 401, "invalid_credentials")
    assert_throttled(login(limited, email))


def test_login_limit_per_account_trips_across_ips(limited: FlaskClient) -> None:
    email = make_account().user.email
    for n in range(1, 4):
        assert login(limited, email, ip=f"10.0.1.{n}").status_code == 401
    assert_throttled(login(limited, email, ip="10.0.1.4"))


def test_login_limit_per_account_ignores_email_case(limited: FlaskClient) -> None:
    email = make_account().user.email
    for n, variant in enumerate([email, email.upper(), email.title()], start=1):
        assert login(limited, variant, ip=f"10.0.2.{n}").status_code == 401
    assert_throttled(login(limited, email, ip="10.0.2.4"))


def test_login_limit_per_ip_trips_across_accounts(limited: FlaskClient) -> None:
    for _ in range(3):
        assert login(limited, unique_email(), ip="10.0.3.1").status_code == 401
    assert_throttled(login(limited, unique_email(), ip="10.0.3.1"))


def test_login_limit_leaves_other_ips_and_accounts_alone(limited: FlaskClient) -> None:
    for _ in range(4):
        login(limited, unique_email("spam"), ip="10.0.4.1")
    account = make_account()
    response = limited.post(
        "/api/auth/login",
        json={"email": account.user.email, "password": PASSWORD},
        environ_base={"REMOTE_ADDR": "10.0.4.2"},
    )
    assert response.status_code == 200


def test_third_forgot_for_one_identifier_is_400_not_429(limited: FlaskClient) -> None:
    email = make_account().user.email
    for n in range(1, 3):
        assert forgot(limited, email, ip=f"10.0.5.{n}").status_code == 200
    assert_envelope(forgot(limited, email, ip="10.0.5.3"), 400, "rate_limited")


def test_third_forgot_from_one_ip_is_400_not_429(limited: FlaskClient) -> None:
    for _ in range(2):
        assert forgot(limited, unique_email("ghost"), ip="10.0.6.1").status_code == 200
    assert_envelope(forgot(limited, unique_email("ghost"), ip="10.0.6.1"), 400, "rate_limited")


def test_forgot_limit_counts_both_cpf_formats_as_one_identifier(limited: FlaskClient) -> None:
    assert forgot(limited, "123.456.789-09", ip="10.0.7.1").status_code == 200
    assert forgot(limited, "12345678909", ip="10.0.7.2").status_code == 200
    assert_envelope(forgot(limited, "123.456.789-09", ip="10.0.7.3"), 400, "rate_limited")


def test_forgot_limit_ignores_email_case(limited: FlaskClient) -> None:
    email = make_account().user.email
    assert forgot(limited, email, ip="10.0.8.1").status_code == 200
    assert forgot(limited, email.upper(), ip="10.0.8.2").status_code == 200
    assert_envelope(forgot(limited, email, ip="10.0.8.3"), 400, "rate_limited")


def test_limits_of_a_second_app_do_not_leak_into_the_session_app(
    app: Flask, client: FlaskClient, database_url: str, redis_url: str, tmp_path: Path
) -> None:
    email = unique_email()
    config = {**make_test_config(database_url, redis_url, tmp_path), **LIMITS}
    with fresh_app(config, share_db_with=app) as limited_app:
        assert_throttled([login(limited_app.test_client(), email) for _ in range(4)][-1])
    statuses = [login(client, email).status_code for _ in range(12)]
    assert statuses == [401] * 12


def register(client: FlaskClient, ip: str = "10.0.9.1") -> Any:
    body = {"email": unique_email(), "password": PASSWORD, "displayName": "Rita"}
    return client.post("/api/auth/register", json=body, environ_base={"REMOTE_ADDR": ip})


@pytest.fixture()
def limited_register(
    app: Flask, database_url: str, redis_url: str, tmp_path: Path
) -> Iterator[FlaskClient]:
    config = {
        **make_test_config(database_url, redis_url, tmp_path),
        **LIMITS,
        "REGISTER_RATE_LIMIT": "2 per hour",
    }
    with fresh_app(config, share_db_with=app) as limited_app:
        yield limited_app.test_client()


def test_registration_is_limited_per_ip(limited_register: FlaskClient) -> None:
    assert register(limited_register).status_code == 201
    assert register(limited_register).status_code == 201
    assert_throttled(register(limited_register))
    assert register(limited_register, ip="10.0.9.2").status_code == 201


def test_verify_attempts_do_not_use_up_the_forgot_budget(limited: FlaskClient) -> None:
    email = make_account().user.email
    for _ in range(2):
        limited.post(
            "/api/auth/password/verify",
            json={"identifier": email, "code": "000000"},
            environ_base={"REMOTE_ADDR": "10.0.2.1"},
        )
    assert forgot(limited, email, ip="10.0.2.1").status_code == 200


def test_limits_fail_open_when_the_storage_is_down(
    app: Flask, database_url: str, redis_url: str, tmp_path: Path
) -> None:
    config = {
        **make_test_config(database_url, redis_url, tmp_path),
        **LIMITS,
        "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:1/0",
    }
    with fresh_app(config, share_db_with=app) as down_app:
        client = down_app.test_client()
        email = make_account().user.email
        assert login(client, email).status_code == 401
        assert forgot(client, email).status_code == 200


def test_trusted_proxy_hops_key_limits_on_the_forwarded_client(
    app: Flask, database_url: str, redis_url: str, tmp_path: Path
) -> None:
    config = {**make_test_config(database_url, redis_url, tmp_path), **LIMITS}
    config["TRUSTED_PROXY_HOPS"] = 1
    with fresh_app(config, share_db_with=app) as proxied_app:
        client = proxied_app.test_client()
        for n in range(4):
            response = client.post(
                "/api/auth/login",
                json={"email": unique_email(), "password": "wrong-password"},
                headers={"X-Forwarded-For": f"203.0.113.{n}"},
                environ_base={"REMOTE_ADDR": "10.0.0.254"},
            )
            assert response.status_code == 401, n
