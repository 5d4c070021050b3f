"""The structured log lines: one per request, JSON or text, with the request's context."""

from __future__ import annotations

import base64
import io
import json
import logging
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask.testing import FlaskClient
from werkzeug.test import Client

from fluxolab import logs
from fluxolab.requestid import RequestIds
from tests.api.test_executions import new_workflow
from tests.factories import make_account
from tests.webhooks.helpers import active_hook, hook_flow, url

TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")
MANUAL = {"nodes": [{"id": "t", "type": "manual"}], "connections": []}


@pytest.fixture()
def capture() -> Iterator[Callable[[str], io.StringIO]]:
    """Root handlers writing in a given format, as ``configure`` sets them up."""
    added: list[logging.Handler] = []
    root = logging.getLogger()
    level = root.level

    def add(fmt: str) -> io.StringIO:
        stream = io.StringIO()
        handler = logging.StreamHandler(stream)
        handler.setFormatter(logs.formatter(fmt))
        root.addHandler(handler)
        root.setLevel(logging.INFO)
        added.append(handler)
        return stream

    yield add
    for handler in added:
        root.removeHandler(handler)
    root.setLevel(level)


def _json_lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def _access(lines: list[dict[str, Any]], request_id: str) -> dict[str, Any]:
    found = [
        line
        for line in lines
        if line["logger"] == "fluxolab.access" and line.get("request_id") == request_id
    ]
    assert len(found) == 1, lines
    return found[0]


def test_a_request_is_one_json_line_with_its_context(
    client: FlaskClient, capture: Callable[[str], io.StringIO]
) -> None:
    account = make_account()
    workflow_id = new_workflow(client, account, MANUAL)
    stream = capture("json")
    path = f"/api/workflows/{workflow_id}"
    response = client.get(path, headers={**account.headers, "X-Request-Id": "line-1"})
    assert response.status_code == 200

    line = _access(_json_lines(stream), "line-1")
    assert TIMESTAMP.fullmatch(line.pop("timestamp"))
    duration = line.pop("duration_ms")
    assert isinstance(duration, float) and 0 <= duration < 10_000
    assert line == {
        "level": "INFO",
        "logger": "fluxolab.access",
        "message": f"GET {path} 200",
        "request_id": "line-1",
        "workspace_id": str(account.workspace_id),
        "user_id": str(account.user_id),
        "method": "GET",
        "route": "/api/workflows/<uuid:workflow_id>",
        "path": path,
        "status": 200,
    }


def test_every_record_of_a_request_carries_its_request_id(
    capture: Callable[[str], io.StringIO],
) -> None:
    stream = capture("json")

    def inner(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        logging.getLogger("fluxolab.test").warning("inside %s", "the app")
        start_response("200 OK", [("Content-Type", "text/plain"), ("X-Request-Id", "forged")])
        return [b"ok"]

    answer = Client(RequestIds(inner)).get("/inner", headers={"X-Request-Id": "in-1"})
    assert answer.headers.getlist("X-Request-Id") == ["in-1"]
    lines = _json_lines(stream)
    inside = [line for line in lines if line["logger"] == "fluxolab.test"]
    assert inside and inside[0]["message"] == "inside the app"
    assert inside[0]["request_id"] == "in-1" and inside[0]["level"] == "WARNING"
    assert _access(lines, "in-1")["path"] == "/inner"
    assert logs.current("request_id") is None  # the context ended with the request


def test_unauthenticated_and_unknown_routes_have_no_user_nor_route(
    client: FlaskClient, capture: Callable[[str], io.StringIO]
) -> None:
    stream = capture("json")
    client.get("/api/nope", headers={"X-Request-Id": "nf-1"})
    client.get("/api/workflows", headers={"X-Request-Id": "na-1"})
    lines = _json_lines(stream)
    missing = _access(lines, "nf-1")
    assert missing["status"] == 404 and "route" not in missing and "user_id" not in missing
    refused = _access(lines, "na-1")
    assert refused["status"] == 401 and refused["route"] == "/api/workflows"
    assert "user_id" not in refused and "workspace_id" not in refused


def test_webhook_tokens_are_masked_in_the_access_line(
    client: FlaskClient, capture: Callable[[str], io.StringIO]
) -> None:
    stream = capture("json")
    token = "a" * 64
    client.post(f"/api/webhooks/execute/{token}", json={}, headers={"X-Request-Id": "tok-1"})
    line = _access(_json_lines(stream), "tok-1")
    assert token not in stream.getvalue()
    assert line["route"] == "/api/webhooks/execute/<string:token>"
    assert line["path"].startswith("/api/webhooks/execute/") and line["status"] == 404


def test_a_webhook_call_line_names_the_workspace_of_its_trigger(
    client: FlaskClient, capture: Callable[[str], io.StringIO]
) -> None:
    account = make_account()
    _, token = active_hook(client, account, hook_flow())
    stream = capture("json")
    assert client.post(url(token), json={}, headers={"X-Request-Id": "wh-1"}).status_code == 202
    line = _access(_json_lines(stream), "wh-1")
    assert line["workspace_id"] == str(account.workspace_id) and "user_id" not in line
    assert token not in stream.getvalue()


def test_the_text_format_puts_the_context_after_the_message(
    client: FlaskClient, capture: Callable[[str], io.StringIO]
) -> None:
    stream = capture("text")
    client.get("/api/health", headers={"X-Request-Id": "txt-1"})
    lines = [line for line in stream.getvalue().splitlines() if "request_id=txt-1" in line]
    assert len(lines) == 1
    pattern = (
        r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} INFO fluxolab\.access: GET /api/health 200 "
        r"\[request_id=txt-1 method=GET route=/api/health path=/api/health status=200 "
        r"duration_ms=[0-9.]+\]"
    )
    assert re.fullmatch(pattern, lines[0]), lines[0]


