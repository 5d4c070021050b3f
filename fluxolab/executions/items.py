"""Normalise run input (a body of items or plain JSON) into engine items."""

from __future__ import annotations

from typing import Any

from fluxolab.errors import ValidationFailed

MAX_INPUT_ITEMS = 1000


def to_items(body: Any) -> list[dict[str, Any]]:
    """Turn a request body into ``[{"json": {...}}]`` items.

    Accepts nothing (one empty item), an object (one item), a list of objects, or a list of
    ``{"json": ...}`` items. Raises ``ValidationFailed`` for scalars or too many items.
    """
    if body is None or body == {} or body == []:
        return [{"json": {}}]
    if isinstance(body, dict):
        return [_item(body)]
    if isinstance(body, list):
        if len(body) > MAX_INPUT_ITEMS:
            raise ValidationFailed(
                f"No maximo {MAX_INPUT_ITEMS} itens de entrada.",
                errors={"_body": [f"At most {MAX_INPUT_ITEMS} items."]},
            )
        if not all(isinstance(entry, dict) for entry in body):
            raise ValidationFailed(
                "Cada item de entrada deve ser um objeto JSON.",
                errors={"_body": ["Every item must be a JSON object."]},
            )
        return [_item(entry) for entry in body]
    raise ValidationFailed(
        "A entrada deve ser um objeto JSON ou uma lista de objetos.",
        errors={"_body": ["Must be an object or a list of objects."]},
    )


def _item(entry: dict[str, Any]) -> dict[str, Any]:
    if set(entry) <= {"json", "binary"} and isinstance(entry.get("json"), dict):
        return entry
    return {"json": entry}
