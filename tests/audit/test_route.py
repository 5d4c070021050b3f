"""GET /api/audit: roles, API keys refused, workspace isolation, filters, pages and CSV."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import timedelta

import pytest
from flask.testing import FlaskClient

from fluxolab import audit
from fluxolab.extensions import db
from fluxolab.models import AuditEntry, utcnow
from tests.factories import Account, make_account, make_member
from tests.helpers import assert_envelope
from tests.settings.test_api_keys import create_key

URL = "/api/audit"
ALL_SCOPES = [
    f"{r}:{a}"
    for r in ("workflows", "executions", "webhooks", "credentials")
    for a in ("read", "write")
]


def _add(
    account: Account,
    action: str,
    *,
    days_ago: float = 0,
    target: tuple[str, str] = ("thing", "1"),
    user_id: uuid.UUID | None = None,
    after: dict[str, object] | None = None,
) -> AuditEntry:
    entry = audit.record(
        action,
        target,
        None,
        after,
        user_id=user_id or account.user_id,
        workspace_id=account.workspace_id,
    )
    entry.created_at = utcnow() - timedelta(days=days_ago)
    db.session.commit()
    return entry


def _get(client: FlaskClient, account: Account, **query: object) -> list[dict[str, object]]:
    response = client.get(URL, query_string=query, headers=account.headers)
    assert response.status_code == 200, response.get_json()
    entries: list[dict[str, object]] = response.get_json()["entries"]
    return entries


def _actions(entries: list[dict[str, object]]) -> list[object]:
    return [entry["action"] for entry in entries if str(entry["action"]).startswith("test.")]


@pytest.fixture()
def owner() -> Account:
    return make_account()


@pytest.mark.parametrize(
    ("role", "status"), [("viewer", 403), ("editor", 403), ("admin", 200), ("owner", 200)]
)
def test_only_admins_and_owners_read_the_trail(
    client: FlaskClient, owner: Account, role: str, status: int
) -> None:
    account = owner if role == "owner" else make_member(owner, role)
    response = client.get(URL, headers=account.headers)
    assert response.status_code == status
    if status == 403:
        assert_envelope(response, 403)


def test_api_keys_are_refused_even_with_every_scope(client: FlaskClient, owner: Account) -> None:
    token = create_key(client, owner, scopes=ALL_SCOPES)["token"]
    for headers in ({"X-API-Key": token}, {"Authorization": f"Bearer {token}"}):
        assert_envelope(client.get(URL, headers=headers), 403, "api_key_not_allowed")
        csv_headers = {**headers, "Accept": "text/csv"}
        assert_envelope(client.get(URL, headers=csv_headers), 403, "api_key_not_allowed")


def test_another_workspace_never_sees_the_entries(client: FlaskClient, owner: Account) -> None:
    other = make_account()
    _add(owner, "test.mine")
    _add(other, "test.theirs")
    assert _actions(_get(client, owner)) == ["test.mine"]
    assert _actions(_get(client, other)) == ["test.theirs"]
    exported = client.get(URL, headers={**owner.headers, "Accept": "text/csv"}).get_data(
        as_text=True
    )
    assert "test.mine" in exported and "test.theirs" not in exported


def test_entries_come_newest_first_with_the_documented_fields(
    client: FlaskClient, owner: Account
) -> None:
    _add(owner, "test.old", days_ago=2)
    _add(owner, "test.new", after={"role": "admin"})
    entries = [e for e in _get(client, owner) if str(e["action"]).startswith("test.")]
    assert [e["action"] for e in entries] == ["test.new", "test.old"]
    first = entries[0]
    assert first["actorType"] == "user" and first["actorUserId"] == str(owner.user_id)
    assert first["workspaceId"] == str(owner.workspace_id)
    assert (first["targetType"], first["targetId"]) == ("thing", "1")
    assert (first["before"], first["after"]) == (None, {"role": "admin"})
    assert set(first) >= {"id", "actorApiKeyId", "ipAddress", "userAgent", "createdAt"}


def test_filters_by_actor_action_target_and_dates(client: FlaskClient, owner: Account) -> None:
    admin = make_member(owner, "admin")
    _add(owner, "test.a", days_ago=10, target=("credential", "c1"))
    _add(owner, "test.b", days_ago=5, target=("workflow", "w1"), user_id=admin.user_id)
    _add(owner, "test.a", days_ago=1, target=("workflow", "w2"))
    assert _actions(_get(client, owner, action="test.a")) == ["test.a", "test.a"]
    assert _actions(_get(client, owner, actor=str(admin.user_id))) == ["test.b"]
    assert _actions(_get(client, owner, targetType="workflow")) == ["test.a", "test.b"]
    assert _actions(_get(client, owner, targetType="workflow", targetId="w1")) == ["test.b"]
    start, end = utcnow() - timedelta(days=7), utcnow() - timedelta(days=2)
    window = {"from": start.isoformat(), "to": end.isoformat()}
    assert _actions(_get(client, owner, **window)) == ["test.b"]


def test_bad_filters_are_422(client: FlaskClient, owner: Account) -> None:
    for query in (
        {"actor": "not-a-uuid"},
        {"from": "yesterday"},
        {"from": "2026-02-01T00:00:00Z", "to": "2026-01-01T00:00:00Z"},
        {"limit": 0},
    ):
        response = client.get(URL, query_string=query, headers=owner.headers)
        assert response.status_code == 422, query
        assert_envelope(response, 422)


def test_pages_of_the_trail(client: FlaskClient, owner: Account) -> None:
    for day in range(5):
        _add(owner, f"test.{day}", days_ago=day)
    response = client.get(URL, query_string={"limit": 2, "offset": 1}, headers=owner.headers)
    body = response.get_json()
    total = body["total"]
    assert (body["limit"], body["offset"], len(body["entries"])) == (2, 1, 2)
    assert total >= 5  # the five above and the owner's login
    page = client.get(URL, query_string={"limit": 2, "page": 2}, headers=owner.headers).get_json()
    assert page["offset"] == 2 and page["entries"][0]["id"] == body["entries"][1]["id"]


def test_csv_export_streams_every_filtered_row_as_an_attachment(
    client: FlaskClient, owner: Account
) -> None:
    for index in range(3):
        _add(owner, "test.export", days_ago=index, after={"n": index})
    _add(owner, "test.other")
    headers = {**owner.headers, "Accept": "text/csv"}
    response = client.get(URL, query_string={"action": "test.export", "limit": 1}, headers=headers)
    assert response.status_code == 200
    assert response.is_streamed
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"].startswith('attachment; filename="audit-')
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert [row["action"] for row in rows] == ["test.export"] * 3  # the window is ignored
    assert [row["after"] for row in rows] == ['{"n": 0}', '{"n": 1}', '{"n": 2}']
    assert rows[0]["actorUserId"] == str(owner.user_id)


def test_csv_cells_that_a_spreadsheet_would_evaluate_are_neutralized(
    client: FlaskClient, owner: Account
) -> None:
    _add(owner, "test.formula", target=('=HYPERLINK("http://x")', "+1"), after={"x": 1})
    _add(owner, "test.formula", target=("@SUM(A1)", "-2"))
    headers = {**owner.headers, "Accept": "text/csv"}
    response = client.get(URL, query_string={"action": "test.formula"}, headers=headers)
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    cells = sorted((row["targetType"], row["targetId"]) for row in rows)
    assert cells == [('\'=HYPERLINK("http://x")', "'+1"), ("'@SUM(A1)", "'-2")]


def test_json_stays_the_default(client: FlaskClient, owner: Account) -> None:
    headers = {**owner.headers, "Accept": "*/*"}
    response = client.get(URL, headers=headers)
    assert response.mimetype == "application/json"


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
def test_no_route_changes_or_deletes_an_entry(
    client: FlaskClient, owner: Account, method: str
) -> None:
    entry = _add(owner, "test.kept")
    for path in (URL, f"{URL}/{entry.id}"):
        response = client.open(path, method=method, json={}, headers=owner.headers)
        assert response.status_code in (404, 405)
    db.session.expire_all()
    assert db.session.get(AuditEntry, entry.id) is not None
