"""Refuse request bodies no view, parser or database should see, before any view runs.

One ``before_request`` hook for every route:

- an operation with a JSON body schema answers 415 for a body of another content type
  and 400 for an empty body it requires;
- a JSON body is refused with a 400 when it nests too deep, holds NUL, NaN/Infinity or a
  number Python cannot convert back to text (more than 4300 digits, or a float that
  overflows), or a string or key with a lone UTF-16 surrogate (``"\\ud800"``), which is not
  Unicode text and cannot be encoded as UTF-8 for the database.

The byte-level pre-checks keep ordinary bodies on a fast path: the body is parsed here
only when it could hold one of these values.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from typing import Any

from flask import current_app, request

from fluxolab.errors import BadRequest, UnsupportedMediaType

# Python refuses int <-> str conversions past this many digits (sys.int_info default).
MAX_INTEGER_DIGITS = 4300

_NUL_ESCAPE = b"\\u0000"
_NON_JSON_CONSTANTS = (b"NaN", b"Infinity")
_BIG_NUMBER = re.compile(rb"\d{300}|[eE][+-]?\d{3}")
_SURROGATE = re.compile(rb"\\u[dD][89a-fA-F]|\xed[\xa0-\xbf]")
_BODYLESS_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "DELETE"})


class _Refused(Exception):
    """Raised from inside the JSON parser's hooks to stop at the first refused value."""

    def __init__(self, error: BadRequest) -> None:
        super().__init__(error.message)
        self.error = error


def nesting_depth_exceeds(data: bytes, limit: int) -> bool:
    """Tell whether brackets outside strings nest deeper than ``limit``.

    Cheap for ordinary bodies: when there are at most ``limit`` opening brackets the
    depth cannot exceed it and the byte scan is skipped.
    """
    if data.count(b"[") + data.count(b"{") <= limit:
        return False
    depth = 0
    in_string = escaped = False
    for byte in data:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:
                escaped = True
            elif byte == 0x22:
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):
            depth += 1
            if depth > limit:
                return True
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return False


def _parse_int(text: str) -> int:
    if len(text) - text.startswith("-") > MAX_INTEGER_DIGITS:
        raise _Refused(
            BadRequest(
                f"Numero inteiro grande demais no JSON (limite de {MAX_INTEGER_DIGITS} digitos).",
                code="json_number_too_large",
            )
        )
    return int(text)


def _parse_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _Refused(
            BadRequest("Numero fora do intervalo de um double no JSON.", code="json_invalid_number")
        )
    return value


def _reject_constant(_constant: str) -> float:
    raise _Refused(BadRequest("NaN e Infinity nao sao JSON valido.", code="json_invalid_number"))


def is_text(value: str) -> bool:
    """Tell whether ``value`` is Unicode text (encodable as UTF-8: no lone surrogate)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _any_string(value: Any, test: Callable[[str], bool]) -> bool:
    """Tell whether ``test`` holds for any string or object key in a parsed JSON value."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if test(item):
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def holds_lone_surrogate(value: Any) -> bool:
    """Tell whether any string or object key in a parsed JSON value is not valid Unicode."""
    return _any_string(value, lambda text: not is_text(text))


def _holds_nul(value: Any) -> bool:
    return _any_string(value, lambda text: "\x00" in text)


def refused_value(data: bytes) -> BadRequest | None:
    """Parse ``data`` once and return the error for the first value the API refuses, if any.

    Malformed JSON is not reported here: the body parser answers it as such.
    """
    try:
        value = json.loads(
            data, parse_int=_parse_int, parse_float=_parse_float, parse_constant=_reject_constant
        )
    except _Refused as refusal:
        return refusal.error
    except (ValueError, RecursionError):
        return None
    if _NUL_ESCAPE in data and _holds_nul(value):  # not a NUL: an escaped backslash before u0000
        return BadRequest("O JSON contem o caractere nulo (\\u0000).", code="json_nul_character")
    if _SURROGATE.search(data) and holds_lone_surrogate(value):
        return BadRequest(
            "O JSON contem um caractere substituto isolado (por exemplo \\ud800), "
            "que nao e texto Unicode valido.",
            code="json_lone_surrogate",
        )
    return None


def _needs_parse(data: bytes) -> bool:
    return bool(
        _BIG_NUMBER.search(data)
        or _SURROGATE.search(data)
        or _NUL_ESCAPE in data
        or any(word in data for word in _NON_JSON_CONSTANTS)
    )


def json_body_of(view: Callable[..., Any] | None, method: str) -> bool | None:
    """Return whether the view's operation requires its JSON body, or None when it has none.

    Reads what flask-smorest keeps on the handler: ``@blp.arguments`` declarations, or a
    request body documented by hand with ``@blp.doc(requestBody=...)``.
    """
    view_class = getattr(view, "view_class", None)
    handler = getattr(view_class, method.lower(), None) if view_class else view
    apidoc = getattr(handler, "_apidoc", None) or {}
    for parameter in apidoc.get("arguments", {}).get("parameters", []):
        if parameter.get("in") == "json":
            return bool(parameter.get("required", True))
    documented = apidoc.get("manual_doc", {}).get("requestBody", {})
    if "application/json" in documented.get("content", {}):
        return bool(documented.get("required", False))
    return None


def _check_content_type(data: bytes) -> None:
    rule = request.url_rule
    view = current_app.view_functions.get(rule.endpoint) if rule else None
    required = json_body_of(view, request.method)
    if required is None:
        return
    if not data:
        if required:
            raise BadRequest("Esta operacao exige um corpo JSON.", code="json_body_required")
    elif not request.is_json:
        raise UnsupportedMediaType(
            "Envie o corpo como application/json.", code="unsupported_media_type"
        )


def takes_raw_body(view: Callable[..., Any]) -> Callable[..., Any]:
    """Mark a view that reads and checks its body itself (public webhooks: any content)."""
    view.takes_raw_body = True  # type: ignore[attr-defined]
    return view


def _takes_raw_body() -> bool:
    rule = request.url_rule
    view = current_app.view_functions.get(rule.endpoint) if rule else None
    return bool(getattr(view, "takes_raw_body", False))


def check_json_body() -> None:
    """``before_request`` hook: answer 415/400 for a body the operation cannot read (see above).

    Depth is bounded by ``MAX_JSON_DEPTH``; NaN/Infinity are not JSON though Python's parser
    accepts them; PostgreSQL text cannot store the NUL character.
    """
    if request.method in _BODYLESS_METHODS or _takes_raw_body():
        return
    data = request.get_data(cache=True)
    _check_content_type(data)
    if not request.is_json or not data:
        return
    limit = int(current_app.config.get("MAX_JSON_DEPTH", 64))
    if nesting_depth_exceeds(data, limit):
        raise BadRequest(f"JSON aninhado demais (limite de {limit} niveis).", code="json_too_deep")
    if b"\x00" in data:
        raise BadRequest("O JSON contem o caractere nulo (\\u0000).", code="json_nul_character")
    if _needs_parse(data) and (error := refused_value(data)) is not None:
        raise error
