"""What every command shares: errors as one ``Error: ...`` line and a non-zero exit."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click


def _field_lines(errors: dict[str, Any], prefix: str = "") -> Iterator[str]:
    for field, problem in errors.items():
        name = f"{prefix}{field}"
        if isinstance(problem, dict):
            yield from _field_lines(problem, f"{name}.")
        elif isinstance(problem, list | tuple):
            for item in problem:
                if isinstance(item, dict):
                    yield from _field_lines(item, f"{name}.")
                else:
                    yield f"  {name}: {item}"
        else:
            yield f"  {name}: {problem}"


def describe(message: str, errors: dict[str, Any] | None = None) -> str:
    """Return ``message`` followed by one indented line per field error."""
    lines = [message, *_field_lines(errors or {})]
    return "\n".join(line for line in lines if line)


@contextmanager
def clear_errors() -> Iterator[None]:
    """Turn the service layer's errors into ``Error: <message>`` and exit status 1."""
    from marshmallow import ValidationError

    from fluxolab.errors import FluxoError

    try:
        yield
    except FluxoError as exc:
        raise click.ClickException(describe(exc.message, exc.errors)) from exc
    except ValidationError as exc:
        messages = exc.messages if isinstance(exc.messages, dict) else {"input": exc.messages}
        raise click.ClickException(describe("Invalid input:", messages)) from exc
