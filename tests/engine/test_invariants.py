"""Invariants over every registered node type."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from fluxolab.engine import RunContext, registry, run_node
from fluxolab.engine.spec import compile_node
from tests.engine.helpers import items

SAMPLE = items(
    {"id": 1, "name": "Ana", "tags": ["a", "b"], "user": {"age": 30}, "at": "2026-01-01T00:00:00Z"},
    {"id": 2, "name": "Bob", "tags": [], "user": {"age": 20}, "at": "2026-02-01T00:00:00Z"},
)

# One working configuration per node type; a new node type must be added here.
CONFIGS: dict[str, dict[str, Any]] = {
    "manual": {},
    "schedule": {},
    "webhook": {"path": "hook"},
    "form": {"formName": "Contact"},
    "error-trigger": {},
    "set": {
        "fields": [{"name": "user.age", "value": "{{ $json.user.age + 1 }}"}],
        "rename": [{"from": "name", "to": "user.name"}],
        "remove": ["tags"],
    },
    "data-transform": {"mapping": {"user.first": "{{ $json.name }}"}, "keepOriginal": True},
    "limit": {"maxItems": 1},
    "remove-duplicates": {"compare": "fields", "fields": ["user.age"]},
    "split-out": {"field": "tags", "include": "all"},
    "sort": {"fields": [{"field": "user.age"}]},
    "aggregate": {"fields": [{"field": "tags", "operation": "list"}], "groupBy": "name"},
    "date-time": {"operation": "add", "field": "at", "amount": 1, "outputField": "user.next"},
    "if-condition": {"condition": "user.age", "operator": "greater", "value": 25},
    "switch": {"value": "id", "rules": [{"operator": "equals", "value": 1}]},
    "filter": {"condition": "tags", "operator": "not_empty"},
    "merge": {"mergeStrategy": "combineByPosition"},
    "loop-over-items": {"batchSize": 1},
    "wait": {"amount": 0},
    "no-op": {},
    "stop-and-error": {"message": "stop"},
    "respond-to-webhook": {"json": "{{ $json.user }}"},
    "code-execute": {"code": "return items"},
    "approval": {"message": "ok?"},
    "http-request": {
        "url": "http://127.0.0.1:9/",
        "method": "POST",
        "body": {"n": "{{ $json.name }}"},
    },
    "execute-workflow": {"workflowId": "wf-1"},
    "email-send": {"credentialId": "smtp-1", "to": "a@example.test", "subject": "Hi", "body": "Yo"},
    "ai-agent": {"credentialId": "ai-1", "prompt": "Hi {{ $json.name }}"},
    "ai-summarize": {"credentialId": "ai-1"},
    "crypto": {"value": "{{ $json.name }}", "outputField": "user.hash"},
    "csv": {"action": "build", "columns": ["id", "user.age"]},
    "xml": {"action": "build", "field": "user", "outputField": "user.xml"},
    "rename-keys": {
        "keys": [{"from": "user.age", "to": "age"}],
        "regex": [{"pattern": "^na(me)$", "replacement": "\\1"}],
    },
}
# code-execute: covered by test_code_node with the real sandbox; http-request: by
# test_http_request_node against a loopback server (the default guard refuses loopback)
SLOW = {"code-execute", "http-request"}
NEEDS_SERVICES = {"execute-workflow"}  # covered by test_execute_workflow_node (a fake runner)
OUTBOUND = {"email-send", "ai-agent", "ai-summarize"}  # need their fake servers: own tests


def test_every_registered_type_has_a_sample_config() -> None:
    assert {node_type.type for node_type in registry.all()} == set(CONFIGS)


@pytest.mark.parametrize("type_name", sorted(set(CONFIGS) - SLOW - NEEDS_SERVICES - OUTBOUND))
def test_node_never_mutates_its_input_items(ctx: RunContext, type_name: str) -> None:
    sample = copy.deepcopy(SAMPLE)
    step = run_node({"id": "n", "type": type_name, "params": CONFIGS[type_name]}, sample, ctx)
    assert step.error is None or step.error["type"] == "StopAndError", step.error
    assert sample == SAMPLE


@pytest.mark.parametrize("type_name", sorted(CONFIGS))
def test_sample_config_is_valid(type_name: str) -> None:
    _, issues = compile_node({"id": "n", "type": type_name, "params": CONFIGS[type_name]}, 0)
    assert issues == []
