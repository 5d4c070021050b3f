"""``ItemBudget``: stops a node that builds more items than the per-step limit, while it builds.

The executor checks the item count of every step once the node returns; a node that multiplies
items (a join on a common key, a list split into items, a loop collecting its body's results)
would by then have built them all, a million items for a 1000 x 1000 join. Such nodes take
their items from a budget sized by the run's ``max_items_per_step`` before building them, so
they stop at the first item past the limit with the same step error.
"""

from __future__ import annotations

from collections.abc import Iterable

from fluxolab.engine.context import Item
from fluxolab.engine.errors import LimitExceeded


class ItemBudget:
    """Counts the items one node call builds; raises LimitExceeded past ``limit``."""

    __slots__ = ("limit", "used")

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0

    def take(self, count: int = 1) -> None:
        """Reserve ``count`` more items; raise LimitExceeded when the total passes the limit."""
        self.used += count
        if self.used > self.limit:
            raise LimitExceeded(
                f"Node produced more than {self.limit} items; the limit is {self.limit} per step"
            )

    def extend(self, items: list[Item], more: Iterable[Item]) -> None:
        """Append ``more`` to ``items`` one by one, each taken from the budget first."""
        for item in more:
            self.take()
            items.append(item)
