"""The exact JSON the dashboard frontend reads (contract 3.1 and 4), endpoint by endpoint."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from marshmallow import Schema

from fluxolab.credentials.resolver import CredentialResolver
from fluxolab.dashboard.schemas import OverviewBody, StatsBody
from fluxolab.extensions import db
from fluxolab.models import utcnow
from tests.api.test_credentials import SMTP_SECRET, create_credential
from tests.dashboard.runs import make_run, make_workflow
from tests.factories import Account, make_account

CARD_KEYS = {"id", "name", "owner", "active", "lastUpdated", "created", "status", "tags"}
HEADLINE_KEYS = {
    "prodExecutions",
    "failedExecutions",
    "failureRate",
    "timeSaved",
    "avgRunTime",
    "period",
    "avgRunTimeMs",
    "timeSavedMinutes",
}


@pytest.fixture()
def owner() -> Account:
    return make_account(name="Ana Souza")


def get(client: FlaskClient, account: Account, path: str) -> dict[str, Any]:
    response = client.get(path, headers=account.headers)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert isinstance(body, dict)
    return body


def assert_card(card: dict[str, Any]) -> None:
    """What the dashboard list reads of a ``DashboardWorkflow``."""
    assert set(card) == CARD_KEYS
    assert isinstance(card["tags"], list) and all(isinstance(t, str) for t in card["tags"])
    assert isinstance(card["active"], bool)
    assert card["status"] in ("active", "inactive", "error")
    for key in ("id", "name", "owner", "lastUpdated", "created"):
        assert isinstance(card[key], str)


def test_overview_has_exactly_the_contract_keys_with_numbers(
    client: FlaskClient, owner: Account
) -> None:
    busy = make_workflow(owner, "Leads", tags=["crm", "vendas"], minutes_saved=3)
    make_workflow(owner, "Sem tags")
    now = utcnow()
    make_run(owner, busy, at=now - timedelta(minutes=5), duration_ms=1200)
    make_run(owner, busy, at=now - timedelta(days=2), duration_ms=800)
    make_run(owner, busy, at=now - timedelta(days=1), status="failed", duration_ms=1000)
    make_run(owner, busy, at=now - timedelta(minutes=3), mode="manual", duration_ms=99_000)

    body = get(client, owner, "/api/dashboard/overview")

    assert set(body) == {
        "status",
        "stats",
        "workflows",
        "totalWorkflows",
        "recentExecutions",
        "trialInfo",
    }
    assert body["status"] == "ok"
    assert body["stats"] == {
        "prodExecutions": 3,
        "failedExecutions": 1,
        "failureRate": 33.3,
        "timeSaved": "6m",
        "avgRunTime": "1.00s",
        "period": "Last 7 days",
        "avgRunTimeMs": 1000.0,
        "timeSavedMinutes": 6.0,
    }
    assert type(body["stats"]["prodExecutions"]) is int
    assert type(body["stats"]["failedExecutions"]) is int
    assert body["totalWorkflows"] == 2
    assert body["recentExecutions"] == 1  # production runs today (the manual one is not)
    assert [card["name"] for card in body["workflows"]] == ["Sem tags", "Leads"]
    for card in body["workflows"]:
        assert_card(card)
    assert body["workflows"][1]["tags"] == ["crm", "vendas"]
    assert body["workflows"][0]["tags"] == []
    assert body["workflows"][1]["owner"] == "Ana Souza"
    trial = body["trialInfo"]
    assert {"plan", "trialEndsAt", "daysLeft", "executionsUsed", "executionsLimit"} <= set(trial)
    assert trial["plan"] == "free"
    assert isinstance(trial["daysLeft"], int) and isinstance(trial["executionsUsed"], int)


def test_overview_without_runs_shows_dashes_and_zeros(client: FlaskClient, owner: Account) -> None:
    stats = get(client, owner, "/api/dashboard/overview")["stats"]
    assert stats["prodExecutions"] == 0 and stats["failedExecutions"] == 0
    assert stats["failureRate"] == 0
    assert (stats["timeSaved"], stats["avgRunTime"]) == ("---", "---")
    assert stats["avgRunTimeMs"] is None and stats["timeSavedMinutes"] == 0


def test_overview_card_is_the_card_the_status_toggle_answers(
    client: FlaskClient, owner: Account
) -> None:
    workflow_id = make_workflow(owner, "Toggle", tags=["a"])
    toggled = client.patch(
        f"/api/workflows/{workflow_id}/status", json={"active": True}, headers=owner.headers
    ).get_json()["workflow"]
    (card,) = get(client, owner, "/api/dashboard/overview")["workflows"]
    assert card == toggled
    assert card["active"] is True and card["status"] == "active"


def test_stats_has_the_dormant_client_keys_and_the_superset(
    client: FlaskClient, owner: Account
) -> None:
    workflow_id = make_workflow(owner, "Pedidos", minutes_saved=1.5)
    now = utcnow()
    make_run(owner, workflow_id, at=now - timedelta(minutes=1), duration_ms=2000)
    make_run(
        owner, workflow_id, at=now - timedelta(minutes=2), status="timed_out", duration_ms=4000
    )

    body = get(client, owner, "/api/dashboard/stats?period=7d")

    assert set(body) == {"status", "stats", "period", "totals", "series", "topFailingWorkflows"}
    assert set(body["stats"]) == HEADLINE_KEYS
    assert body["stats"]["prodExecutions"] == 2
    assert body["stats"]["failedExecutions"] == 1
    assert body["stats"]["failureRate"] == 50.0
    assert body["stats"]["avgRunTime"] == "3.00s"
    assert body["stats"]["timeSaved"] == "1m 30s"
    assert set(body["totals"]) == {
        "total",
        "succeeded",
        "failed",
        "p95DurationMs",
        "timeSavedMinutes",
    }
    assert body["totals"]["total"] == {
        "value": 2,
        "previous": 0,
        "change": 2,
        "changePercent": None,
    }
    assert body["totals"]["p95DurationMs"]["value"] == 4000
    assert body["period"]["key"] == "7d" and body["period"]["granularity"] == "day"
    assert len(body["series"]) == 7
    assert set(body["series"][0]) == {"label", "start", "end", "total", "succeeded", "failed"}
    assert body["series"][-1]["total"] == 2 and body["series"][-1]["failed"] == 1
    assert body["topFailingWorkflows"] == [
        {"id": str(workflow_id), "name": "Pedidos", "failures": 1}
    ]


def test_workflows_list_is_flat_cards_and_total(client: FlaskClient, owner: Account) -> None:
    for name in ("Beta", "alfa", "Gama"):
        make_workflow(owner, name, tags=[name.lower()])
    body = get(client, owner, "/api/dashboard/workflows?limit=50")
    assert set(body) == {"status", "workflows", "total"}
    assert body["total"] == 3
    assert [card["name"] for card in body["workflows"]] == ["Gama", "alfa", "Beta"]
    for card in body["workflows"]:
        assert_card(card)
    page = get(client, owner, "/api/dashboard/workflows?limit=2&offset=2&sort=name")
    assert (page["total"], [c["name"] for c in page["workflows"]]) == (3, ["Gama"])


def test_search_is_flat_cards_and_total(client: FlaskClient, owner: Account) -> None:
    for name in ("Leads do Site", "Pedidos", "Novo lead"):
        make_workflow(owner, name)
    body = get(client, owner, "/api/dashboard/workflows/search?q=LEAD&limit=50")
    assert set(body) == {"status", "workflows", "total"}
    assert body["total"] == 2
    assert [card["name"] for card in body["workflows"]] == ["Leads do Site", "Novo lead"]
    for card in body["workflows"]:
        assert_card(card)


def test_executions_list_shape(client: FlaskClient, owner: Account) -> None:
    workflow_id = make_workflow(owner, "Cobranca")
    now = utcnow()
    failed = make_run(
        owner, workflow_id, at=now - timedelta(minutes=1), status="failed", error="HTTP 500"
    )
    make_run(owner, workflow_id, at=now - timedelta(minutes=2), mode="manual", status="queued")

    body = get(client, owner, "/api/dashboard/executions")

    assert set(body) == {"status", "executions", "total"}
    assert body["total"] == 2
    first, second = body["executions"]
    assert set(first) == {
        "id",
        "workflowId",
        "workflowName",
        "status",
        "mode",
        "startedAt",
        "finishedAt",
        "durationMs",
        "errorMessage",
        "createdAt",
    }
    assert (first["id"], first["workflowName"], first["status"]) == (
        str(failed),
        "Cobranca",
        "failed",
    )
    assert (first["mode"], first["errorMessage"], first["durationMs"]) == (
        "webhook",
        "HTTP 500",
        1000,
    )
    assert isinstance(first["startedAt"], str) and isinstance(first["finishedAt"], str)
    assert (second["mode"], second["status"], second["finishedAt"]) == ("manual", "queued", None)
    assert second["durationMs"] is None and second["errorMessage"] is None


def test_executions_filters(client: FlaskClient, owner: Account) -> None:
    one, two = make_workflow(owner, "Um"), make_workflow(owner, "Dois")
    now = utcnow()
    make_run(owner, one, at=now - timedelta(days=3))
    recent = make_run(owner, one, at=now - timedelta(hours=1), status="failed")
    make_run(owner, two, at=now - timedelta(hours=1), status="failed")
    since = (now - timedelta(days=1)).isoformat()

    def ids(query: str) -> list[str]:
        return [
            e["id"] for e in get(client, owner, f"/api/dashboard/executions?{query}")["executions"]
        ]

    assert len(ids(f"workflowId={one}")) == 2
    assert ids(f"workflowId={one}&status=failed") == [str(recent)]
    params = {"workflowId": str(one), "from": since}
    response = client.get("/api/dashboard/executions", query_string=params, headers=owner.headers)
    assert [e["id"] for e in response.get_json()["executions"]] == [str(recent)]


def test_credentials_list_shape_never_shows_the_secret(client: FlaskClient, owner: Account) -> None:
    created = create_credential(client, owner, "smtp-principal")
    response = client.get("/api/dashboard/credentials", headers=owner.headers)
    body = response.get_json()
    assert set(body) == {"status", "credentials", "total"}
    assert body["total"] == 1
    (card,) = body["credentials"]
    assert card == {
        "id": created["id"],
        "name": "smtp-principal",
        "type": "smtp",
        "createdAt": card["createdAt"],
        "lastUsedAt": None,
        "isActive": True,
    }
    assert isinstance(card["createdAt"], str)
    assert SMTP_SECRET["password"] not in response.get_data(as_text=True)


def test_credential_use_recorded_by_a_run_shows_as_last_used(
    client: FlaskClient, owner: Account
) -> None:
    created = create_credential(client, owner, "smtp-usado")
    create_credential(client, owner, "smtp-parado")
    resolver = CredentialResolver(owner.workspace_id)
    assert resolver.get(created["id"]) is not None
    resolver.record_usage()
    db.session.commit()
    cards = get(client, owner, "/api/dashboard/credentials")["credentials"]
    by_name = {card["name"]: card for card in cards}
    used = datetime.fromisoformat(by_name["smtp-usado"]["lastUsedAt"])
    assert abs(used - utcnow()) < timedelta(minutes=1)
    assert by_name["smtp-parado"]["lastUsedAt"] is None


def test_stats_counts_are_integers_and_unknown_p95_is_null(
    client: FlaskClient, owner: Account
) -> None:
    workflow_id = make_workflow(owner, "Contagem")
    make_run(owner, workflow_id, at=utcnow() - timedelta(minutes=1), status="running")
    totals = get(client, owner, "/api/dashboard/stats?period=24h")["totals"]
    for key in ("total", "succeeded", "failed"):
        assert all(type(totals[key][part]) is int for part in ("value", "previous", "change"))
    assert totals["total"]["value"] == 1
    assert totals["p95DurationMs"] == {
        "value": None,
        "previous": None,
        "change": None,
        "changePercent": None,
    }
    assert totals["timeSavedMinutes"]["value"] == 0


@pytest.mark.parametrize(
    ("path", "schema"),
    [
        ("/api/dashboard/overview", OverviewBody),
        ("/api/dashboard/stats?period=24h", StatsBody),
        ("/api/dashboard/stats?period=7d", StatsBody),
        ("/api/dashboard/stats?period=90d", StatsBody),
        ("/api/dashboard/stats?period=custom&from=2026-01-01&to=2026-01-03", StatsBody),
    ],
)
def test_reads_answered_without_the_schema_are_what_the_schema_would_answer(
    client: FlaskClient, owner: Account, path: str, schema: type[Schema]
) -> None:
    """The overview and the stats skip the response schema's dump (``as_dumped``): their
    bodies must be exactly its output, with runs, failures, none and nulls alike."""
    workflow_id = make_workflow(owner, "Pedidos", tags=["vendas"], minutes_saved=1.5)
    make_workflow(owner, "Vazio")
    now = utcnow()
    make_run(owner, workflow_id, at=now - timedelta(minutes=1), duration_ms=2000)
    make_run(owner, workflow_id, at=now - timedelta(hours=3), status="failed", duration_ms=70)
    make_run(owner, workflow_id, at=now - timedelta(minutes=5), status="running")

    body = get(client, owner, path)

    assert schema().dump(body) == body
    assert json.loads(json.dumps(schema().dump(body))) == body
