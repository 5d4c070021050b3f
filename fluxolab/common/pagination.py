"""The one pagination helper: ``count(*)`` over the statement, then ``offset``/``limit``.

The window is bounded (``MAX_LIMIT`` rows from at most ``MAX_OFFSET``): ``PageArgs``
answers a 422 naming the field beyond these, and ``paginate`` refuses them too, so no
caller can send the database an offset it cannot represent.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, func, select

from fluxolab.errors import ValidationFailed
from fluxolab.extensions import db

T = TypeVar("T")

MAX_LIMIT = 200
MAX_OFFSET = 1_000_000_000
MAX_PAGE = 100_000


@dataclass
class Page(Generic[T]):
    """One page of rows plus the total row count and the window that produced it."""

    items: list[T]
    total: int
    limit: int
    offset: int

    def body(self, name: str, items: list[Any]) -> dict[str, Any]:
        """Return the flat response body ``{status, <name>: items, total, limit, offset}``."""
        return {
            "status": "ok",
            name: items,
            "total": self.total,
            "limit": self.limit,
            "offset": self.offset,
        }


def paginate(
    stmt: Select[*tuple[Any, ...]], limit: int, offset: int, *, scalars: bool = True
) -> Page[Any]:
    """Run ``stmt`` for one page; ``stmt`` must carry its own ORDER BY for stable pages.

    Raises ``ValidationFailed`` for a window outside ``1..MAX_LIMIT`` / ``0..MAX_OFFSET``.
    """
    check_window(limit, offset)
    total = db.session.execute(
        select(func.count()).select_from(stmt.order_by(None).subquery())
    ).scalar_one()
    window = stmt.limit(limit).offset(offset)
    result = db.session.execute(window)
    rows = list(result.scalars()) if scalars else list(result.all())
    return Page(items=rows, total=int(total), limit=limit, offset=offset)


def check_window(limit: int, offset: int) -> None:
    """Refuse a page window outside the documented bounds (422 naming the field)."""
    errors: dict[str, list[str]] = {}
    for name, value, low, high in (
        ("limit", limit, 1, MAX_LIMIT),
        ("offset", offset, 0, MAX_OFFSET),
    ):
        if not low <= value <= high:
            errors[name] = [
                f"Must be greater than or equal to {low} and less than or equal to {high}."
            ]
    if errors:
        raise ValidationFailed("Janela de paginacao invalida.", errors=errors)
