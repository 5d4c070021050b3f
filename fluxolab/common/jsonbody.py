"""Refuse deeply nested JSON request bodies with a 400 before any parser recurses into them."""

from __future__ import annotations

from flask import current_app, request

from fluxolab.errors import BadRequest


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


def check_json_depth() -> None:
    """``before_request`` hook: a JSON body nested past ``MAX_JSON_DEPTH`` is a 400."""
    if request.method in {"GET", "HEAD", "OPTIONS", "DELETE"} or not request.is_json:
        return
    limit = int(current_app.config.get("MAX_JSON_DEPTH", 64))
    if nesting_depth_exceeds(request.get_data(cache=True), limit):
        raise BadRequest(f"JSON aninhado demais (limite de {limit} niveis).", code="json_too_deep")
