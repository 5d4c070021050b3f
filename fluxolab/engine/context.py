"""What the caller hands the engine: limits, the run context, a resume request, a checkpoint."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from fluxolab.engine.expressions import ExpressionLimits
from fluxolab.engine.sandbox import SandboxLimits

if TYPE_CHECKING:
    from fluxolab.engine.records import StepRecord

Item = dict[str, Any]  # {"json": {...}, "binary"?: {...}}; never mutated once emitted


def utc_now() -> datetime:
    """Return the current time as an aware UTC datetime (the default clock)."""
    return datetime.now(UTC)


def never_cancel() -> bool:
    """Return False: the default ``should_cancel`` never cancels."""
    return False


@dataclass(frozen=True)
class Limits:
    """Per-run guards; every one of them ends a run cleanly instead of exhausting the worker."""

    run_timeout_s: float = 300.0
    max_items_per_step: int = 10_000
    max_step_bytes: int = 256 * 1024  # stored input/output per step (JSON bytes), then truncated
    max_node_runs: int = 10_000  # guard against runaway loops
    code: SandboxLimits = field(default_factory=SandboxLimits)
    expressions: ExpressionLimits = field(default_factory=ExpressionLimits)


@dataclass(frozen=True)
class Checkpoint:
    """A resumable snapshot plus the steps completed since the previous checkpoint."""

    state: dict[str, Any]
    steps: list[StepRecord]


@dataclass(frozen=True)
class Resume:
    """Continue a run from ``state``; ``payload`` is the decision for a waiting approval node."""

    state: Mapping[str, Any]
    payload: Mapping[str, Any] | None = None


@dataclass
class RunContext:
    """Everything a run needs from its caller: identity, limits and injectable side channels."""

    execution_id: str
    workflow: Mapping[str, Any]  # {"id", "name"}
    mode: str = "manual"  # manual | webhook | schedule | retry | form ...
    vars: Mapping[str, Any] = field(default_factory=dict)
    limits: Limits = field(default_factory=Limits)
    trigger_node_id: str | None = None  # which node starts the run (default: the first trigger)
    now: Callable[[], datetime] = utc_now
    sleep: Callable[[float], None] = time.sleep
    should_cancel: Callable[[], bool] = never_cancel
    on_checkpoint: Callable[[Checkpoint], None] | None = None
    # told the moment a Respond to Webhook node records the answer (secrets redacted)
    on_response: Callable[[dict[str, Any]], None] | None = None
    services: Mapping[str, Any] = field(default_factory=dict)
    # Exceptions that must escape ``run`` untouched (e.g. the worker's soft time limit)
    fatal: tuple[type[BaseException], ...] = ()
