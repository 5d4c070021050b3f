"""Bad input is a clear 4xx, never a 500: NaN/Infinity, NUL characters, naive dates."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from tests.factories import make_account
from tests.helpers import assert_envelope


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ('{"name": NaN}', "json_invalid_number"),
        (
            '{"name": "x", "definition": {"nodes": [], "connections": [], "n": Infinity}}',
            "json_invalid_number",
        ),
        ('{"name": "a\\u0000b"}', "json_nul_character"),
    ],
    ids=["nan", "infinity", "nul"],
)
def test_unstorable_json_is_400(client: FlaskClient, raw: str, code: str) -> None:
    account = make_account()
    response = client.post(
        "/api/workflows", data=raw, content_type="application/json", headers=account.headers
    )
    assert_envelope(response, 400, code)


def test_nan_inside_a_string_is_ordinary_data(client: FlaskClient) -> None:
    account = make_account()
    response = client.post("/api/workflows", json={"name": "NaN Infinity"}, headers=account.headers)
    assert response.status_code == 201


@pytest.mark.parametrize("value", ["2026-01-01", "2026-01-01T10:00:00", "2026-01-01T10:00:00Z"])
def test_execution_date_filters_accept_dates_without_time_zone(
    client: FlaskClient, value: str
) -> None:
    account = make_account()
    response = client.get(f"/api/executions?startDate={value}", headers=account.headers)
    assert response.status_code == 200, response.get_json()
