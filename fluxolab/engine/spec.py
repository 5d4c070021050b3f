"""One node of a definition, parsed: resolved type, params with defaults, settings, issues."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fluxolab.engine.expressions import check_syntax, has_expression
from fluxolab.engine.issues import ValidationIssue, node_issue, node_label
from fluxolab.engine.nodetype import NodeType
from fluxolab.engine.registry import registry
from fluxolab.engine.schemas import choice, make_validator, obj, prop, schema_errors

ERROR_OUTPUT = "error"

SETTINGS_SCHEMA = obj(
    {
        "retryOnFail": prop("boolean", "Retry on fail"),
        "maxTries": prop("integer", "Max tries", minimum=1, maximum=10),
        "waitBetweenTries": prop("integer", "Wait between tries (ms)", minimum=0, maximum=60_000),
        "continueOnFail": prop("boolean", "Continue on fail"),
        "onError": choice("On error", ["stop", "continue", "errorOutput"]),
        "timeoutMs": prop("integer", "Timeout (ms)", minimum=1),
    }
)
_SETTINGS_VALIDATOR = make_validator(SETTINGS_SCHEMA)


@dataclass(frozen=True)
class NodeSettings:
    """Per-node error handling: tries, the wait between them, what a failure does, a timeout."""

    max_tries: int = 1
    wait_between_s: float = 1.0
    on_error: str = "stop"  # stop | continue | errorOutput
    timeout_ms: int | None = None

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> NodeSettings:
        """Build settings from a validated ``settings`` object; ``onError`` beats continueOnFail."""
        retry = bool(raw.get("retryOnFail"))
        on_error = raw.get("onError") or ("continue" if raw.get("continueOnFail") else "stop")
        return cls(
            max_tries=int(raw.get("maxTries", 3)) if retry else 1,
            wait_between_s=int(raw.get("waitBetweenTries", 1000)) / 1000.0,
            on_error=on_error,
            timeout_ms=raw.get("timeoutMs"),
        )


DEFAULT_SETTINGS = NodeSettings()


@dataclass(frozen=True, eq=False)
class CompiledNode:
    """A runnable node: params are the defaults overlaid with the node's own, never mutated."""

    index: int
    id: str
    name: str
    type: NodeType
    params: Mapping[str, Any]
    dynamic_keys: tuple[str, ...]  # params holding expressions, rendered per item
    settings: NodeSettings
    disabled: bool
    outputs: tuple[str, ...]  # declared outputs, plus "error" with onError == "errorOutput"


def _param_issues(node_type: NodeType, params: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Return schema, extra-check and expression-syntax problems as ``(field, message)``."""
    problems = list(schema_errors(node_type.validator, params))
    if not problems:
        problems.extend(node_type.check(params))
    for key, value in params.items():
        if key not in node_type.raw_params and has_expression(value):
            problems.extend(
                (key, f"Expression error: {message}") for message in check_syntax(value)
            )
    return problems


def _identity(raw: Any, position: int) -> tuple[str, str, list[ValidationIssue]]:
    """Return the node's id and name, or an issue when the id is missing."""
    if not isinstance(raw, Mapping):
        return "", "", [ValidationIssue(None, None, f"Node #{position + 1} is not an object")]
    node_id = raw.get("id")
    if isinstance(node_id, int) and not isinstance(node_id, bool):
        node_id = str(node_id)
    if not isinstance(node_id, str) or not node_id:
        return "", "", [ValidationIssue(None, "id", f"Node #{position + 1} has no id")]
    name = raw.get("name")
    return node_id, name if isinstance(name, str) and name else node_id, []


def _section(raw: Mapping[str, Any], key: str) -> dict[str, Any]:
    """Return a deep copy of ``raw[key]`` (graphs are cached); a non-object counts as empty."""
    value = raw.get(key)
    return copy.deepcopy(dict(value)) if isinstance(value, Mapping) else {}


def _shape_issues(raw: Mapping[str, Any], name: str, node_id: str) -> list[ValidationIssue]:
    """Report ``params``/``settings`` that are present but not objects."""
    return [
        node_issue(name, node_id, key, "must be an object")
        for key in ("params", "settings")
        if raw.get(key) is not None and not isinstance(raw.get(key), Mapping)
    ]


def _settings(raw: Mapping[str, Any]) -> tuple[NodeSettings, list[tuple[str, str]]]:
    """Return the parsed settings and their problems as ``(field, message)``."""
    settings = _section(raw, "settings")
    problems = [
        (f"settings.{field}", message)
        for field, message in schema_errors(_SETTINGS_VALIDATOR, settings)
    ]
    return (DEFAULT_SETTINGS if problems else NodeSettings.parse(settings)), problems


def compile_node(raw: Any, position: int) -> tuple[CompiledNode | None, list[ValidationIssue]]:
    """Parse one node; returns the node (None when its id or type is unusable) and its issues."""
    node_id, name, issues = _identity(raw, position)
    if issues:
        return None, issues
    type_name = raw.get("type")
    node_type = registry.get(type_name) if isinstance(type_name, str) else None
    if node_type is None:
        problem = f"Unknown node type '{type_name}'" if type_name else "Node type is required"
        return None, [ValidationIssue(node_id, "type", f"{node_label(name, node_id)}: {problem}")]
    issues = _shape_issues(raw, name, node_id)
    params = {**copy.deepcopy(node_type.defaults), **node_type.prepare(_section(raw, "params"))}
    disabled = raw.get("disabled") is True
    settings, problems = _settings(raw)
    if not disabled:
        problems.extend(_param_issues(node_type, params))
    issues.extend(node_issue(name, node_id, field, message) for field, message in problems)
    outputs = node_type.output_names(params)
    if settings.on_error == "errorOutput":
        outputs = (*outputs, ERROR_OUTPUT)
    dynamic = tuple(
        key
        for key, value in params.items()
        if key not in node_type.raw_params and has_expression(value)
    )
    node = CompiledNode(
        position, node_id, name, node_type, params, dynamic, settings, disabled, outputs
    )
    return node, issues
