"""Search as you type (index, any case, SQLite too) and the minutesSavedPerRun setting."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from flask_migrate import upgrade
from sqlalchemy import event, text

from fluxolab.extensions import db
from fluxolab.models import utcnow
from tests.conftest import make_test_config
from tests.dashboard.runs import make_run, make_workflow
from tests.factories import Account, make_account
from tests.helpers import assert_envelope, fresh_app


@pytest.fixture()
def owner() -> Account:
    return make_account()


def search(client: FlaskClient, account: Account, q: str, limit: int = 50) -> dict[str, Any]:
    response = client.get(
        "/api/dashboard/workflows/search",
        query_string={"q": q, "limit": limit},
        headers=account.headers,
    )
    assert response.status_code == 200, response.get_json()
    body: dict[str, Any] = response.get_json()
    return body


def test_search_matches_any_case_anywhere_and_takes_wildcards_literally(
    client: FlaskClient, owner: Account
) -> None:
    for name in ("Relatório Diário", "relatorio semanal", "50% off", "5000 leads"):
        make_workflow(owner, name)
    names = {w["name"] for w in search(client, owner, "RELAT")["workflows"]}
    assert names == {"Relatório Diário", "relatorio semanal"}
    assert [w["name"] for w in search(client, owner, "50%")["workflows"]] == ["50% off"]
    assert search(client, owner, "_")["total"] == 0
    assert search(client, owner, "")["total"] == 4
    limited = search(client, owner, "", limit=1)
    assert (limited["total"], len(limited["workflows"])) == (4, 1)


def test_search_leaves_out_deleted_workflows(client: FlaskClient, owner: Account) -> None:
    kept, gone = make_workflow(owner, "Leads A"), make_workflow(owner, "Leads B")
    assert client.delete(f"/api/workflows/{gone}", headers=owner.headers).status_code == 200
    assert [w["id"] for w in search(client, owner, "leads")["workflows"]] == [str(kept)]


def test_search_predicate_is_answered_by_the_trigram_index(
    client: FlaskClient, owner: Account
) -> None:
    make_workflow(owner, "Leads")
    sent: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, params: Any, *_: Any) -> None:
        sent.append((statement, params))

    connection = db.session.connection()
    event.listen(connection, "before_cursor_execute", capture)
    try:
        search(client, owner, "ead")
    finally:
        event.remove(connection, "before_cursor_execute", capture)
    matching = [(s, p) for s, p in sent if "FROM workflows" in s and "ILIKE" in s]
    assert matching, [s for s, _ in sent]
    statement, params = matching[-1]
    assert "workflows.name ILIKE" in statement
    pattern = next(value for value in params.values() if value == "%ead%")
    connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
    plan = connection.exec_driver_sql(
        "EXPLAIN SELECT id FROM workflows WHERE name ILIKE %(p)s ESCAPE '\\'", {"p": pattern}
    ).scalars()
    assert "ix_workflows_name_trgm" in "\n".join(plan)
    extension = connection.execute(text("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'"))
    assert extension.scalar() == 1


def test_dashboard_works_on_sqlite(redis_url: str, tmp_path: Path) -> None:
    config = make_test_config(f"sqlite:///{tmp_path / 'fluxolab.db'}", redis_url, tmp_path)
    with fresh_app(config) as standalone, standalone.app_context():
        upgrade()
        account = make_account()
        workflow_id = make_workflow(account, "Leads do Site", minutes_saved=2)
        now = utcnow()
        parent = make_run(account, workflow_id, at=now - timedelta(minutes=3), mode="form")
        make_run(
            account, workflow_id, at=now - timedelta(minutes=2), mode="subworkflow", parent=parent
        )
        make_run(account, workflow_id, at=now - timedelta(minutes=1), mode="manual")
        client = standalone.test_client()
        headers = account.headers
        overview = client.get("/api/dashboard/overview", headers=headers).get_json()
        hourly = client.get("/api/dashboard/stats?period=24h", headers=headers).get_json()
        found = client.get("/api/dashboard/workflows/search?q=SITE", headers=headers).get_json()
        listed = client.get("/api/dashboard/executions", headers=headers).get_json()
        db.session.remove()
    assert overview["stats"]["prodExecutions"] == 2
    assert overview["stats"]["timeSaved"] == "4m"
    assert hourly["series"][-1]["total"] + hourly["series"][-2]["total"] == 2
    assert (found["total"], found["workflows"][0]["name"]) == (1, "Leads do Site")
    assert listed["total"] == 3


def put_settings(
    client: FlaskClient, account: Account, workflow_id: Any, settings: dict[str, Any]
) -> Any:
    return client.put(
        f"/api/workflows/{workflow_id}", json={"settings": settings}, headers=account.headers
    )


def settings_of(client: FlaskClient, account: Account, workflow_id: Any) -> dict[str, Any]:
    response = client.get(f"/api/workflows/{workflow_id}", headers=account.headers)
    settings: dict[str, Any] = response.get_json()["workflow"]["settings"]
    return settings


def test_minutes_saved_per_run_is_a_workflow_setting(client: FlaskClient, owner: Account) -> None:
    workflow_id = make_workflow(owner)
    assert settings_of(client, owner, workflow_id)["minutesSavedPerRun"] == 0
    response = put_settings(client, owner, workflow_id, {"minutesSavedPerRun": 2.5})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["workflow"]["settings"]["minutesSavedPerRun"] == 2.5
    assert put_settings(client, owner, workflow_id, {"errorWorkflowId": None}).status_code == 200
    assert settings_of(client, owner, workflow_id)["minutesSavedPerRun"] == 2.5
    copy = client.post(f"/api/workflows/{workflow_id}/duplicate", headers=owner.headers)
    assert copy.get_json()["workflow"]["settings"]["minutesSavedPerRun"] == 2.5
    created = client.post(
        "/api/workflows",
        json={"name": "Novo", "settings": {"minutesSavedPerRun": 10}},
        headers=owner.headers,
    )
    assert created.get_json()["workflow"]["settings"]["minutesSavedPerRun"] == 10


@pytest.mark.parametrize("value", [-1, "muito", None, 10_081])
def test_invalid_minutes_saved_is_422_and_changes_nothing(
    client: FlaskClient, owner: Account, value: Any
) -> None:
    workflow_id = make_workflow(owner, minutes_saved=3)
    response = put_settings(client, owner, workflow_id, {"minutesSavedPerRun": value})
    assert_envelope(response, 422, "validation_error")
    assert settings_of(client, owner, workflow_id)["minutesSavedPerRun"] == 3
