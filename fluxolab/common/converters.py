"""URL converters whose values always fit the database column they are compared with."""

from __future__ import annotations

import builtins
from typing import Any

from flask import Flask
from werkzeug.routing import IntegerConverter, Map, ValidationError

# A PostgreSQL ``integer`` (and SQLAlchemy's ``Integer``, which every int id column uses).
DB_INT_MAX = 2**31 - 1
DB_INT_MIN = -(2**31)


class BoundedIntConverter(IntegerConverter):
    """``<int:...>`` bounded to the database ``integer`` range: anything larger is a 404.

    Werkzeug's converter accepts any number of digits, so an id like
    ``99999999999999999999`` reached the query and overflowed the column. Explicit
    ``min``/``max`` arguments narrow the range further; they are documented in OpenAPI.
    """

    def __init__(
        self,
        map: Map,
        fixed_digits: int = 0,
        min: int | None = None,
        max: int | None = None,
        signed: bool = False,
    ) -> None:
        low = DB_INT_MIN if signed else 0
        super().__init__(
            map,
            fixed_digits=fixed_digits,
            min=low if min is None else builtins.max(min, low),
            max=DB_INT_MAX if max is None else builtins.min(max, DB_INT_MAX),
            signed=signed,
        )

    def to_python(self, value: str) -> Any:
        """Convert, refusing more digits than the bound has before parsing the number."""
        if len(value.lstrip("-")) > len(str(DB_INT_MAX)):
            raise ValidationError()
        return super().to_python(value)


def install_converters(app: Flask) -> None:
    """Make every ``<int:...>`` route parameter bounded; call before registering blueprints."""
    app.url_map.converters["int"] = BoundedIntConverter
