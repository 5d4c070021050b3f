"""Bad input is a clear 4xx, never a 500: numbers and text no parser or database takes,
non-JSON bodies, page windows and path integers out of range, naive dates.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.routing import IntegerConverter

from fluxolab.common.converters import DB_INT_MAX, BoundedIntConverter
from fluxolab.common.jsonbody import MAX_INTEGER_DIGITS
from fluxolab.common.pagination import MAX_LIMIT, MAX_OFFSET, MAX_PAGE, paginate
from fluxolab.errors import ValidationFailed
from fluxolab.models import Workflow
from tests.api.test_openapi_invariants import openapi_snapshot, operations, path_parameters
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


@pytest.mark.parametrize(
    "raw",
    ['{"name": "a\\u0000b"}', '{"name": "k", "tags": ["x\\u0000"]}', '{"name": "a\x00b"}'],
    ids=["escaped", "nested-escaped", "raw-byte"],
)
def test_nul_anywhere_in_the_parsed_text_is_400(client: FlaskClient, raw: str) -> None:
    account = make_account()
    response = client.post(
        "/api/workflows", data=raw, content_type="application/json", headers=account.headers
    )
    assert_envelope(response, 400, "json_nul_character")


def test_the_text_backslash_u0000_is_ordinary_data(client: FlaskClient) -> None:
    account = make_account()
    code = 'return [{"json": {"nul": "\\u0000"}}]'  # Python source that builds a NUL
    body = {
        "name": "Code with \\u0000",
        "definition": {
            "nodes": [
                {"id": "c", "type": "code-execute", "params": {"language": "python", "code": code}}
            ],
            "connections": [],
        },
    }
    response = client.post("/api/workflows", json=body, headers=account.headers)
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["workflow"]["name"] == "Code with \\u0000"


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


RUNNABLE = {
    "nodes": [{"id": "t", "type": "manual"}, {"id": "end", "type": "no-op"}],
    "connections": [{"from": "t", "to": "end"}],
}
UNKNOWN_ID = uuid.UUID("6f1c2b7e-0000-4000-8000-000000000001")


def _fill_path(path: str, spec: dict[str, Any], operation: dict[str, Any]) -> str:
    """Put an unknown uuid (or 1 for an integer) in every path parameter."""
    for parameter in path_parameters(spec, path, operation):
        integer = parameter.get("schema", {}).get("type") == "integer"
        value = "1" if integer else str(UNKNOWN_ID)
        path = path.replace("{" + parameter["name"] + "}", value)
    return path


def _body_operations() -> list[tuple[str, str]]:
    """(METHOD, concrete path) of every documented operation that takes a JSON body."""
    spec, _keys = openapi_snapshot()
    return [
        (method.upper(), _fill_path(path, spec, operation))
        for method, path, operation in operations(spec)
        if "application/json" in operation.get("requestBody", {}).get("content", {})
    ]


BODY_OPERATIONS = _body_operations()
BIG_INTEGER = "1" * (MAX_INTEGER_DIGITS + 1)


@pytest.mark.parametrize(
    ("method", "path"), BODY_OPERATIONS, ids=[" ".join(o) for o in BODY_OPERATIONS]
)
@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ('{"x": ' + BIG_INTEGER + "}", "json_number_too_large"),
        ('{"x": [{"y": -' + BIG_INTEGER + "}]}", "json_number_too_large"),
        ('{"x": 1e400}', "json_invalid_number"),
        ('{"x": "\\ud800x"}', "json_lone_surrogate"),
        ('{"\\udfff": 1}', "json_lone_surrogate"),
        ('{"x": {"y": ["ok", "\\ud83d"]}}', "json_lone_surrogate"),
    ],
    ids=[
        "huge-int",
        "huge-negative-int-nested",
        "float-overflow",
        "surrogate-value",
        "surrogate-key",
        "surrogate-nested",
    ],
)
def test_every_json_body_refuses_values_python_or_the_database_cannot_handle(
    client: FlaskClient, method: str, path: str, raw: str, code: str
) -> None:
    account = make_account()
    response = client.open(
        path, method=method, data=raw, content_type="application/json", headers=account.headers
    )
    assert_envelope(response, 400, code)


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/auth/login", {"email": "ana@example.com", "password": "\ud800x"}),
        ("/api/auth/refresh", {"refreshToken": "\ud800" + "x" * 40}),
        ("/api/users/invitations/accept", {"token": "\ud800" + "x" * 40}),
    ],
    ids=["login-password", "refresh-token", "invitation-token"],
)
def test_lone_surrogates_reported_in_the_issue_are_400(
    client: FlaskClient, path: str, body: dict[str, str]
) -> None:
    account = make_account()
    response = client.post(path, json=body, headers=account.headers)
    assert_envelope(response, 400, "json_lone_surrogate")


def test_lone_surrogate_in_a_display_name_is_400_and_the_name_unchanged(
    client: FlaskClient,
) -> None:
    account = make_account()
    response = client.put(
        "/api/users/profile", json={"displayName": "Ana\udc00"}, headers=account.headers
    )
    assert_envelope(response, 400, "json_lone_surrogate")
    profile = client.get("/api/users/profile", headers=account.headers).get_json()["profile"]
    assert profile["name"] == "Ana Souza"


def test_raw_surrogate_bytes_in_a_run_input_are_400(client: FlaskClient) -> None:
    account = make_account()
    workflow = client.post("/api/workflows", json={"name": "W"}, headers=account.headers)
    workflow_id = workflow.get_json()["workflow"]["id"]
    response = client.post(
        f"/api/workflows/{workflow_id}/run",
        data=b'{"n": "\xed\xa0\x80"}',
        content_type="application/json",
        headers=account.headers,
    )
    assert_envelope(response, 400, "json_lone_surrogate")


def test_surrogate_pairs_and_long_integers_within_the_limit_are_ordinary_data(
    client: FlaskClient,
) -> None:
    account = make_account()
    created = client.post(
        "/api/workflows",
        data='{"name": "\\ud83d\\ude00 ok", "definition": ' + json.dumps(RUNNABLE) + "}",
        content_type="application/json",
        headers=account.headers,
    )
    assert created.status_code == 201, created.get_json()
    workflow = created.get_json()["workflow"]
    assert workflow["name"] == "\U0001f600 ok"
    number = "9" * MAX_INTEGER_DIGITS
    run = client.post(
        f"/api/workflows/{workflow['id']}/run",
        data='{"n": ' + number + "}",
        content_type="application/json",
        headers=account.headers,
    )
    assert run.status_code == 202, run.get_json()
    detail = client.get(run.get_json()["statusUrl"], headers=account.headers)
    assert detail.get_json()["execution"]["inputItems"] == [{"json": {"n": int(number)}}]


@pytest.mark.parametrize(
    ("method", "path"), BODY_OPERATIONS, ids=[" ".join(o) for o in BODY_OPERATIONS]
)
def test_every_json_body_operation_answers_415_for_another_content_type(
    client: FlaskClient, method: str, path: str
) -> None:
    account = make_account()
    response = client.open(
        path, method=method, data='{"a": 1}', content_type="text/plain", headers=account.headers
    )
    assert_envelope(response, 415, "unsupported_media_type")


def test_text_plain_preferences_are_refused_not_silently_ignored(client: FlaskClient) -> None:
    account = make_account()
    response = client.put(
        "/api/users/preferences",
        data='{"language": "en-US"}',
        content_type="text/plain",
        headers=account.headers,
    )
    assert_envelope(response, 415, "unsupported_media_type")
    stored = client.get("/api/users/preferences", headers=account.headers).get_json()
    assert stored["preferences"]["language"] == "pt-BR"


@pytest.mark.parametrize("content_type", [None, "application/json"], ids=["none", "json"])
def test_a_required_body_that_is_missing_is_400(
    client: FlaskClient, content_type: str | None
) -> None:
    account = make_account()
    response = client.put(
        "/api/users/preferences", content_type=content_type, headers=account.headers
    )
    assert_envelope(response, 400, "json_body_required")


LIST_ROUTES = [
    "/api/workflows",
    "/api/executions",
    "/api/users/workspace-members",
    "/api/workflows/{workflow}/versions",
    "/api/workflows/{workflow}/executions",
]


@pytest.mark.parametrize("route", LIST_ROUTES)
@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("offset=9223372036854775808", "offset"),
        (f"offset={MAX_OFFSET + 1}", "offset"),
        ("offset=" + "9" * 400, "offset"),
        (f"limit={MAX_LIMIT + 1}", "limit"),
        (f"page={MAX_PAGE + 1}", "page"),
    ],
    ids=["offset-int8-overflow", "offset-over-max", "offset-400-digits", "limit", "page"],
)
def test_list_windows_beyond_the_documented_maximum_are_422(
    client: FlaskClient, route: str, query: str, field: str
) -> None:
    account = make_account()
    workflow = client.post("/api/workflows", json={"name": "W"}, headers=account.headers)
    path = route.format(workflow=workflow.get_json()["workflow"]["id"])
    response = client.get(f"{path}?{query}", headers=account.headers)
    body = assert_envelope(response, 422, "validation_error")
    assert field in body["errors"]


@pytest.mark.parametrize("route", LIST_ROUTES)
def test_the_largest_documented_offset_is_an_empty_page(client: FlaskClient, route: str) -> None:
    account = make_account()
    workflow = client.post("/api/workflows", json={"name": "W"}, headers=account.headers)
    path = route.format(workflow=workflow.get_json()["workflow"]["id"])
    response = client.get(f"{path}?offset={MAX_OFFSET}&limit={MAX_LIMIT}", headers=account.headers)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["offset"] == MAX_OFFSET


def test_paginate_refuses_a_window_outside_the_bounds(app_ctx: Flask) -> None:
    statement = select(Workflow).order_by(Workflow.id)
    with pytest.raises(ValidationFailed) as raised:
        paginate(statement, MAX_LIMIT + 1, MAX_OFFSET + 1)
    assert set(raised.value.errors) == {"limit", "offset"}


@pytest.mark.parametrize(
    "version",
    ["2147483648", "99999999999999999999", "9" * 400],
    ids=["int4+1", "20-digits", "400-digits"],
)
def test_version_numbers_outside_the_database_range_are_404(
    client: FlaskClient, version: str
) -> None:
    account = make_account()
    workflow = client.post("/api/workflows", json={"name": "W"}, headers=account.headers)
    workflow_id = workflow.get_json()["workflow"]["id"]
    response = client.get(
        f"/api/workflows/{workflow_id}/versions/{version}", headers=account.headers
    )
    assert_envelope(response, 404, "not_found")


def test_every_int_path_parameter_is_bounded_to_the_database_range(app: Flask) -> None:
    unbounded = [
        f"{rule.rule} <{name}>"
        for rule in app.url_map.iter_rules()
        for name, converter in rule._converters.items()
        if isinstance(converter, IntegerConverter)
        and not (isinstance(converter, BoundedIntConverter) and converter.max <= DB_INT_MAX)
    ]
    assert unbounded == []


def test_int_path_parameters_document_their_maximum(client: FlaskClient) -> None:
    spec = client.get("/api/openapi.json").get_json()
    parameters = spec["paths"]["/api/workflows/{workflow_id}/versions/{version}"]["parameters"]
    version = next(p for p in parameters if p["name"] == "version")
    assert version["schema"]["maximum"] == DB_INT_MAX


def test_an_optional_body_may_be_left_out(client: FlaskClient) -> None:
    account = make_account()
    created = client.post(
        "/api/workflows", json={"name": "W", "definition": RUNNABLE}, headers=account.headers
    )
    workflow_id = created.get_json()["workflow"]["id"]
    run = client.post(f"/api/workflows/{workflow_id}/run", headers=account.headers)
    execution_id = run.get_json()["executionId"]
    response = client.post(f"/api/executions/{execution_id}/retry", headers=account.headers)
    assert_envelope(response, 409)  # read with the defaults: a queued run cannot be retried


@pytest.mark.parametrize(
    "query", ["search=%00", "tag=a%00b", "x%00=1"], ids=["search", "tag", "unknown-key"]
)
def test_nul_in_a_query_string_is_400(client: FlaskClient, query: str) -> None:
    account = make_account()
    response = client.get(f"/api/workflows?{query}", headers=account.headers)
    assert_envelope(response, 400, "query_nul_character")
