"""Regular expressions from workflows, matched by RE2 in linear time with bounded sizes.

Every pattern a workflow supplies is compiled here. Python's ``re`` backtracks: ``^(a+)+$``
on 33 characters runs for minutes inside one C call that no signal interrupts. RE2 matches in
time linear in the text, so a match is bounded by ``MAX_SUBJECT_CHARS``; patterns are bounded
by ``MAX_PATTERN_CHARS`` and their compiled program by ``MAX_PROGRAM_BYTES``. RE2 has no
backreferences and no lookaround; patterns using them are refused with a message saying so.
Unlike Python's ``re``, ``\\d``, ``\\w`` and ``\\b`` are ASCII-only (``\\pL``, ``\\p{Nd}`` match
any script) and ``$`` does not match before a final newline.
"""

from __future__ import annotations

from functools import lru_cache

import re2

MAX_PATTERN_CHARS = 2_000
MAX_SUBJECT_CHARS = 1_000_000
MAX_PROGRAM_BYTES = 8 * 1024 * 1024
CACHE_SIZE = 256
SHOWN_CHARS = 80  # how much of a pattern an error message quotes

# What RE2 reports for syntax it deliberately lacks, and how a user would call it.
_UNSUPPORTED = (
    ("invalid perl operator: (?=", "lookahead (?=...)"),
    ("invalid perl operator: (?!", "negative lookahead (?!...)"),
    ("invalid perl operator: (?<=", "lookbehind (?<=...)"),
    ("invalid perl operator: (?<!", "negative lookbehind (?<!...)"),
    ("invalid perl operator: (?P", "named backreferences (?P=name)"),
    ("invalid perl operator: (?>", "atomic groups (?>...)"),
    ("invalid perl operator: (?(", "conditional groups (?(...)...)"),
)
_BACKREFERENCE = "invalid escape sequence: \\"


class RegexError(ValueError):
    """A pattern or a text that cannot be matched; the message is complete and user-facing."""


def _options() -> re2.Options:
    """Return the RE2 options: bounded program memory, errors raised rather than logged."""
    options = re2.Options()
    options.max_mem = MAX_PROGRAM_BYTES
    options.log_errors = False
    return options


_OPTIONS = _options()


def _shown(pattern: str) -> str:
    """Return the pattern quoted for a message, cut to ``SHOWN_CHARS``."""
    if len(pattern) <= SHOWN_CHARS:
        return repr(pattern)
    return repr(pattern[:SHOWN_CHARS]) + "..."


def _reason(pattern: str, error: Exception) -> str:
    """Return the user-facing message for a pattern RE2 refused."""
    detail = error.args[0] if error.args else str(error)
    text = detail.decode(errors="replace") if isinstance(detail, bytes) else str(detail)
    shown = _shown(pattern)
    if text.startswith("pattern too large"):
        megabytes = MAX_PROGRAM_BYTES // (1024 * 1024)
        return f"Regular expression {shown} is too large once compiled (over {megabytes} MiB)"
    construct = next((name for prefix, name in _UNSUPPORTED if text.startswith(prefix)), None)
    if text.startswith(_BACKREFERENCE) and text[len(_BACKREFERENCE) :][:1].isdigit():
        construct = "backreferences (\\1 ... \\9)"
    if construct is None:
        return f"Invalid regular expression {shown}: {text}"
    return (
        f"Regular expression {shown} is not supported: it uses {construct}. "
        "Patterns are matched in linear time, without lookaround or backreferences"
    )


@lru_cache(maxsize=CACHE_SIZE)
def compile_pattern(pattern: str) -> re2._Regexp[str]:
    """Compile a workflow's pattern once; raises RegexError when it is too long or invalid."""
    if len(pattern) > MAX_PATTERN_CHARS:
        raise RegexError(
            f"Regular expression is {len(pattern)} characters long; "
            f"the limit is {MAX_PATTERN_CHARS}"
        )
    try:
        return re2.compile(pattern, _OPTIONS)
    except re2.error as exc:
        raise RegexError(_reason(pattern, exc)) from exc


def search(pattern: str, text: str) -> bool:
    """Return whether ``pattern`` matches anywhere in ``text``; raises RegexError past a bound."""
    compiled = compile_pattern(pattern)
    if len(text) > MAX_SUBJECT_CHARS:
        raise RegexError(
            f"Text to match is {len(text)} characters long; "
            f"the limit for regular expressions is {MAX_SUBJECT_CHARS}"
        )
    return compiled.search(text) is not None


def pattern_problem(pattern: str) -> str | None:
    """Return why ``pattern`` cannot be used, or None when it compiles."""
    try:
        compile_pattern(pattern)
    except RegexError as exc:
        return str(exc)
    return None
