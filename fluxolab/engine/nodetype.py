"""``NodeType``: what the engine, the validator and the catalog know about a kind of node."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any

from jsonschema import Draft202012Validator

from fluxolab.engine.context import Item
from fluxolab.engine.schemas import defaults_of, make_validator

if TYPE_CHECKING:
    from fluxolab.engine.call import NodeCall

CATEGORIES = ("ai", "action", "data", "flow", "core", "human")
LOOP_RETURN = "$return"  # the input on which a loop node receives its body's results

Outputs = dict[str, list[Item]]


@dataclass(frozen=True)
class WaitRequest:
    """Returned by a node that must pause the run (Wait, Approval) until ``until`` or a decision."""

    kind: str  # "wait" | "approval"
    until: datetime | None
    details: Mapping[str, Any] = field(default_factory=dict)


NodeResult = Outputs | WaitRequest
NodeFunction = Callable[["NodeCall"], NodeResult]
Prepare = Callable[[dict[str, Any]], dict[str, Any]]
Check = Callable[[Mapping[str, Any]], list[tuple[str, str]]]
OutputsOf = Callable[[Mapping[str, Any]], tuple[str, ...]]


def no_checks(params: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Report nothing: the default extra check of a node type."""
    return []


def unchanged(params: dict[str, Any]) -> dict[str, Any]:
    """Return params as they are: the default ``prepare`` hook."""
    return params


@dataclass(frozen=True)
class NodeType:
    """A kind of node: identity, catalog metadata, ports, config schema and the function it runs.

    ``prepare`` rewrites legacy spellings before defaults and validation; ``check`` adds rules
    JSON Schema cannot express (returns ``(field, message)`` pairs); ``raw_params`` are never
    rendered as templates (code). ``loop`` marks nodes whose body may connect back into them.
    ``credential_types`` are the credential types the node accepts in ``credentialId`` (empty:
    the node takes no credential); the catalog's validation checks a given one against them.
    """

    type: str
    name: str
    description: str
    category: str
    icon: str
    run: NodeFunction
    config_schema: Mapping[str, Any]
    inputs: tuple[str, ...] = ("0",)
    outputs: tuple[str, ...] | OutputsOf = ("main",)
    aliases: tuple[str, ...] = ()
    is_trigger: bool = False
    side_effects: bool = False
    loop: bool = False
    raw_params: frozenset[str] = frozenset()
    prepare: Prepare = unchanged
    check: Check = no_checks
    credential_types: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        """Refuse a category outside the contract's six."""
        if self.category not in CATEGORIES:
            raise ValueError(f"Node type {self.type!r}: unknown category {self.category!r}")

    @cached_property
    def defaults(self) -> dict[str, Any]:
        """Return the default config, taken from the schema's property defaults."""
        return defaults_of(self.config_schema)

    @cached_property
    def validator(self) -> Draft202012Validator:
        """Return the cached JSON Schema validator of the config."""
        return make_validator(self.config_schema)

    def output_names(self, params: Mapping[str, Any]) -> tuple[str, ...]:
        """Return the output port names for these params (Switch derives them from its rules)."""
        if callable(self.outputs):
            return self.outputs(params)
        return self.outputs
