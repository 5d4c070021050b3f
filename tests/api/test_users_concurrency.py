"""The last-owner rule holds when two owners demote each other at the same moment."""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from fluxolab.extensions import db
from fluxolab.models import WorkspaceMember
from fluxolab.workspaces import service as workspaces
from tests.factories import make_account, make_member


@pytest.mark.usefixtures("committed_db", "app_ctx")
def test_concurrent_mutual_demotion_keeps_one_owner(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = make_account()
    second = make_member(first, "owner")
    original = workspaces.count_owners

    def slow_count(workspace_id: uuid.UUID) -> int:
        owners = original(workspace_id)
        time.sleep(0.5)  # widen the window between the owner count and the update
        return owners

    monkeypatch.setattr(workspaces, "count_owners", slow_count)
    start = threading.Barrier(2)
    statuses: list[int] = []

    def demote(actor_headers: dict[str, str], target: Any) -> None:
        client = app.test_client()
        start.wait(timeout=5)
        response = client.put(
            f"/api/users/workspace-members/{target}", json={"role": "editor"}, headers=actor_headers
        )
        statuses.append(response.status_code)

    threads = [
        threading.Thread(target=demote, args=(first.headers, second.user_id)),
        threading.Thread(target=demote, args=(second.headers, first.user_id)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)
    assert sorted(statuses) == [200, 409]
    db.session.remove()
    owners = db.session.execute(
        select(func.count())
        .select_from(WorkspaceMember)
        .where(WorkspaceMember.workspace_id == first.workspace_id, WorkspaceMember.role == "owner")
    ).scalar_one()
    assert owners == 1
