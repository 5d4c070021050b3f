"""Fixtures for engine tests: no database, a fake clock and a run context on it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from fluxolab.engine import Checkpoint, RunContext

START = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


@dataclass
class FakeClock:
    """A clock that only moves when told to; ``sleep`` records the wait and advances time."""

    moment: datetime = START
    sleeps: list[float] = field(default_factory=list)
    tick_s: float = 0.0  # advance on every read, to simulate slow nodes

    def now(self) -> datetime:
        current = self.moment
        self.moment += timedelta(seconds=self.tick_s)
        return current

    def advance(self, seconds: float) -> None:
        self.moment += timedelta(seconds=seconds)

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.advance(seconds)


@pytest.fixture(autouse=True)
def _isolated_db() -> None:
    """Engine tests are pure: override the suite-wide database fixture with a no-op."""


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def checkpoints() -> list[Checkpoint]:
    return []


@pytest.fixture
def make_ctx(clock: FakeClock, checkpoints: list[Checkpoint]) -> Callable[..., RunContext]:
    """Return a factory of run contexts on the fake clock that record checkpoints."""

    def factory(**overrides: Any) -> RunContext:
        options: dict[str, Any] = {
            "execution_id": "exec-1",
            "workflow": {"id": "wf-1", "name": "Test workflow"},
            "now": clock.now,
            "sleep": clock.sleep,
            "on_checkpoint": checkpoints.append,
        }
        options.update(overrides)
        return RunContext(**options)

    return factory


@pytest.fixture
def ctx(make_ctx: Callable[..., RunContext]) -> RunContext:
    return make_ctx()
