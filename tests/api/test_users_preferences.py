"""GET/PUT /api/users/preferences (contract 3.4 language select, 3.5)."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from flask.testing import FlaskClient

from fluxolab.extensions import db
from fluxolab.models import User
from tests.factories import Account, make_account, make_member

DEFAULTS = {
    "theme": "light",
    "language": "pt-BR",
    "timezone": "America/Sao_Paulo",
    "notifications": {"email": True, "push": True, "workflow": True},
    "dashboard": {"defaultView": "overview", "itemsPerPage": 50},
}


def put_prefs(client: FlaskClient, account: Account, body: Any) -> Any:
    return client.put("/api/users/preferences", json=body, headers=account.headers)


def get_prefs(client: FlaskClient, account: Account) -> dict[str, Any]:
    response = client.get("/api/users/preferences", headers=account.headers)
    assert response.status_code == 200
    body = response.get_json()
    assert set(body) == {"status", "preferences"}
    assert body["status"] == "ok"
    return dict(body["preferences"])


def stored_user(account: Account) -> User:
    db.session.expire_all()
    user = db.session.get(User, account.user_id)
    assert user is not None
    return user


def test_get_preferences_returns_the_defaults(client: FlaskClient) -> None:
    assert get_prefs(client, make_account()) == DEFAULTS


def test_preferences_without_token_is_401(client: FlaskClient) -> None:
    response = client.put("/api/users/preferences", json={"theme": "dark"})
    assert response.status_code == 401
    assert response.get_json()["code"] == "token_missing"


def test_settings_language_select_returns_the_full_merged_object(client: FlaskClient) -> None:
    viewer = make_member(make_account(), "viewer")
    response = put_prefs(client, viewer, {"language": "en-US"})
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "preferences": {**DEFAULTS, "language": "en-US"}}
    assert get_prefs(client, viewer)["language"] == "en-US"


def test_language_and_timezone_preferences_update_the_profile(client: FlaskClient) -> None:
    account = make_account()
    put_prefs(client, account, {"language": "en-US", "timezone": "Asia/Tokyo"})
    profile = client.get("/api/users/profile", headers=account.headers).get_json()["profile"]
    assert (profile["language"], profile["timezone"]) == ("en-US", "Asia/Tokyo")
    user = stored_user(account)
    assert (user.language, user.timezone) == ("en-US", "Asia/Tokyo")
    assert "language" not in user.preferences and "timezone" not in user.preferences


def test_profile_timezone_change_shows_in_preferences(client: FlaskClient) -> None:
    account = make_account()
    client.put("/api/users/profile", json={"timezone": "UTC"}, headers=account.headers)
    assert get_prefs(client, account)["timezone"] == "UTC"


def test_top_level_keys_replace_and_other_keys_are_kept(client: FlaskClient) -> None:
    account = make_account()
    put_prefs(client, account, {"theme": "dark"})
    response = put_prefs(client, account, {"theme": "auto", "language": "en-US"})
    expected = {**DEFAULTS, "theme": "auto", "language": "en-US"}
    assert response.get_json()["preferences"] == expected
    assert get_prefs(client, account) == expected


def test_nested_objects_may_be_partial_and_merge_key_by_key(client: FlaskClient) -> None:
    account = make_account()
    put_prefs(client, account, {"notifications": {"email": False}})
    response = put_prefs(
        client, account, {"notifications": {"push": False}, "dashboard": {"itemsPerPage": 100}}
    )
    expected = copy.deepcopy(DEFAULTS)
    expected["notifications"] = {"email": False, "push": False, "workflow": True}
    expected["dashboard"] = {"defaultView": "overview", "itemsPerPage": 100}
    assert response.get_json()["preferences"] == expected
    assert stored_user(account).preferences == {
        "notifications": {"email": False, "push": False},
        "dashboard": {"itemsPerPage": 100},
    }


def test_full_preferences_object_round_trips(client: FlaskClient) -> None:
    account = make_account()
    full = {
        "theme": "dark",
        "language": "en-US",
        "timezone": "Europe/Berlin",
        "notifications": {"email": False, "push": True, "workflow": False},
        "dashboard": {"defaultView": "executions", "itemsPerPage": 200},
    }
    assert put_prefs(client, account, full).get_json()["preferences"] == full
    assert get_prefs(client, account) == full


def test_empty_body_changes_nothing(client: FlaskClient) -> None:
    account = make_account()
    response = put_prefs(client, account, {})
    assert response.status_code == 200
    assert response.get_json()["preferences"] == DEFAULTS


def test_invalid_stored_values_fall_back_to_defaults(client: FlaskClient) -> None:
    account = make_account()
    user = stored_user(account)
    user.preferences = {"theme": "neon", "notifications": {"email": "yes"}, "legacy": 1}
    db.session.commit()
    assert get_prefs(client, account) == DEFAULTS


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"fontSize": 14}, "fontSize"),
        ({"theme": "system"}, "theme"),
        ({"language": "en"}, "language"),
        ({"timezone": "America/Nowhere"}, "timezone"),
        ({"timezone": "America"}, "timezone"),
        ({"theme": None}, "theme"),
        ({"notifications": {"email": "yes"}}, "notifications"),
        ({"notifications": {"email": 1}}, "notifications"),
        ({"notifications": {"sms": True}}, "notifications"),
        ({"notifications": True}, "notifications"),
        ({"dashboard": {"defaultView": "reports"}}, "dashboard"),
        ({"dashboard": {"itemsPerPage": 9}}, "dashboard"),
        ({"dashboard": {"itemsPerPage": 201}}, "dashboard"),
        ({"dashboard": {"itemsPerPage": "50"}}, "dashboard"),
        ({"dashboard": {"itemsPerPage": 50.5}}, "dashboard"),
    ],
    ids=[
        "unknown-key",
        "bad-theme",
        "unsupported-language",
        "unknown-timezone",
        "timezone-directory",
        "null-theme",
        "notification-string",
        "notification-number",
        "unknown-notification",
        "notifications-not-object",
        "bad-default-view",
        "items-too-few",
        "items-too-many",
        "items-string",
        "items-fraction",
    ],
)
def test_invalid_preferences_are_422_and_nothing_is_stored(
    client: FlaskClient, body: dict[str, Any], field: str
) -> None:
    account = make_account()
    response = put_prefs(client, account, {"theme": "dark", **body})
    assert response.status_code == 422
    payload = response.get_json()
    assert payload["status"] == "error"
    assert payload["code"] == "validation_error"
    assert list(payload["errors"]) == [field]
    assert field in payload["message"]
    assert stored_user(account).preferences == {}
    assert get_prefs(client, account) == DEFAULTS


def test_non_object_body_is_422(client: FlaskClient) -> None:
    response = put_prefs(client, make_account(), ["theme", "dark"])
    assert response.status_code == 422
    assert response.get_json()["code"] == "validation_error"
