"""GET /api/workflows: filters, sort, pagination; the plan's workflow quota."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from fluxolab.extensions import db
from fluxolab.models import Plan, Workflow, utcnow
from tests.api.test_workflows import create_workflow
from tests.factories import Account, make_account

LIST_ITEM_KEYS = {
    "id",
    "name",
    "description",
    "status",
    "active",
    "tags",
    "version",
    "executionCount",
    "lastExecutedAt",
    "createdAt",
    "updatedAt",
}


def set_workflow_limit(limit: int | None) -> None:
    """Set the free plan's workflow quota (rolled back with the test)."""
    plan = db.session.execute(select(Plan).where(Plan.code == "free")).scalar_one()
    plan.limits = {**plan.limits, "workflows": limit}
    db.session.commit()


def list_body(client: FlaskClient, account: Account, query: str = "") -> dict[str, Any]:
    response = client.get(f"/api/workflows{query}", headers=account.headers)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert isinstance(body, dict)
    return body


def names(body: dict[str, Any]) -> list[str]:
    return [workflow["name"] for workflow in body["workflows"]]


@pytest.fixture()
def owner() -> Account:
    set_workflow_limit(None)
    return make_account()


def test_list_shape_and_default_order_newest_update_first(
    client: FlaskClient, owner: Account
) -> None:
    first = create_workflow(client, owner, name="Primeiro")
    create_workflow(client, owner, name="Segundo")
    client.put(f"/api/workflows/{first['id']}", json={"description": "x"}, headers=owner.headers)
    body = list_body(client, owner)
    assert set(body) == {"status", "workflows", "total", "limit", "offset"}
    assert (body["status"], body["total"], body["limit"], body["offset"]) == ("ok", 2, 50, 0)
    assert set(body["workflows"][0]) == LIST_ITEM_KEYS
    assert names(body) == ["Primeiro", "Segundo"]


def test_list_is_empty_for_a_new_workspace(client: FlaskClient, owner: Account) -> None:
    assert list_body(client, owner) == {
        "status": "ok",
        "workflows": [],
        "total": 0,
        "limit": 50,
        "offset": 0,
    }


def test_search_is_case_insensitive_substring(client: FlaskClient, owner: Account) -> None:
    for name in ("Leads do CRM", "crm sync", "Faturas"):
        create_workflow(client, owner, name=name)
    body = list_body(client, owner, "?search=CrM&sort=name")
    assert names(body) == ["crm sync", "Leads do CRM"]
    assert body["total"] == 2


@pytest.mark.parametrize(
    ("search", "expected"),
    [("%", ["100% pronto"]), ("_", ["a_b"]), ("\\", ["barra\\invertida"])],
    ids=["percent", "underscore", "backslash"],
)
def test_search_treats_like_wildcards_literally(
    client: FlaskClient, owner: Account, search: str, expected: list[str]
) -> None:
    for name in ("100% pronto", "a_b", "aXb", "barra\\invertida"):
        create_workflow(client, owner, name=name)
    response = client.get("/api/workflows", query_string={"search": search}, headers=owner.headers)
    assert names(response.get_json()) == expected


def test_status_filter(client: FlaskClient, owner: Account) -> None:
    active = create_workflow(client, owner, name="Ativo")
    create_workflow(client, owner, name="Rascunho")
    client.patch(
        f"/api/workflows/{active['id']}/status", json={"active": True}, headers=owner.headers
    )
    assert names(list_body(client, owner, "?status=active")) == ["Ativo"]
    assert names(list_body(client, owner, "?status=draft")) == ["Rascunho"]
    assert list_body(client, owner, "?status=error")["total"] == 0


def test_tag_filter_matches_whole_tags(client: FlaskClient, owner: Account) -> None:
    create_workflow(client, owner, name="A", tags=["crm", "vendas"])
    create_workflow(client, owner, name="B", tags=["crmx"])
    create_workflow(client, owner, name="C", tags=[])
    body = list_body(client, owner, "?tag=crm")
    assert names(body) == ["A"]
    assert body["workflows"][0]["tags"] == ["crm", "vendas"]


def test_filters_combine(client: FlaskClient, owner: Account) -> None:
    create_workflow(client, owner, name="Leads A", tags=["crm"])
    create_workflow(client, owner, name="Leads B", tags=["erp"])
    create_workflow(client, owner, name="Outro", tags=["crm"])
    assert names(list_body(client, owner, "?search=leads&tag=crm")) == ["Leads A"]


