"""Routing nodes: If (true/false), Filter (keep matches) and Switch (one output per rule).

A left operand (``condition`` of If/Filter, ``value`` of Switch) is a template, a bare
``$json...`` expression, or a plain field path into the item; right-hand ``value``s are literals
or templates. The original engine's If spelling ``{left, operator, right}`` is rewritten to
``{condition, operator, value}`` before validation.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fluxolab.engine.call import NodeCall
from fluxolab.engine.conditions import (
    OPERATORS,
    compare,
    normalize_operator,
    operand,
    regex_issues,
)
from fluxolab.engine.errors import NodeError
from fluxolab.engine.nodetype import NodeType, Outputs
from fluxolab.engine.schemas import any_value, array_of, choice, obj, prop

MAX_SWITCH_OUTPUTS = 64


def _prepare_condition(params: dict[str, Any]) -> dict[str, Any]:
    """Rewrite ``left``/``right`` to ``condition``/``value`` and normalise the operator."""
    if "left" in params and "condition" not in params:
        params["condition"] = params.pop("left")
    if "right" in params and "value" not in params:
        params["value"] = params.pop("right")
    if "operator" in params:
        params["operator"] = normalize_operator(params["operator"])
    return params


def _test(call: NodeCall, params: Mapping[str, Any], index: int) -> bool:
    """Evaluate the single ``condition operator value`` test for item ``index``."""
    left = operand(call, call.raw("condition"), params.get("condition"), index)
    return compare(params.get("operator", "equals"), left, params.get("value"))


def run_if(call: NodeCall) -> Outputs:
    """Send each item to ``true`` or ``false`` by its condition."""
    true: list[Any] = []
    false: list[Any] = []
    for index, item in enumerate(call.items):
        (true if _test(call, call.params(index), index) else false).append(item)
    return {"true": true, "false": false}


def _list_matches(call: NodeCall, params: Mapping[str, Any], index: int) -> bool:
    """Evaluate the ``conditions`` list for item ``index``, joined by ``combinator``."""
    raw_list = call.raw("conditions")
    results = (
        compare(
            normalize_operator(entry.get("operator", "equals")),
            operand(call, raw.get("condition"), entry.get("condition"), index),
            entry.get("value"),
            f"conditions.{position}.value",
        )
        for position, (raw, entry) in enumerate(
            zip(raw_list, params.get("conditions") or (), strict=False)
        )
    )
    return all(results) if params.get("combinator") != "or" else any(results)


def run_filter(call: NodeCall) -> Outputs:
    """Keep items that match; the others go to ``discarded`` when that output is enabled."""
    kept: list[Any] = []
    dropped: list[Any] = []
    use_list = bool(call.raw("conditions"))
    for index, item in enumerate(call.items):
        params = call.params(index)
        matched = _list_matches(call, params, index) if use_list else _test(call, params, index)
        (kept if matched else dropped).append(item)
    outputs: Outputs = {"main": kept}
    if "discarded" in call.node.outputs:
        outputs["discarded"] = dropped
    return outputs


def _filter_issues(params: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Require a condition or a conditions list, and valid static regexes."""
    conditions = params.get("conditions") or []
    if not conditions and params.get("condition") in (None, ""):
        return [("condition", "Set 'condition' (or a 'conditions' list)")]
    issues = regex_issues(params)
    for position, entry in enumerate(conditions):
        issues.extend(
            (f"conditions.{position}.{field}", text) for field, text in regex_issues(entry)
        )
    return issues


def _filter_outputs(params: Mapping[str, Any]) -> tuple[str, ...]:
    """Return ``main``, plus ``discarded`` when enabled."""
    return ("main", "discarded") if params.get("discardedOutput") is True else ("main",)


def _rule_index(rule: Mapping[str, Any], position: int) -> int:
    """Return the output index a rule sends to (its position unless ``output`` says)."""
    output = rule.get("output", position)
    if isinstance(output, bool) or not isinstance(output, int):
        return position
    return output


def switch_outputs(params: Mapping[str, Any]) -> tuple[str, ...]:
    """Return ``"0".."n-1"`` (n from the rules or ``numberOutputs``), plus ``fallback``."""
    if params.get("mode") == "expression":
        count = params.get("numberOutputs")
        count = count if isinstance(count, int) and not isinstance(count, bool) else 4
    else:
        rules = [rule for rule in params.get("rules") or () if isinstance(rule, Mapping)]
        count = max([len(rules), *(_rule_index(r, i) + 1 for i, r in enumerate(rules))])
    names = tuple(str(index) for index in range(max(0, min(count, MAX_SWITCH_OUTPUTS))))
    return (*names, "fallback") if params.get("fallbackOutput") == "extra" else names


