"""Definitions saved for the original NestJS engine (contract 8.4) run unchanged."""

from __future__ import annotations

from typing import Any

import pytest

from fluxolab.engine import RunContext, run, validate_definition
from tests.engine.helpers import items

LEGACY = {
    "nodes": [
        {"id": "in", "type": "webhook.in", "params": {}},
        {
            "id": "set",
            "type": "set",
            "params": {"assign": {"greeting": "Hello {{ name }}", "source": "{{ $json.channel }}"}},
        },
        {
            "id": "check",
            "type": "if.branch",
            "params": {"left": "$json.name", "operator": "notEmpty"},
        },
        {
            "id": "ok",
            "type": "webhook.respond",
            "params": {"status": 200, "json": "{{ $json }}"},
        },
        {"id": "bad", "type": "webhook.respond", "params": {"status": 422, "text": "name missing"}},
    ],
    "connections": [
        {"id": "c1", "from": "in", "to": "set", "output": "default", "label": "x"},
        {"id": "c2", "from": "set", "to": "check"},
        {"id": "c3", "from": "check", "to": "ok", "output": "true"},
        {"id": "c4", "from": "check", "to": "bad", "output": "false"},
    ],
}


def test_legacy_definition_validates_for_activation() -> None:
    assert validate_definition(LEGACY) == []


@pytest.mark.parametrize(
    ("payload", "response"),
    [
        (
            {"name": "Ana", "channel": "web"},
            {
                "status": 200,
                "headers": {"Content-Type": "application/json"},
                "body": {"name": "Ana", "channel": "web", "greeting": "Hello Ana", "source": "web"},
            },
        ),
        (
            {"channel": "web"},
            {
                "status": 422,
                "headers": {"Content-Type": "text/plain; charset=utf-8"},
                "body": "name missing",
            },
        ),
    ],
    ids=["name-present", "name-missing"],
)
def test_legacy_definition_runs_and_responds(
    ctx: RunContext, payload: dict[str, Any], response: dict[str, Any]
) -> None:
    result = run(LEGACY, items(payload), ctx)
    assert result.status == "succeeded", result.error
    assert result.response == response


def test_legacy_steps_report_canonical_types(ctx: RunContext) -> None:
    result = run(LEGACY, items({"name": "Ana"}), ctx)
    assert [step.node_type for step in result.steps] == [
        "webhook",
        "set",
        "if-condition",
        "respond-to-webhook",
    ]
