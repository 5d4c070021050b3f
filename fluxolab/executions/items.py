"""Validate run input at the API boundary; the engine's ``normalize_items`` shapes it."""

from __future__ import annotations

from typing import Any

from fluxolab.engine.runner import normalize_items
from fluxolab.errors import ValidationFailed

MAX_INPUT_ITEMS = 1000


def to_items(body: Any) -> list[dict[str, Any]]:
    """Turn a request body into ``[{"json": {...}}]`` items.

    Accepts nothing (one empty item), an object (one item), a list of objects, or a list of
    ``{"json": ...}`` items. Raises ``ValidationFailed`` for scalars or too many items.
    """
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
    elif body is not None and not isinstance(body, dict):
        raise ValidationFailed(
            "A entrada deve ser um objeto JSON ou uma lista de objetos.",
            errors={"_body": ["Must be an object or a list of objects."]},
        )
    return normalize_items(body)