def _switch_rules(call: NodeCall, params: Mapping[str, Any], index: int) -> list[str]:
    """Return the outputs item ``index`` goes to under the rules (first match unless all)."""
    left = operand(call, call.raw("value"), params.get("value"), index)
    targets = []
    for position, rule in enumerate(params.get("rules") or ()):
        operator = normalize_operator(rule.get("operator", "equals"))
        if compare(operator, left, rule.get("value"), f"rules.{position}.value"):
            targets.append(str(_rule_index(rule, position)))
            if params.get("allMatching") is not True:
                break
    return targets


def _switch_expression(params: Mapping[str, Any], outputs: tuple[str, ...]) -> list[str]:
    """Return the output named by the rendered ``output`` index (fallback or error if absent)."""
    value = params.get("output")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    name = (
        str(value).strip() if isinstance(value, int | str) and not isinstance(value, bool) else ""
    )
    if name in outputs and name != "fallback":
        return [name]
    if "fallback" in outputs:
        return ["fallback"]
    raise NodeError(f"Output index {value!r} is out of range (0-{len(outputs) - 1})")


def run_switch(call: NodeCall) -> Outputs:
    """Route each item to the output(s) its rules or its output expression select."""
    outputs: Outputs = {name: [] for name in call.node.outputs}
    by_expression = call.raw("mode") == "expression"
    budget = call.item_budget()
    for index, item in enumerate(call.items):
        params = call.params(index)
        if by_expression:
            targets = _switch_expression(params, call.node.outputs)
        else:
            targets = _switch_rules(call, params, index) or (
                ["fallback"] if "fallback" in outputs else []
            )
        budget.take(len(targets))  # with allMatching, one item can go to many outputs
        for target in targets:
            if target not in outputs:
                raise NodeError(f"Rule output {target} does not exist")
            outputs[target].append(item)
    return outputs


def _switch_issues(params: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Require rules in rules mode and valid static regexes in them."""
    if params.get("mode") == "expression":
        return [] if "output" in params else [("output", "Required field 'output' is missing")]
    rules = params.get("rules") or []
    if not rules:
        return [("rules", "add at least one rule")]
    issues: list[tuple[str, str]] = []
    for position, rule in enumerate(rules):
        issues.extend((f"rules.{position}.{field}", text) for field, text in regex_issues(rule))
    return issues


OPERATOR = choice("Operator", OPERATORS, "equals")
CONDITION = obj(
    {
        "condition": any_value("Field or expression"),
        "operator": OPERATOR,
        "value": any_value("Value"),
    },
    required=["condition"],
)

IF_CONDITION = NodeType(
    type="if-condition",
    aliases=("if.branch",),
    name="If",
    description="Route items to true or false by a condition",
    category="flow",
    icon="git-branch",
    run=run_if,
    config_schema=obj(
        {
            "condition": any_value("Field or expression"),
            "operator": choice("Operator", OPERATORS),
            "value": any_value("Value"),
        },
        required=["condition", "operator"],
    ),
    outputs=("true", "false"),
    prepare=_prepare_condition,
    check=regex_issues,
)

FILTER = NodeType(
    type="filter",
    aliases=("data-filter",),
    name="Filter",
    description="Keep only the items that match a condition",
    category="data",
    icon="filter",
    run=run_filter,
    config_schema=obj(
        {
            "condition": any_value("Field or expression"),
            "operator": OPERATOR,
            "value": any_value("Value"),
            "conditions": array_of("Conditions", CONDITION),
            "combinator": choice("Combine conditions with", ["and", "or"], "and"),
            "discardedOutput": prop("boolean", "Send dropped items to 'discarded'", default=False),
        }
    ),
    outputs=_filter_outputs,
    prepare=_prepare_condition,
    check=_filter_issues,
)

RULE = obj(
    {
        "operator": OPERATOR,
        "value": any_value("Value"),
        "output": prop("integer", "Output index", minimum=0, maximum=MAX_SWITCH_OUTPUTS - 1),
    }
)

SWITCH = NodeType(
    type="switch",
    name="Switch",
    description="Route items to one of several outputs by rules or an expression",
    category="flow",
    icon="split",
    run=run_switch,
    config_schema=obj(
        {
            "mode": choice("Mode", ["rules", "expression"], "rules"),
            "value": any_value("Value to test (rules mode)"),
            "rules": array_of("Rules", RULE, default=[]),
            "allMatching": prop("boolean", "Send to all matching outputs", default=False),
            "fallbackOutput": choice("When no rule matches", ["none", "extra"], "none"),
            "numberOutputs": prop(
                "integer", "Number of outputs", minimum=1, maximum=MAX_SWITCH_OUTPUTS, default=4
            ),
            "output": any_value("Output index (expression mode)"),
        }
    ),
    outputs=switch_outputs,
    check=_switch_issues,
)

NODE_TYPES = (IF_CONDITION, SWITCH, FILTER)
