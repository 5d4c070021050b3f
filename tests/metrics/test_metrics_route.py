"""``GET /metrics``: the token, the route-template labels, webhook and queue metrics."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient

from fluxolab.metrics import collectors
from fluxolab.metrics.routes import token_matches
from tests.factories import Account, make_account
from tests.helpers import assert_envelope, fresh_app
from tests.metrics.scrape import value
from tests.webhooks.helpers import active_hook, hook_flow, url

TOKEN = "metrics-token-for-tests-0123456789abcdef"
BEARER = {"Authorization": f"Bearer {TOKEN}"}
UUID_TEXT = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@pytest.fixture()
def token(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setitem(app.config, "METRICS_TOKEN", TOKEN)
    collectors.forget_cache()
    yield TOKEN
    collectors.forget_cache()


def scrape(client: FlaskClient) -> str:
    response = client.get("/metrics", headers=BEARER)
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    return response.get_data(as_text=True)


def test_metrics_are_off_without_a_token(client: FlaskClient, app: Flask) -> None:
    assert not app.config["METRICS_TOKEN"]
    assert_envelope(client.get("/metrics"), 404, "not_found")
    assert_envelope(client.get("/metrics", headers=BEARER), 404, "not_found")


@pytest.mark.usefixtures("token")
@pytest.mark.parametrize(
    "authorization",
    [None, "", "Bearer", "Bearer wrong-token", f"Basic {TOKEN}", f"Bearer {TOKEN}x", TOKEN],
)
def test_a_missing_or_wrong_token_is_a_401_envelope(
    client: FlaskClient, authorization: str | None
) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    response = client.get("/metrics", headers=headers)
    assert_envelope(response, 401, "unauthorized")
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.usefixtures("token")
def test_the_right_token_gets_the_text_format(client: FlaskClient) -> None:
    response = client.get("/metrics", headers=BEARER)
    assert response.status_code == 200
    assert response.content_type.startswith("text/plain; version=0.0.4")
    text = response.get_data(as_text=True)
    assert "# TYPE fluxolab_http_requests_total counter" in text
    assert "# TYPE fluxolab_execution_duration_seconds histogram" in text


def test_a_user_token_is_no_metrics_token(client: FlaskClient, token: str) -> None:
    account = make_account()
    assert_envelope(client.get("/metrics", headers=account.headers), 401, "unauthorized")


def test_token_comparison() -> None:
    assert token_matches(f"Bearer {TOKEN}", TOKEN)
    assert token_matches(f"bearer  {TOKEN} ", TOKEN)
    assert not token_matches(f"Bearer {TOKEN[:-1]}", TOKEN)
    assert not token_matches(f"Token {TOKEN}", TOKEN)
    assert not token_matches("Bearer ", TOKEN)


@pytest.mark.usefixtures("token")
def test_requests_are_labelled_by_route_template_never_by_raw_path(client: FlaskClient) -> None:
    account = make_account()
    missing = uuid.uuid4()
    path = "/api/workflows/<uuid:workflow_id>"
    before = scrape(client)
    assert client.get(f"/api/workflows/{missing}", headers=account.headers).status_code == 404
    client.get(f"/api/workflows/{missing}", headers=account.headers)
    client.get(f"/no/such/{missing}")
    after = scrape(client)
    labels = {"route": path, "method": "GET", "status": "404"}
    assert value(after, "fluxolab_http_requests_total", **labels) == (
        value(before, "fluxolab_http_requests_total", **labels) + 2
    )
    assert value(after, "fluxolab_http_request_duration_seconds_count", route=path) >= 2
    unmatched = {"route": "<unmatched>", "method": "GET", "status": "404"}
    assert value(after, "fluxolab_http_requests_total", **unmatched) >= 1
    assert str(missing) not in after
    assert not [line for line in after.splitlines() if "route=" in line and UUID_TEXT.search(line)]


@pytest.mark.usefixtures("token")
def test_unknown_methods_share_one_label(client: FlaskClient) -> None:
    client.open("/api/health", method="BREW")
    text = scrape(client)
    assert value(text, "fluxolab_http_requests_total", method="OTHER") >= 1
    assert 'method="BREW"' not in text


@pytest.mark.usefixtures("token")
def test_a_webhook_call_counts_an_acknowledgement_and_a_queued_message(
    client: FlaskClient, redis_url: str
) -> None:
    owner: Account = make_account()
    _workflow_id, hook_token = active_hook(client, owner, hook_flow())
    broker = redis.Redis.from_url(redis_url)
    broker.flushdb()
    before = scrape(client)
    assert value(before, "fluxolab_queue_depth", queue="executions") == 0
    response = client.post(url(hook_token), json={"order": 1})
    assert response.status_code == 202, response.get_json()
    collectors.forget_cache()
    after = scrape(client)
    broker.flushdb()
    for name in ("fluxolab_webhook_acks_total", "fluxolab_webhook_ack_duration_seconds_count"):
        extra = {"status": "202"} if name.endswith("acks_total") else {}
        assert value(after, name, **extra) == value(before, name, **extra) + 1, name
    route = {"route": "/api/webhooks/execute/<string:token>", "status": "202"}
    assert value(after, "fluxolab_http_requests_total", **route) >= 1
    assert hook_token not in after
    assert value(after, "fluxolab_queue_depth", queue="executions") == 1
    assert value(after, "fluxolab_queue_depth", queue="node_tests") == 0
    assert value(after, "fluxolab_broker_up") == 1
    assert value(after, "fluxolab_executions_current", status="queued") >= 1
    assert value(after, "fluxolab_executions_current", status="running") == 0


@pytest.mark.usefixtures("token")
def test_current_executions_are_cached_between_scrapes(client: FlaskClient) -> None:
    owner = make_account()
    _workflow_id, hook_token = active_hook(client, owner, hook_flow())
    first = value(scrape(client), "fluxolab_executions_current", status="queued")
    assert client.post(url(hook_token), json={}).status_code == 202
    assert value(scrape(client), "fluxolab_executions_current", status="queued") == first
    collectors.forget_cache()
    assert value(scrape(client), "fluxolab_executions_current", status="queued") == first + 1


def test_a_broker_that_does_not_answer_is_reported_not_fatal(app: Flask) -> None:
    config = {
        **app.config,
        "METRICS_TOKEN": TOKEN,
        "CELERY": {"broker_url": "redis://127.0.0.1:1/0"},
    }
    config.pop("SQLALCHEMY_ENGINE_OPTIONS", None)
    with fresh_app(config, share_db_with=app) as broken:
        text = scrape(broken.test_client())
    assert value(text, "fluxolab_broker_up") == 0
    assert "fluxolab_queue_depth{" not in text


def test_the_filesystem_broker_is_counted_by_its_message_files(app: Flask, tmp_path: Path) -> None:
    folder = tmp_path / "broker"
    options = {
        "data_folder_in": str(folder),
        "data_folder_out": str(folder),
        "processed_folder": str(tmp_path / "processed"),
        "control_folder": str(tmp_path / "control"),
    }
    for path in options.values():
        (tmp_path / path).mkdir(parents=True, exist_ok=True)
    celery_conf = {"broker_url": "filesystem://", "broker_transport_options": options}
    config = {**app.config, "METRICS_TOKEN": TOKEN, "CELERY": celery_conf}
    config.pop("SQLALCHEMY_ENGINE_OPTIONS", None)
    with fresh_app(config, share_db_with=app) as standalone:
        celery_app = standalone.extensions["celery"]
        for _ in range(3):
            celery_app.send_task("executions.run", args=[str(uuid.uuid4())])
        celery_app.send_task("nodes.test", args=[str(uuid.uuid4())])
        text = scrape(standalone.test_client())
    assert value(text, "fluxolab_queue_depth", queue="executions") == 3
    assert value(text, "fluxolab_queue_depth", queue="node_tests") == 1
    assert value(text, "fluxolab_queue_depth", queue="maintenance") == 0
