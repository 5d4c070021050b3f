"""The data an expression can see: the current item, the run's items and a few run facts."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class ExpressionScope:
    """Everything `$`-variables resolve to; `now` is always timezone-aware (naive means UTC)."""

    json: Any
    item_index: int = 0
    input_items: Sequence[Mapping[str, Any]] = ()
    node_outputs: Mapping[str, Sequence[Mapping[str, Any]]] = field(default_factory=dict)
    execution: Mapping[str, Any] = field(default_factory=dict)
    workflow: Mapping[str, Any] = field(default_factory=dict)
    vars: Mapping[str, Any] = field(default_factory=dict)
    now: datetime = field(default_factory=_utc_now)

    def __post_init__(self) -> None:
        if self.now.tzinfo is None:
            self.now = self.now.replace(tzinfo=UTC)
