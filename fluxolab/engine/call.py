"""``NodeCall``: what a node function receives (inputs, rendered params, run services)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from fluxolab.egress import Egress
from fluxolab.engine.budget import ItemBudget
from fluxolab.engine.context import Item, RunContext
from fluxolab.engine.credentials import Credential
from fluxolab.engine.errors import NodeError
from fluxolab.engine.expressions import ExpressionError, ExpressionScope, evaluate, render
from fluxolab.engine.redaction import redact

if TYPE_CHECKING:
    from fluxolab.engine.spec import CompiledNode

_EMPTY: dict[str, Any] = {}
_DEFAULT_EGRESS = Egress()


@dataclass
class RunEnv:
    """State shared by every node call of one run: context, node outputs, the response."""

    ctx: RunContext
    node_outputs: dict[str, list[Item]] = field(default_factory=dict)  # by node name, then id
    node_states: dict[str, dict[str, Any]] = field(default_factory=dict)  # loop bookkeeping
    response: dict[str, Any] | None = None
    secrets: set[str] = field(default_factory=set)  # credential values to redact from steps
    credential_ids: set[str] = field(default_factory=set)  # kept in a checkpoint, not values
    execution: dict[str, Any] = field(default_factory=dict)
    workflow: dict[str, Any] = field(default_factory=dict)

    def remember(self, credential: Credential) -> None:
        """Mask ``credential``'s secret values in what the run stores, from now on."""
        self.credential_ids.add(credential.id)
        self.secrets.update(value for value in credential.secret_values if len(value) >= 6)

    def __post_init__(self) -> None:
        """Derive the ``$execution`` and ``$workflow`` values from the context."""
        ctx = self.ctx
        self.execution = {"id": ctx.execution_id, "mode": ctx.mode}
        self.workflow = {"id": ctx.workflow.get("id"), "name": ctx.workflow.get("name")}


@dataclass(frozen=True)
class ResumeInfo:
    """Passed to a waiting node when its run resumes; ``payload`` is the approval decision."""

    payload: Mapping[str, Any] | None


class NodeCall:
    """One invocation of a node function; params are rendered lazily, per item, on demand."""

    def __init__(
        self,
        node: CompiledNode,
        inputs: Mapping[str, list[Item]],
        env: RunEnv,
        now: datetime,
        resume: ResumeInfo | None = None,
        deadline_s: float | None = None,
    ) -> None:
        self.node = node
        self.inputs = inputs
        self.items: list[Item] = inputs.get("0") or []
        self.env = env
        self.ctx = env.ctx
        self.now = now
        self.resume = resume
        self.deadline_s = deadline_s  # seconds left for this call, when bounded
        self.logs: list[str] = []
        self._rendered: tuple[int, Mapping[str, Any]] | None = None

    @property
    def node_state(self) -> dict[str, Any]:
        """Return this node's persistent bookkeeping dict (kept across runs and resumes)."""
        return self.env.node_states.setdefault(self.node.id, {})

    def item_budget(self) -> ItemBudget:
        """Return a fresh budget of the run's per-step item limit, for nodes that build items."""
        return ItemBudget(self.ctx.limits.max_items_per_step)

    def raw(self, key: str, default: Any = None) -> Any:
        """Return a param as written in the definition (after defaults), unrendered."""
        return self.node.params.get(key, default)

    def scope(self, index: int = 0) -> ExpressionScope:
        """Return the expression scope of input item ``index`` (``$json`` is {} past the end)."""
        items = self.items
        item = items[index] if index < len(items) else None
        env = self.env
        return ExpressionScope(
            json=item.get("json", _EMPTY) if item else _EMPTY,
            item_index=index,
            input_items=items,
            node_outputs=env.node_outputs,
            execution=env.execution,
            workflow=env.workflow,
            vars=self.ctx.vars,
            now=self.now,
        )

    def params(self, index: int = 0) -> Mapping[str, Any]:
        """Return the params rendered for item ``index``; raises NodeError on expression errors."""
        node = self.node
        if not node.dynamic_keys:
            return node.params
        cached = self._rendered
        if cached is not None and cached[0] == index:
            return cached[1]
        rendered = dict(node.params)
        scope = self.scope(index)
        limits = self.ctx.limits.expressions
        for key in node.dynamic_keys:
            try:
                rendered[key] = render(rendered[key], scope, limits)
            except ExpressionError as exc:
                raise NodeError(f"Expression in field '{key}': {exc}", "ExpressionError") from exc
        self._rendered = (index, rendered)
        return rendered

    def evaluate(self, source: str, index: int = 0) -> Any:
        """Evaluate a bare expression (``$json.a.b``) for item ``index``; raises NodeError."""
        try:
            return evaluate(source, self.scope(index))
        except ExpressionError as exc:
            raise NodeError(f"Expression '{source}': {exc}", "ExpressionError") from exc

    @property
    def egress(self) -> Egress:
        """Return the run's egress guard (``ctx.services["egress"]``), else a default one.

        The default opens nothing beyond the public internet: no node ever connects unguarded.
        """
        egress = self.ctx.services.get("egress")
        return egress if isinstance(egress, Egress) else _DEFAULT_EGRESS

    def credential(self, credential_id: Any, types: tuple[str, ...]) -> Credential:
        """Return the workspace credential ``credential_id`` of one of ``types``; raises NodeError.

        Its secret values are remembered so the step's output, error and logs are redacted.
        """
        name = self.node.name
        if credential_id in (None, ""):
            raise NodeError(f"Node '{name}': no credential selected", "CredentialError")
        resolver = self.ctx.services.get("credentials")
        found = resolver.get(str(credential_id)) if resolver is not None else None
        if found is None:
            raise NodeError(
                f"Node '{name}': credential {credential_id} was not found", "CredentialError"
            )
        if found.type not in types:
            wanted = ", ".join(types)
            raise NodeError(
                f"Node '{name}': credential '{found.name}' is of type {found.type}, "
                f"expected {wanted}",
                "CredentialError",
            )
        self.env.remember(found)
        return found

    def respond(self, response: dict[str, Any]) -> bool:
        """Record the webhook response unless one was already recorded; True when recorded."""
        if self.env.response is not None:
            return False
        self.env.response = response
        if self.ctx.on_response is not None:
            self.ctx.on_response(redact(response, self.env.secrets))
        return True
