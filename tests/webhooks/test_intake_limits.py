"""Per-webhook and per-IP rate limits of the intake (an app with limits on, memory counters)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from fluxolab.extensions import db
from fluxolab.models import Webhook, WebhookLog
from tests.conftest import make_test_config
from tests.factories import make_account
from tests.helpers import fresh_app
from tests.webhooks.helpers import active_hook, hook_flow, url


@pytest.fixture()
def limited(app: Flask, database_url: str, redis_url: str, tmp_path: Path) -> Iterator[FlaskClient]:
    config = {
        **make_test_config(database_url, redis_url, tmp_path),
        "RATELIMIT_ENABLED": True,
        "RATELIMIT_STORAGE_URI": "memory://",
        "WEBHOOK_IP_RATE_LIMIT_PER_MINUTE": 5,
    }
    with fresh_app(config, share_db_with=app) as limited_app:
        yield limited_app.test_client()


def _post(client: FlaskClient, token: str, ip: str) -> int:
    return client.post(url(token), json={}, environ_base={"REMOTE_ADDR": ip}).status_code


def test_webhook_limit_is_429_with_retry_after_and_not_logged(limited: FlaskClient) -> None:
    owner = make_account()
    workflow_id, token = active_hook(limited, owner, hook_flow())
    db.session.execute(
        Webhook.__table__.update()
        .where(Webhook.workflow_id == uuid.UUID(workflow_id))
        .values(rate_limit_per_minute=2)
    )
    codes = [_post(limited, token, f"10.0.0.{n}") for n in range(4)]
    assert codes == [202, 202, 429, 429]
    last = limited.post(url(token), json={}, environ_base={"REMOTE_ADDR": "10.0.1.1"})
    assert last.status_code == 429 and int(last.headers["Retry-After"]) >= 1
    assert isinstance(last.get_json()["message"], str)
    assert db.session.scalar(select(func.count()).select_from(WebhookLog)) == 2


def test_source_ip_limit_covers_unknown_tokens_too(limited: FlaskClient) -> None:
    owner = make_account()
    _, token = active_hook(limited, owner, hook_flow())
    codes = [_post(limited, "x" * 43, "10.9.9.9") for _ in range(5)]
    assert codes == [404] * 5
    assert _post(limited, token, "10.9.9.9") == 429  # the same IP, now over its limit
    assert _post(limited, token, "10.9.9.8") == 202  # another IP is not affected
