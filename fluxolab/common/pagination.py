"""The one pagination helper: ``count(*)`` over the statement, then ``offset``/``limit``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, func, select

from fluxolab.extensions import db

T = TypeVar("T")


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
    """Run ``stmt`` for one page; ``stmt`` must carry its own ORDER BY for stable pages."""
    total = db.session.execute(
        select(func.count()).select_from(stmt.order_by(None).subquery())
    ).scalar_one()
    window = stmt.limit(limit).offset(offset)
    result = db.session.execute(window)
    rows = list(result.scalars()) if scalars else list(result.all())
    return Page(items=rows, total=int(total), limit=limit, offset=offset)
