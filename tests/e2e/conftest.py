"""End-to-end tests boot the whole system as subprocesses: no test database, no rollback."""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def _isolated_db() -> Iterator[None]:
    """Replace the root per-test transaction (it needs PostgreSQL): these tests own their data."""
    yield
