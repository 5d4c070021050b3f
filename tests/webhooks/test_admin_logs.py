"""Call statistics of the webhook list, the call-log route, and the log retention job."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, select

from fluxolab.extensions import db
from fluxolab.models import WebhookLog, utcnow
from fluxolab.webhooks import service
from tests.factories import Account, make_account, make_member
from tests.helpers import assert_envelope
from tests.webhooks.test_admin import create_webhook
from workers import maintenance

LOG_KEYS = {
    "id",
    "method",
    "path",
    "headers",
    "query",
    "body",
    "bodyTruncated",
    "responseStatus",
    "responseBody",
    "durationMs",
    "executionId",
    "sourceIp",
    "mode",
    "createdAt",
}
BASE = datetime(2030, 5, 1, 12, 0, tzinfo=UTC)


@pytest.fixture()
def owner() -> Account:
    return make_account()


def add_log(
    hook: dict[str, Any], status: int, at: datetime, mode: str = "webhook", **extra: Any
) -> uuid.UUID:
    row = WebhookLog(
        id=uuid.uuid4(),
        workspace_id=uuid.UUID(hook["workspaceId"]),
        webhook_id=uuid.UUID(hook["id"]),
        method="POST",
        path=hook["path"],
        headers={"content-type": "application/json", "authorization": "[redacted]"},
        query={"a": "1"},
        body='{"pedido": 1}',
        body_truncated=False,
        response_status=status,
        response_body={"status": "accepted"},
        duration_ms=12,
        source_ip="203.0.113.7",
        mode=mode,
        created_at=at,
        **extra,
    )
    db.session.add(row)
    db.session.commit()
    return row.id


def _stats(item: dict[str, Any]) -> tuple[Any, Any, Any]:
    return item["callCount"], item["lastCallAt"], item["successRate"]


def test_list_and_detail_carry_call_statistics(client: FlaskClient, owner: Account) -> None:
    busy = create_webhook(client, owner, name="busy")
    quiet = create_webhook(client, owner, name="quiet")
    for minutes, status in enumerate((202, 200, 401, 500)):
        add_log(busy, status, BASE + timedelta(minutes=minutes))
    add_log(busy, 500, BASE + timedelta(hours=1), mode="test")  # sample calls do not count
    listed = client.get("/api/webhooks", headers=owner.headers).get_json()
    by_name = {item["name"]: item for item in listed["webhooks"]["webhooks"]}
    assert _stats(by_name["busy"]) == (4, "2030-05-01T12:03:00+00:00", 0.5)
    assert _stats(by_name["quiet"]) == (0, None, None)
    detail = client.get(f"/api/webhooks/{busy['id']}", headers=owner.headers).get_json()
    assert _stats(detail["webhook"]) == (4, "2030-05-01T12:03:00+00:00", 0.5)
    assert _stats(create_webhook(client, owner)) == (0, None, None)
    assert quiet["callCount"] == 0


def test_list_statistics_take_one_query_for_the_whole_page(
    app: Flask, client: FlaskClient, owner: Account
) -> None:
    hooks = [create_webhook(client, owner, name=f"h{i}") for i in range(5)]
    for hook in hooks:
        add_log(hook, 200, BASE)
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        response = client.get("/api/webhooks", headers=owner.headers)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert response.status_code == 200
    assert [item["callCount"] for item in response.get_json()["webhooks"]["webhooks"]] == [1] * 5
    on_logs = [s for s in statements if "webhook_logs" in s]
    assert len(on_logs) == 1, on_logs
    assert "GROUP BY" in on_logs[0]


def test_logs_are_newest_first_with_the_documented_fields(
    client: FlaskClient, owner: Account
) -> None:
    hook = create_webhook(client, owner)
    ids = [add_log(hook, 202, BASE + timedelta(minutes=i)) for i in range(3)]
    response = client.get(f"/api/webhooks/{hook['id']}/logs", headers=owner.headers)
    assert response.status_code == 200
    body = response.get_json()
    assert set(body) == {"status", "logs"}
    page = body["logs"]
    assert (page["total"], page["limit"], page["offset"]) == (3, 50, 0)
    assert [log["id"] for log in page["logs"]] == [str(i) for i in reversed(ids)]
    first = page["logs"][0]
    assert set(first) == LOG_KEYS
    assert first == {
        "id": str(ids[2]),
        "method": "POST",
        "path": "orders",
        "headers": {"content-type": "application/json", "authorization": "[redacted]"},
        "query": {"a": "1"},
        "body": '{"pedido": 1}',
        "bodyTruncated": False,
        "responseStatus": 202,
        "responseBody": {"status": "accepted"},
        "durationMs": 12,
        "executionId": None,
        "sourceIp": "203.0.113.7",
        "mode": "webhook",
        "createdAt": "2030-05-01T12:02:00+00:00",
    }


def test_logs_paginate(client: FlaskClient, owner: Account) -> None:
    hook = create_webhook(client, owner)
    ids = [add_log(hook, 200, BASE + timedelta(minutes=i)) for i in range(5)]
    path = f"/api/webhooks/{hook['id']}/logs?limit=2&offset=2"
    page = client.get(path, headers=owner.headers).get_json()["logs"]
    assert page["total"] == 5
    assert [log["id"] for log in page["logs"]] == [str(ids[2]), str(ids[1])]
    page = client.get(f"/api/webhooks/{hook['id']}/logs?limit=2&page=3", headers=owner.headers)
    assert [log["id"] for log in page.get_json()["logs"]["logs"]] == [str(ids[0])]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("status=success", [0, 1]),
        ("status=error", [2, 3, 4]),
        ("status=401", [2]),
        ("status=204", []),
        ("from=2030-05-01T12:02:00Z", [2, 3, 4]),
        ("to=2030-05-01T12:02:00%2B00:00", [0, 1]),
        ("from=2030-05-01T12:01:00Z&to=2030-05-01T12:04:00Z&status=error", [2, 3]),
        ("from=2030-05-01T12:01:00", [1, 2, 3, 4]),  # no offset: UTC
    ],
)
def test_logs_filter_by_status_and_time(
    client: FlaskClient, owner: Account, query: str, expected: list[int]
) -> None:
    hook = create_webhook(client, owner)
    statuses = (200, 202, 401, 500, 429)
    ids = [add_log(hook, s, BASE + timedelta(minutes=i)) for i, s in enumerate(statuses)]
    other = create_webhook(client, owner)
    add_log(other, 200, BASE)
    response = client.get(f"/api/webhooks/{hook['id']}/logs?{query}", headers=owner.headers)
    assert response.status_code == 200, response.get_json()
    page = response.get_json()["logs"]
    assert [log["id"] for log in page["logs"]] == [str(ids[i]) for i in reversed(expected)]
    assert page["total"] == len(expected)


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("status=ok", "status"),
        ("status=99", "status"),
        ("from=yesterday", "from"),
        ("from=2030-05-02T00:00:00Z&to=2030-05-01T00:00:00Z", "to"),
        ("limit=0", "limit"),
        ("limit=201", "limit"),
    ],
)
def test_bad_log_filters_are_422(
    client: FlaskClient, owner: Account, query: str, field: str
) -> None:
    hook = create_webhook(client, owner)
    response = client.get(f"/api/webhooks/{hook['id']}/logs?{query}", headers=owner.headers)
    error = assert_envelope(response, 422, "validation_error")
    assert field in error["errors"], error


def test_viewer_reads_logs_but_not_another_workspace(client: FlaskClient, owner: Account) -> None:
    hook = create_webhook(client, owner)
    add_log(hook, 200, BASE)
    viewer = make_member(owner, "viewer")
    response = client.get(f"/api/webhooks/{hook['id']}/logs", headers=viewer.headers)
    assert response.get_json()["logs"]["total"] == 1
    stranger = make_account()
    response = client.get(f"/api/webhooks/{hook['id']}/logs", headers=stranger.headers)
    assert_envelope(response, 404, "not_found")


def test_deleting_a_webhook_deletes_its_logs(client: FlaskClient, owner: Account) -> None:
    hook = create_webhook(client, owner)
    log_id = add_log(hook, 200, BASE)
    assert client.delete(f"/api/webhooks/{hook['id']}", headers=owner.headers).status_code == 200
    db.session.expire_all()
    assert db.session.get(WebhookLog, log_id) is None


def _remaining() -> set[uuid.UUID]:
    db.session.expire_all()
    return set(db.session.execute(select(WebhookLog.id)).scalars())


def test_retention_deletes_logs_past_the_age_in_batches(
    app: Flask, client: FlaskClient, owner: Account
) -> None:
    days = int(app.config["WEBHOOK_LOG_RETENTION_DAYS"])
    hook = create_webhook(client, owner)
    now = utcnow()
    old = {add_log(hook, 200, now - timedelta(days=days, minutes=m + 1)) for m in range(7)}
    kept = {add_log(hook, 200, now - timedelta(days=days - 1)), add_log(hook, 500, now)}
    assert _remaining() >= old | kept
    assert service.prune_logs(batch=3) == 7  # three batches: 3, 3, 1
    left = _remaining()
    assert kept <= left and not (old & left)
    assert service.prune_logs(batch=3) == 0


def test_retention_follows_the_configured_age(
    app: Flask, client: FlaskClient, owner: Account
) -> None:
    hook = create_webhook(client, owner)
    recent = add_log(hook, 200, utcnow() - timedelta(days=3))
    app.config["WEBHOOK_LOG_RETENTION_DAYS"] = 2
    try:
        assert maintenance.prune_webhook_logs.run() == 1  # the beat task's body, in this app
    finally:
        app.config["WEBHOOK_LOG_RETENTION_DAYS"] = 30
    assert recent not in _remaining()


def test_retention_job_is_on_the_beat_schedule() -> None:
    import celeryconfig

    entry = celeryconfig.beat_schedule["prune-webhook-logs"]
    assert entry["task"] == "maintenance.prune_webhook_logs"
    assert entry["schedule"] == 3600.0
    assert celeryconfig.task_routes["maintenance.*"]["queue"] == "maintenance"