def _set_counters(workflow_id: str, count: int, last_hours_ago: int | None) -> None:
    row = db.session.get(Workflow, uuid.UUID(workflow_id))
    assert row is not None
    row.execution_count = count
    row.last_executed_at = (
        None if last_hours_ago is None else utcnow() - timedelta(hours=last_hours_ago)
    )
    db.session.commit()


@pytest.fixture()
def counted(client: FlaskClient, owner: Account) -> Account:
    """Three workflows: b (5 runs, 1 h ago), a (9 runs, 3 h ago), c (0 runs, never)."""
    for name, count, hours in (("b", 5, 1), ("a", 9, 3), ("c", 0, None)):
        created = create_workflow(client, owner, name=name)
        _set_counters(created["id"], count, hours)
    return owner


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("name", ["a", "b", "c"]),
        ("-name", ["c", "b", "a"]),
        ("executionCount", ["c", "b", "a"]),
        ("-executionCount", ["a", "b", "c"]),
        ("lastExecutedAt", ["a", "b", "c"]),
        ("-lastExecutedAt", ["b", "a", "c"]),
        ("createdAt", ["b", "a", "c"]),
        ("-createdAt", ["c", "a", "b"]),
        ("updatedAt", ["b", "a", "c"]),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_sort_keys(client: FlaskClient, counted: Account, sort: str, expected: list[str]) -> None:
    assert names(list_body(client, counted, f"?sort={sort}")) == expected


def test_unknown_sort_key_is_422(client: FlaskClient, owner: Account) -> None:
    response = client.get("/api/workflows?sort=workspace_id", headers=owner.headers)
    assert response.status_code == 422
    assert "sort" in response.get_json()["errors"]


@pytest.mark.parametrize(
    "query",
    ["?status=archived", "?limit=0", "?limit=201", "?offset=-1", "?page=0", "?tag="],
    ids=["status", "limit-zero", "limit-high", "offset", "page", "empty-tag"],
)
def test_bad_query_args_are_422(client: FlaskClient, owner: Account, query: str) -> None:
    response = client.get(f"/api/workflows{query}", headers=owner.headers)
    assert response.status_code == 422
    assert response.get_json()["code"] == "validation_error"


def test_equal_names_page_stably_by_id(client: FlaskClient, owner: Account) -> None:
    ids = sorted(create_workflow(client, owner)["id"] for _ in range(5))
    seen: list[str] = []
    for offset in range(5):
        body = list_body(client, owner, f"?sort=name&limit=1&offset={offset}")
        seen.extend(w["id"] for w in body["workflows"])
    assert seen == ids


def test_pagination_with_limit_offset_and_page(client: FlaskClient, owner: Account) -> None:
    for name in ("a", "b", "c", "d", "e"):
        create_workflow(client, owner, name=name)
    by_offset = list_body(client, owner, "?sort=name&limit=2&offset=2")
    assert (names(by_offset), by_offset["total"], by_offset["offset"]) == (["c", "d"], 5, 2)
    by_page = list_body(client, owner, "?sort=name&limit=2&page=3")
    assert (names(by_page), by_page["limit"], by_page["offset"]) == (["e"], 2, 4)


def test_plan_limit_blocks_the_third_workflow_with_402(client: FlaskClient) -> None:
    set_workflow_limit(2)
    account = make_account()
    create_workflow(client, account)
    create_workflow(client, account)
    response = client.post("/api/workflows", json={"name": "Terceiro"}, headers=account.headers)
    assert response.status_code == 402
    body = response.get_json()
    assert body["status"] == "error" and body["code"] == "plan_limit_workflows"
    assert "2 workflows" in body["message"]
    assert list_body(client, account)["total"] == 2


def test_plan_limit_counts_duplicates(client: FlaskClient) -> None:
    set_workflow_limit(2)
    account = make_account()
    created = create_workflow(client, account)
    assert (
        client.post(
            f"/api/workflows/{created['id']}/duplicate", headers=account.headers
        ).status_code
        == 201
    )
    response = client.post(f"/api/workflows/{created['id']}/duplicate", headers=account.headers)
    assert response.status_code == 402
    assert list_body(client, account)["total"] == 2


def test_plan_limit_ignores_deleted_workflows(client: FlaskClient) -> None:
    set_workflow_limit(1)
    account = make_account()
    created = create_workflow(client, account)
    client.delete(f"/api/workflows/{created['id']}", headers=account.headers)
    create_workflow(client, account)
    assert list_body(client, account)["total"] == 1


def test_plan_limit_is_per_workspace(client: FlaskClient) -> None:
    set_workflow_limit(1)
    create_workflow(client, make_account())
    create_workflow(client, make_account())
