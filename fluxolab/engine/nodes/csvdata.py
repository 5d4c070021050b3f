"""The CSV node: parse CSV text into items, or build CSV text from the items.

``parse`` reads the text in each item's ``field`` (default ``data``) and emits one item per
row: with ``headerRow`` the first row names the fields (empty names become ``columnN``,
repeated ones get ``_2``, ``_3``...), otherwise ``columns`` or ``column1``, ``column2``... do.
A named field a short row lacks is ""; cells past the names become ``columnN``. Cells stay
text; blank lines are skipped. ``build`` writes every input item as a row of one
output item ``{outputField: text}`` (columns: ``columns``, else the fields in first-seen
order; objects and lists as JSON). ``escapeFormulas`` prefixes cells starting with
``= + - @`` (or a tab / carriage return) with ``'`` so spreadsheets show them as text.
Texts are bounded by ``MAX_DOCUMENT_CHARS`` and parsed rows by the step's item limit.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from typing import Any

from fluxolab.engine.budget import ItemBudget
from fluxolab.engine.call import NodeCall
from fluxolab.engine.context import Item
from fluxolab.engine.errors import LimitExceeded, NodeError
from fluxolab.engine.nodes.rendered import MAX_DOCUMENT_CHARS, as_text, bounded_text, checked_params
from fluxolab.engine.nodetype import NodeType, Outputs
from fluxolab.engine.paths import MISSING, get_path, set_path, split_path
from fluxolab.engine.schemas import array_of, choice, obj, prop

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_ESCAPES = {"\\t": "\t", "tab": "\t"}


def _dialect(params: Mapping[str, Any]) -> dict[str, Any]:
    """Return the csv module options: delimiter (``\\t`` or ``tab`` for a tab) and quote."""
    delimiter = str(params["delimiter"])
    delimiter = _ESCAPES.get(delimiter, delimiter)
    quote = str(params["quoteChar"])
    if len(delimiter) != 1 or len(quote) != 1:
        raise NodeError("Fields 'delimiter' and 'quoteChar' must be one character each")
    if delimiter == quote or delimiter in "\r\n" or quote in "\r\n":
        raise NodeError("Field 'delimiter': must differ from the quote and not be a line break")
    return {"delimiter": delimiter, "quotechar": quote}


def _names(row: list[str]) -> list[str]:
    """Return field names from a header row: empty ones numbered, repeated ones suffixed."""
    names: list[str] = []
    seen: dict[str, int] = {}
    for position, cell in enumerate(row, start=1):
        name = cell.strip() or f"column{position}"
        seen[name] = seen.get(name, 0) + 1
        names.append(name if seen[name] == 1 else f"{name}_{seen[name]}")
    return names


def _rows(text: str, dialect: Mapping[str, Any]) -> Iterable[list[str]]:
    """Yield the non-blank rows of ``text``; raises NodeError naming the bad line."""
    reader = csv.reader(io.StringIO(text, newline=""), **dialect)
    try:
        for row in reader:
            if row and any(cell != "" for cell in row):
                yield row
    except csv.Error as exc:
        raise NodeError(f"Invalid CSV at line {reader.line_num}: {exc}") from None


def _parse_item(item: Item, params: Mapping[str, Any], budget: ItemBudget) -> list[Item]:
    """Return the rows of one item's CSV text as items."""
    field = str(params["field"])
    text = get_path(item.get("json") or {}, split_path(field))
    if text is MISSING or text is None:
        raise NodeError(f"Field '{field}' is missing from the item; it must hold the CSV text")
    if not isinstance(text, str):
        raise NodeError(f"Field '{field}' holds {type(text).__name__}, not CSV text")
    rows = iter(_rows(bounded_text("CSV text", text), _dialect(params)))
    names = [str(name) for name in params.get("columns") or ()]
    if params["headerRow"]:
        names = _names(next(rows, []))
    out = []
    for row in rows:
        budget.take()
        extra = [f"column{position}" for position in range(len(names) + 1, len(row) + 1)]
        keys = [*names, *extra]
        out.append({"json": {key: (row[i] if i < len(row) else "") for i, key in enumerate(keys)}})
    return out


def run_parse(call: NodeCall) -> list[Item]:
    """Parse each item's CSV text into row items, within the step's item budget."""
    budget = call.item_budget()
    out: list[Item] = []
    for index, item in enumerate(call.items):
        out.extend(_parse_item(item, checked_params(call, index), budget))
    return out


def _cell(value: Any, escape: bool) -> str:
    """Return one CSV cell: "" for missing/null, JSON for objects, formulas escaped on ask."""
    if value is None or value is MISSING:
        return ""
    text = as_text(value)
    if escape and text.startswith(FORMULA_STARTS):
        return "'" + text
    return text


class _BoundedBuffer(io.StringIO):
    """A text buffer that refuses to grow past ``MAX_DOCUMENT_CHARS`` while it is written."""

    def write(self, text: str) -> int:
        if self.tell() + len(text) > MAX_DOCUMENT_CHARS:
            raise LimitExceeded(f"CSV text would exceed {MAX_DOCUMENT_CHARS} characters")
        return super().write(text)


def build_csv(items: list[Item], params: Mapping[str, Any]) -> str:
    """Return the items as CSV text (bounded while written)."""
    columns = [str(name) for name in params.get("columns") or ()]
    if not columns:
        found: dict[str, None] = {}
        for item in items:
            data = item.get("json")
            found.update(dict.fromkeys(data if isinstance(data, dict) else {}))
        columns = list(found)
    escape = params.get("escapeFormulas") is True
    buffer = _BoundedBuffer()
    writer = csv.writer(buffer, lineterminator="\n", **_dialect(params))
    if params["headerRow"]:
        writer.writerow(_cell(name, escape) for name in columns)
    paths = [split_path(name) for name in columns]
    for item in items:
        data = item.get("json") or {}
        writer.writerow(_cell(get_path(data, keys), escape) for keys in paths)
    return buffer.getvalue()


def run_csv(call: NodeCall) -> Outputs:
    """Parse each item's CSV text, or build one CSV item from all items."""
    params = checked_params(call, 0)
    if params["action"] == "parse":
        return {"main": run_parse(call)}
    output: dict[str, Any] = {}
    keys = split_path(str(params["outputField"]))
    set_path(output, keys, build_csv(call.items, params))
    return {"main": [{"json": output}]}


CSV = NodeType(
    type="csv",
    name="CSV",
    description="Parse CSV text into items, or build CSV text from items",
    category="data",
    icon="table",
    run=run_csv,
    config_schema=obj(
        {
            "action": choice("Action", ["parse", "build"], "parse"),
            "field": prop(
                "string", "Field holding the CSV text (parse)", minLength=1, default="data"
            ),
            "outputField": prop("string", "Output field (build)", minLength=1, default="data"),
            "delimiter": prop("string", "Delimiter (\\t for a tab)", minLength=1, default=","),
            "quoteChar": prop("string", "Quote character", minLength=1, maxLength=1, default='"'),
            "headerRow": prop("boolean", "First row holds the field names", default=True),
            "columns": array_of(
                "Columns (build: order; parse without header: names)", {"type": "string"}
            ),
            "escapeFormulas": prop("boolean", "Escape cells that start a spreadsheet formula"),
        },
        required=["action"],
    ),
)

NODE_TYPES = (CSV,)
