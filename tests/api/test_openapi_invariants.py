"""Invariants of every route, generated from the OpenAPI document and the URL map.

New routes are picked up automatically: each must be documented (summary, tag, security),
decorated with ``auth_required`` or ``public``, and answer 404 for an id that is not in the
caller's workspace. Parameters are computed at collection time from a throw-away app.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from functools import cache
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.factories import make_account
from tests.helpers import assert_envelope, fresh_app

HTTP_METHODS = ("get", "put", "post", "patch", "delete")
DOCS_BLUEPRINT = "api-docs"
PUBLIC: list[Any] = []
BEARER: list[dict[str, list[str]]] = [{"bearerAuth": []}]
PATTERN_SAMPLES = ["#6366F1", "example", "abc", "a", "000000", "123456", "2030-01-01", "x-y"]


@cache
def openapi_snapshot() -> tuple[dict[str, Any], tuple[str, ...]]:
    """The OpenAPI document and the ``METHOD /rule`` keys of a throw-away app."""
    config = {
        "FLUXOLAB_ENV": "test",
        "SQLALCHEMY_DATABASE_URI": "sqlite://",
        "RATELIMIT_ENABLED": False,
        "CELERY": {"broker_url": "memory://"},
    }
    with fresh_app(config) as throwaway:
        spec = throwaway.test_client().get("/api/openapi.json").get_json()
        keys = tuple(sorted(api_handlers(throwaway)))
    return spec, keys


def operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """Every (method, path, operation) of the document."""
    return [
        (method, path, item[method])
        for path, item in spec["paths"].items()
        for method in HTTP_METHODS
        if method in item
    ]


def api_handlers(app: Flask) -> dict[str, Callable[..., Any]]:
    """Map ``METHOD /rule`` of every /api URL rule to the function that handles it."""
    found: dict[str, Callable[..., Any]] = {}
    for rule in app.url_map.iter_rules():
        blueprint = rule.endpoint.rpartition(".")[0]
        if not rule.rule.startswith("/api") or blueprint == DOCS_BLUEPRINT:
            continue
        view = app.view_functions[rule.endpoint]
        view_class = getattr(view, "view_class", None)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            handler = getattr(view_class, method.lower(), None) if view_class else view
            found[f"{method} {rule.rule}"] = handler or view
    return found


def path_parameters(spec: dict[str, Any], path: str, operation: dict[str, Any]) -> list[Any]:
    shared = spec["paths"][path].get("parameters", [])
    return [p for p in [*shared, *operation.get("parameters", [])] if p.get("in") == "path"]


def is_id_parameter(parameter: dict[str, Any]) -> bool:
    name = parameter["name"]
    return (
        parameter.get("schema", {}).get("format") == "uuid" or name == "id" or name.endswith("_id")
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    spec, handler_keys = openapi_snapshot()
    ops = operations(spec)
    if "operation" in metafunc.fixturenames:
        metafunc.parametrize(
            "operation", ops, ids=[f"{m.upper()} {p}" for m, p, _ in ops], scope="function"
        )
    if "id_operation" in metafunc.fixturenames:
        with_ids = [
            op for op in ops if any(is_id_parameter(p) for p in path_parameters(spec, op[1], op[2]))
        ]
        metafunc.parametrize(
            "id_operation", with_ids, ids=[f"{m.upper()} {p}" for m, p, _ in with_ids]
        )
    if "handler_key" in metafunc.fixturenames:
        metafunc.parametrize("handler_key", handler_keys)


@pytest.fixture(scope="module")
def spec(app: Flask) -> dict[str, Any]:
    response = app.test_client().get("/api/openapi.json")
    assert response.status_code == 200
    document: dict[str, Any] = response.get_json()
    return document


def test_openapi_document_is_served(spec: dict[str, Any]) -> None:
    assert spec["openapi"].startswith("3.")
    assert spec["paths"]
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"


def test_every_path_starts_with_api(spec: dict[str, Any]) -> None:
    assert [path for path in spec["paths"] if not path.startswith("/api/")] == []


def test_operation_has_a_summary(operation: tuple[str, str, dict[str, Any]]) -> None:
    summary = operation[2].get("summary")
    assert isinstance(summary, str) and summary.strip()


def test_operation_has_a_tag(operation: tuple[str, str, dict[str, Any]]) -> None:
    assert operation[2].get("tags")


def test_operation_is_bearer_protected_or_explicitly_public(
    operation: tuple[str, str, dict[str, Any]],
) -> None:
    assert "security" in operation[2], "neither auth_required nor public"
    assert operation[2]["security"] in (BEARER, PUBLIC)


def test_route_handler_is_auth_required_or_public(app: Flask, handler_key: str) -> None:
    handler = api_handlers(app)[handler_key]
    assert getattr(handler, "_fluxo_role", None) is not None, (
        f"{handler_key}: decorate {handler.__qualname__} with auth_required(...) or public"
    )


def test_docs_page_serves_html(client: FlaskClient) -> None:
    response = client.get("/api/docs")
    assert response.status_code == 200
    assert response.mimetype == "text/html"


def resolve(schema: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any]:
    """Follow ``$ref`` and take the first branch of ``allOf``/``oneOf``/``anyOf``."""
    while True:
        if "$ref" in schema:
            name = schema["$ref"].rsplit("/", 1)[-1]
            schema = spec["components"]["schemas"][name]
        elif any(key in schema for key in ("allOf", "oneOf", "anyOf")):
            key = next(key for key in ("allOf", "oneOf", "anyOf") if key in schema)
            schema = schema[key][0]
        else:
            return schema


def sample_string(schema: dict[str, Any]) -> str:
    """A short string satisfying the schema's format, pattern and length, when we can."""
    formats = {
        "uuid": str(uuid.uuid4()),
        "email": "someone@example.com",
        "date-time": "2030-01-01T00:00:00+00:00",
        "date": "2030-01-01",
        "url": "https://example.com/",
        "uri": "https://example.com/",
    }
    if schema.get("format") in formats:
        return formats[schema["format"]]
    low, high = schema.get("minLength", 1), schema.get("maxLength", 64)
    candidates = [*PATTERN_SAMPLES, "x" * max(low, 1)]
    pattern = schema.get("pattern")
    for candidate in candidates:
        if low <= len(candidate) <= high and (not pattern or re.search(pattern, candidate)):
            return candidate
    return "x" * max(low, 1)