def test_records_outside_any_context_have_no_fields(capture: Callable[[str], io.StringIO]) -> None:
    json_stream, text_stream = capture("json"), capture("text")
    logging.getLogger("fluxolab.test").info("plain %d", 1)
    entry = json.loads(json_stream.getvalue())
    assert set(entry) == {"timestamp", "level", "logger", "message"}
    assert text_stream.getvalue().endswith(" INFO fluxolab.test: plain 1\n")


def test_extra_fields_and_exceptions_are_written(capture: Callable[[str], io.StringIO]) -> None:
    stream = capture("json")
    with logs.bound(request_id="ctx-1", status=1):
        try:
            raise ValueError("boom")
        except ValueError:
            logging.getLogger("fluxolab.test").exception("failed", extra={"status": 2})
    entry = json.loads(stream.getvalue())
    assert (entry["request_id"], entry["status"]) == ("ctx-1", 2)
    assert "ValueError: boom" in entry["exception"]
    assert "\n" not in stream.getvalue().rstrip("\n")


def test_configure_is_idempotent_and_refuses_an_unknown_format(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    root = logging.getLogger()
    before, level = list(root.handlers), root.level
    root.handlers = []  # a process nobody configured yet (pytest's handlers are put back)
    try:
        logs.configure("json", "WARNING")
        logs.configure("text")
        assert len(root.handlers) == 1 and root.level == logging.WARNING
        mine = root.handlers[0]
        assert isinstance(mine.formatter, logs.TextFormatter)
        monkeypatch.setenv("LOG_FORMAT", "json")
        logs.configure()
        assert root.handlers == [mine] and isinstance(mine.formatter, logs.JsonFormatter)
        monkeypatch.setenv("LOG_FORMAT", "xml")
        with pytest.raises(ValueError, match="LOG_FORMAT"):
            logs.configure()
    finally:
        root.handlers = before
        root.setLevel(level)


def test_a_root_configured_elsewhere_keeps_its_handlers_and_level() -> None:
    root = logging.getLogger()
    before, level = list(root.handlers), root.level
    other = logging.StreamHandler(io.StringIO())
    root.handlers = [other]
    root.setLevel(logging.DEBUG)
    try:
        logs.configure("json")
        assert root.handlers == [other] and root.level == logging.DEBUG
        logs.configure("json", "ERROR")  # Celery's setup_logging passes a level
        assert root.level == logging.ERROR
    finally:
        root.handlers = before
        root.setLevel(level)


def test_credential_shaped_values_are_masked_in_every_record(
    capture: Callable[[str], io.StringIO],
) -> None:
    stream = capture("json")
    log = logging.getLogger("fluxolab.test")
    bearer, basic = "tok-5f3c9d1e7b7a", base64.b64encode(b"ana:s3cret-pass").decode()
    jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl-_x"
    key = "flx_" + "a1" * 24
    log.warning("header %s", f"Bearer {bearer}")
    log.warning("Authorization: Basic %s", basic)
    log.warning("tokens %s and %s", jwt, key)
    try:
        raise RuntimeError(f"refused: authorization bearer {bearer}")
    except RuntimeError:
        log.exception("call failed")
    log.warning("basic authentication is off")  # a word after the scheme is no secret
    text = stream.getvalue()
    for secret in (bearer, basic, jwt, key, "s3cret"):
        assert secret not in text
    messages = [entry["message"] for entry in _json_lines(stream)]
    assert messages[:3] == [
        "header Bearer ***",
        "Authorization: Basic ***",
        "tokens *** and flx_***",
    ]
    assert "authorization bearer ***" in text
    assert messages[-1] == "basic authentication is off"


def test_libraries_that_log_payloads_are_held_back() -> None:
    assert logging.getLogger("sqlalchemy.engine").getEffectiveLevel() >= logging.WARNING
    assert logging.getLogger("httpcore.http11").getEffectiveLevel() >= logging.INFO
