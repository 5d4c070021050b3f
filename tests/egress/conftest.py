"""Fixtures for the egress guard: no database, real loopback HTTP servers."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fake_http import FakeServer, serving


@pytest.fixture(autouse=True)
def _isolated_db() -> None:
    """The guard is pure: override the suite-wide database fixture with a no-op."""


@pytest.fixture
def server() -> Iterator[FakeServer]:
    """An HTTP server on 127.0.0.1 (opened by the tests' allow-lists)."""
    with serving("127.0.0.1") as running:
        yield running


@pytest.fixture
def internal() -> Iterator[FakeServer]:
    """An HTTP server on 127.0.0.2: the internal service no allow-list of the tests opens."""
    with serving("127.0.0.2") as running:
        yield running
