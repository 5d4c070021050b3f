"""Concurrent saves: row locks keep version numbers and the plan quota exact (real commits)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from fluxolab.extensions import db
from fluxolab.models import Plan
from tests.factories import Account, make_account

THREADS = 8


def run_together(app: Flask, request: Callable[[Any, int], Any]) -> list[Any]:
    """Run ``request(client, index)`` in THREADS threads released at the same moment."""
    barrier = threading.Barrier(THREADS)
    results: list[Any] = [None] * THREADS

    def worker(index: int) -> None:
        client = app.test_client()
        barrier.wait()
        results[index] = request(client, index)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


@pytest.fixture()
def account(committed_db: None, app_ctx: Flask) -> Account:
    """A committed account. ``committed_db`` comes first so its TRUNCATE runs after the app
    context (and its session's open transaction) is gone; otherwise the TRUNCATE waits forever.
    """
    # Workaround: tests/conftest.py's _isolated_db restores join_transaction_mode to
    # "conservative_savepoint", which SQLAlchemy 2.1 rejects; reset it to the real default.
    db.session.remove()
    db.session.configure(join_transaction_mode="conditional_savepoint")
    return make_account()


@pytest.fixture()
def workflow_limit(account: Account) -> Iterator[Callable[[int | None], None]]:
    """Set the free plan's workflow quota; the committed original is restored afterwards."""
    plan = db.session.execute(select(Plan).where(Plan.code == "free")).scalar_one()
    original = dict(plan.limits)

    def set_limit(limit: int | None) -> None:
        plan.limits = {**original, "workflows": limit}
        db.session.commit()

    yield set_limit
    plan = db.session.execute(select(Plan).where(Plan.code == "free")).scalar_one()
    plan.limits = original
    db.session.commit()


def test_concurrent_puts_get_distinct_consecutive_versions(app: Flask, account: Account) -> None:
    client = app.test_client()
    created = client.post("/api/workflows", json={"name": "Concorrente"}, headers=account.headers)
    workflow_id = created.get_json()["workflow"]["id"]

    def put(client: Any, index: int) -> int:
        definition = {"nodes": [{"id": "1", "type": "trigger", "name": f"v{index}"}]}
        response = client.put(
            f"/api/workflows/{workflow_id}",
            json={"definition": definition},
            headers=account.headers,
        )
        return int(response.status_code)

    assert run_together(app, put) == [200] * THREADS
    body = client.get(
        f"/api/workflows/{workflow_id}/versions?limit=100", headers=account.headers
    ).get_json()
    assert [v["version"] for v in body["versions"]] == list(range(THREADS + 1, 0, -1))
    detail = client.get(f"/api/workflows/{workflow_id}", headers=account.headers).get_json()
    assert detail["workflow"]["version"] == THREADS + 1


def test_concurrent_creates_never_exceed_the_plan_quota(
    app: Flask, account: Account, workflow_limit: Callable[[int | None], None]
) -> None:
    workflow_limit(3)

    def post(client: Any, index: int) -> int:
        response = client.post(
            "/api/workflows", json={"name": f"W{index}"}, headers=account.headers
        )
        return int(response.status_code)

    statuses = run_together(app, post)
    assert sorted(statuses) == [201] * 3 + [402] * (THREADS - 3)
    listed = app.test_client().get("/api/workflows", headers=account.headers).get_json()
    assert listed["total"] == 3
