"""Refuse JSON request bodies no parser or database should see, with a 400 before any view."""

from __future__ import annotations

import json

from flask import current_app, request

from fluxolab.errors import BadRequest

_NUL_ESCAPE = b"\\u0000"
_NON_JSON_CONSTANTS = (b"NaN", b"Infinity")


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


def _has_non_json_constant(data: bytes) -> bool:
    """Parse once to tell a real NaN/Infinity token from the same letters inside a string."""
    found = False

    def reject(_constant: str) -> float:
        nonlocal found
        found = True
        return 0.0

    try:
        json.loads(data, parse_constant=reject)
    except (ValueError, RecursionError):
        return False  # malformed JSON: the parser reports it as such
    return found


def check_json_body() -> None:
    """``before_request`` hook: refuse bodies that are too deep, hold NaN/Infinity or NUL (400).

    Depth is bounded by ``MAX_JSON_DEPTH``; NaN/Infinity are not JSON though Python's parser
    accepts them; PostgreSQL text cannot store the NUL character.
    """
    if request.method in {"GET", "HEAD", "OPTIONS", "DELETE"} or not request.is_json:
        return
    data = request.get_data(cache=True)
    limit = int(current_app.config.get("MAX_JSON_DEPTH", 64))
    if nesting_depth_exceeds(data, limit):
        raise BadRequest(f"JSON aninhado demais (limite de {limit} niveis).", code="json_too_deep")
    if _NUL_ESCAPE in data or b"\x00" in data:
        raise BadRequest("O JSON contem o caractere nulo (\\u0000).", code="json_nul_character")
    if any(word in data for word in _NON_JSON_CONSTANTS) and _has_non_json_constant(data):
        raise BadRequest("NaN e Infinity nao sao JSON valido.", code="json_invalid_number")
