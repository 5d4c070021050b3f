"""The fixed vocabulary of the language: variables, globals, reserved words and refused names."""

from __future__ import annotations

from .errors import ExpressionError

VARIABLES = frozenset(
    {
        "$json", "$input", "$node", "$", "$now", "$today", "$execution", "$workflow", "$vars",
        "$itemIndex", "$jmespath",
    }
)  # fmt: skip
GLOBAL_FUNCTIONS = frozenset(
    {"Number", "String", "Boolean", "parseInt", "parseFloat", "isNaN", "toDateTime"}
)
GLOBAL_NAMESPACES = frozenset({"Math", "JSON", "Object", "Array", "DateTime"})
KEYWORD_LITERALS = {
    "true": True,
    "false": False,
    "null": None,
    "undefined": None,
    "NaN": float("nan"),
    "Infinity": float("inf"),
}
WORD_OPERATORS = {"and": "&&", "or": "||", "not": "!"}
RESERVED = frozenset(
    {
        "this", "globalThis", "window", "global", "process", "require", "module", "exports",
        "import", "export", "eval", "Function", "Reflect", "Proxy", "new", "function", "class",
        "var", "let", "const", "return", "delete", "void", "typeof", "instanceof", "in", "yield",
        "await", "async", "with", "throw", "try", "catch", "finally", "for", "while", "do", "if",
        "else", "switch", "case", "break", "continue", "debugger", "arguments", "constructor",
        "prototype", "super", "lambda",
    }
)  # fmt: skip
REFUSED_MEMBERS = frozenset({"constructor", "prototype"})


def check_member_name(name: str) -> str:
    """Return `name` if `.name` is allowed; raise ExpressionError for '_x', 'constructor'..."""
    if name.startswith("_") or name in REFUSED_MEMBERS:
        raise ExpressionError(f"Access to '{name}' is not allowed")
    return name


def check_index_key(key: str) -> str:
    """Return `key` if `[key]` is allowed; raise ExpressionError for keys starting with '__'."""
    if key.startswith("__"):
        raise ExpressionError(f"Access to '{key}' is not allowed")
    return key
