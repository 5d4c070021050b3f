"""Turns expression source text into tokens: numbers, strings, names and punctuation."""

from __future__ import annotations

import re
from typing import NamedTuple

from .errors import ExpressionError
from .values import js_number

_TOKEN = re.compile(
    r"(?P<space>\s+)"
    r"|(?P<num>0[xX][0-9a-fA-F]+|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)"
    r"|(?P<name>[A-Za-z_$][A-Za-z0-9_$]*)"
    r"|(?P<op>===|!==|\*\*|=>|\?\.(?!\d)|\?\?|==|!=|<=|>=|&&|\|\||[-+*/%!<>()\[\]{},:?.=])"
)
_REFUSED = {
    "**": "The '**' operator is not supported",
    "=>": "Arrow functions are not supported",
    "=": "Assignment is not supported",
}
_CHARACTER_HINTS = {
    "`": "Template literals (`...`) are not supported",
    ";": "Statements are not supported (unexpected ';')",
}
_ESCAPES = {
    "n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f", "v": "\v", "0": "\0",
}  # fmt: skip


class Token(NamedTuple):
    """One lexical token: kind is 'num', 'str', 'name', 'op' or 'eof'."""

    kind: str
    value: object
    pos: int


def tokenize(source: str) -> list[Token]:
    """Split `source` into tokens; raise ExpressionError on characters the language lacks."""
    tokens: list[Token] = []
    pos = 0
    while pos < len(source):
        if source[pos] in "'\"":
            text, end = read_string(source, pos)
            tokens.append(Token("str", text, pos))
            pos = end
            continue
        match = _TOKEN.match(source, pos)
        if match is None:
            char = source[pos]
            hint = _CHARACTER_HINTS.get(char, f"Unexpected character {char!r}")
            raise ExpressionError(f"{hint} at position {pos}")
        kind = match.lastgroup
        if kind == "num":
            tokens.append(_number(source, match))
        elif kind == "name":
            tokens.append(Token("name", match.group(), pos))
        elif kind == "op":
            op = match.group()
            if op in _REFUSED:
                raise ExpressionError(f"{_REFUSED[op]} (position {pos})")
            tokens.append(Token("op", op, pos))
        pos = match.end()
    tokens.append(Token("eof", None, len(source)))
    return tokens


def _number(source: str, match: re.Match[str]) -> Token:
    text, pos, end = match.group(), match.start(), match.end()
    if end < len(source) and (source[end].isalnum() or source[end] in "_$"):
        raise ExpressionError(f"Invalid number at position {pos}")
    if text[:2] in ("0x", "0X"):
        if len(text) > 18:
            raise ExpressionError(f"Number at position {pos} is too large")
        value: int | float = js_number(int(text, 16))
    elif len(text) <= 15 and text.isdigit():
        value = int(text)
    else:
        value = js_number(float(text))
    return Token("num", value, pos)


def read_string(source: str, pos: int) -> tuple[str, int]:
    """Read the quoted string starting at `pos`; return its value and the index after the quote."""
    quote = source[pos]
    parts: list[str] = []
    index = pos + 1
    while index < len(source):
        char = source[index]
        if char == quote:
            return "".join(parts), index + 1
        if char == "\\":
            text, index = _read_escape(source, index + 1)
            parts.append(text)
            continue
        parts.append(char)
        index += 1
    raise ExpressionError(f"Unterminated string starting at position {pos}")


def _read_escape(source: str, index: int) -> tuple[str, int]:
    if index >= len(source):
        raise ExpressionError("Unterminated string (ends with a backslash)")
    char = source[index]
    if char in _ESCAPES:
        return _ESCAPES[char], index + 1
    if char == "x":
        return _code_point(source, index + 1, 2), index + 3
    if char == "u":
        if source.startswith("{", index + 1):
            end = source.find("}", index + 2)
            if end < 0 or end - index > 9:
                raise ExpressionError(f"Invalid \\u{{...}} escape at position {index - 1}")
            return _code_point(source, index + 2, end - index - 2), end + 1
        return _utf16_escape(source, index)
    if char == "\n":
        return "", index + 1
    return char, index + 1


def _utf16_escape(source: str, index: int) -> tuple[str, int]:
    """Decode `\\uXXXX` (index at the 'u'), joining a surrogate pair into one character."""
    unit = ord(_code_point(source, index + 1, 4))
    end = index + 5
    if 0xDC00 <= unit <= 0xDFFF:
        raise ExpressionError(f"Lone surrogate escape at position {index - 1}")
    if 0xD800 <= unit <= 0xDBFF:
        if not source.startswith("\\u", end):
            raise ExpressionError(f"Lone surrogate escape at position {index - 1}")
        low = ord(_code_point(source, end + 2, 4))
        if not 0xDC00 <= low <= 0xDFFF:
            raise ExpressionError(f"Lone surrogate escape at position {index - 1}")
        return chr(0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00)), end + 6
    return chr(unit), end


def _code_point(source: str, start: int, count: int) -> str:
    digits = source[start : start + count]
    if len(digits) != count or not all(c in "0123456789abcdefABCDEF" for c in digits):
        raise ExpressionError(f"Invalid escape sequence at position {start - 2}")
    value = int(digits, 16)
    if value > 0x10FFFF or (count != 4 and 0xD800 <= value <= 0xDFFF):
        raise ExpressionError(f"Invalid code point at position {start - 2}")
    return chr(value)
