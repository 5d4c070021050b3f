"""The Date & Time node."""

from __future__ import annotations

from typing import Any

import pytest

from fluxolab.engine import RunContext, run_node
from tests.engine.helpers import items, jsons, node


def date_time(ctx: RunContext, payload: dict[str, Any], **params: Any) -> dict[str, Any]:
    step = run_node(node("d", "date-time", **params), items(payload), ctx)
    assert step.status == "succeeded", step.error
    return jsons(step.output["main"])[0]


def test_now_uses_the_run_clock_in_the_timezone(ctx: RunContext) -> None:
    found = date_time(ctx, {}, operation="now", timezone="America/Sao_Paulo")
    assert found == {"now": "2026-01-05T09:00:00-03:00"}


@pytest.mark.parametrize(
    ("operation", "amount", "unit", "expected"),
    [
        ("add", 2, "days", "2026-03-03T10:00:00+00:00"),
        ("add", 1, "months", "2026-02-28T10:00:00+00:00"),
        ("subtract", 90, "minutes", "2026-03-01T08:30:00+00:00"),
        ("subtract", 1, "years", "2025-03-01T10:00:00+00:00"),
    ],
)
def test_add_and_subtract(
    ctx: RunContext, operation: str, amount: int, unit: str, expected: str
) -> None:
    source = "2026-01-31T10:00:00Z" if unit == "months" else "2026-03-01T10:00:00Z"
    found = date_time(
        ctx, {"at": source}, operation=operation, field="at", amount=amount, unit=unit
    )
    assert found["date"] == expected


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("%d/%m/%Y %H:%M", "01/03/2026 07:00"),
        ("unix", 1772359200),
        ("iso", "2026-03-01T07:00:00-03:00"),
    ],
    ids=["strftime", "unix", "iso"],
)
def test_format_in_a_timezone(ctx: RunContext, pattern: str, expected: Any) -> None:
    found = date_time(
        ctx,
        {"at": "2026-03-01T10:00:00Z"},
        operation="format",
        field="at",
        format=pattern,
        timezone="America/Sao_Paulo",
        outputField="shown",
    )
    assert found["shown"] == expected


def test_parse_accepts_epoch_milliseconds(ctx: RunContext) -> None:
    found = date_time(ctx, {"ms": 1772359200000}, operation="parse", field="ms")
    assert found["date"] == "2026-03-01T10:00:00+00:00"


def test_diff_counts_units_until_the_end_date(ctx: RunContext) -> None:
    found = date_time(
        ctx, {}, operation="diff", value="2026-01-01T00:00:00Z", endValue="2026-01-03T12:00:00Z"
    )
    assert found["diff"] == 2.5


def test_unparseable_date_fails_the_node(ctx: RunContext) -> None:
    step = run_node(node("d", "date-time", operation="parse", value="soon"), [], ctx)
    assert step.status == "failed"
    assert step.error is not None
    assert step.error["message"] == "Field 'value': 'soon' is not a date"
