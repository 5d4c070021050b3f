"""Request-body fields shared by several schemas."""

from __future__ import annotations

from typing import Any

from marshmallow import fields


class Trimmed(fields.String):
    """A string with surrounding whitespace removed before validation and storage.

    Length limits then apply to what is kept: ``"  "`` is empty, not two characters.
    """

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        return super()._deserialize(value, attr, data, **kwargs).strip()