def sample(schema: dict[str, Any], spec: dict[str, Any]) -> Any:
    """A minimal value valid for ``schema`` (required properties only)."""
    schema = resolve(schema, spec)
    for key in ("example", "enum", "default"):
        if schema.get(key) is not None:
            return schema[key][0] if key == "enum" else schema[key]
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next(k for k in kind if k != "null")
    if kind == "object" or "properties" in schema:
        properties = schema.get("properties", {})
        return {name: sample(properties[name], spec) for name in schema.get("required", [])}
    if kind == "array":
        return [sample(schema.get("items", {}), spec) for _ in range(schema.get("minItems", 0))]
    if kind in ("integer", "number"):
        return schema.get("minimum", 1)
    if kind == "boolean":
        return False
    if kind == "string" or any(key in schema for key in ("format", "pattern", "minLength")):
        return sample_string(schema)
    return {}  # untyped (a raw field): an empty object


def build_request(
    spec: dict[str, Any], method: str, path: str, operation: dict[str, Any]
) -> dict[str, Any]:
    """Fill path ids with unknown uuids and send a minimal valid query and body."""
    url = path
    for parameter in path_parameters(spec, path, operation):
        value = uuid.uuid4() if is_id_parameter(parameter) else sample(parameter["schema"], spec)
        url = url.replace("{" + parameter["name"] + "}", str(value))
    query = {
        p["name"]: sample(p.get("schema", {}), spec)
        for p in operation.get("parameters", [])
        if p.get("in") == "query" and p.get("required")
    }
    request: dict[str, Any] = {"method": method.upper(), "path": url, "query_string": query}
    body = operation.get("requestBody", {})
    content = body.get("content", {}) if body.get("required") else {}
    if "application/json" in content:
        request["json"] = sample(content["application/json"]["schema"], spec)
    return request


def test_unknown_id_is_404_not_403_or_500(
    client: FlaskClient, spec: dict[str, Any], id_operation: tuple[str, str, dict[str, Any]]
) -> None:
    account = make_account()
    request = build_request(spec, *id_operation)
    response = client.open(headers=account.headers, **request)
    assert response.status_code != 422, (
        f"could not build a valid body for {request}: {response.get_json()} "
        "(give the schema an example)"
    )
    assert_envelope(response, 404)


ENVELOPE = {"status", "message", "code", "errors"}


def error_responses(spec: dict[str, Any], operation: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The operation's error responses (status >= 400) with ``$ref`` followed."""
    found = {}
    for status, response in operation["responses"].items():
        if status == "default" or int(status) >= 400:
            if "$ref" in response:
                response = spec["components"]["responses"][response["$ref"].rsplit("/", 1)[-1]]
            found[status] = response
    return found


def test_error_envelope_schema_is_the_real_envelope(spec: dict[str, Any]) -> None:
    error = spec["components"]["schemas"]["Error"]
    assert set(error["properties"]) == ENVELOPE
    assert set(error["required"]) == ENVELOPE
    assert error["properties"]["code"]["type"] == "string"
    assert error["properties"]["message"]["type"] == "string"
    assert error["properties"]["status"]["enum"] == ["error"]


def test_operation_has_no_catch_all_default_response(
    operation: tuple[str, str, dict[str, Any]],
) -> None:
    assert "default" not in operation[2]["responses"]


def test_every_error_response_documents_the_envelope(
    spec: dict[str, Any], operation: tuple[str, str, dict[str, Any]]
) -> None:
    for status, response in error_responses(spec, operation[2]).items():
        schema = resolve(response["content"]["application/json"]["schema"], spec)
        assert set(schema["properties"]) >= ENVELOPE, status
        assert schema["properties"]["code"]["type"] == "string", status


def expected_error_statuses(path: str, operation: dict[str, Any]) -> set[str]:
    """The statuses an operation answers because of its shape (body, path ids, bearer)."""
    expected = {"414", "500", "503"}
    if "requestBody" in operation:
        expected |= {"400", "413", "415", "422"}
    if "{" in path:
        expected.add("404")
    if operation.get("security"):
        expected |= {"401", "403", "404"}
    if any(p.get("in") == "query" for p in operation.get("parameters", [])):
        expected |= {"400", "422"}
    return expected


def test_operation_documents_the_errors_its_shape_can_cause(
    operation: tuple[str, str, dict[str, Any]],
) -> None:
    _method, path, op = operation
    missing = expected_error_statuses(path, op) - set(op["responses"])
    assert not missing, f"undocumented: {sorted(missing)}"


@pytest.mark.parametrize(
    ("method", "path", "statuses"),
    [
        ("post", "/api/auth/login", {"401", "429"}),
        ("post", "/api/auth/register", {"403", "409", "429"}),
        ("post", "/api/workflows", {"402"}),
        ("post", "/api/executions/{execution_id}/cancel", {"409"}),
    ],
)
def test_route_specific_errors_are_documented(
    spec: dict[str, Any], method: str, path: str, statuses: set[str]
) -> None:
    assert statuses <= set(spec["paths"][path][method]["responses"])
