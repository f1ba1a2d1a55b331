"""Splitting code that has no parser here into statements and arguments.

A token is a quoted string, a bracket, a separator or a run of anything else, so a separator
inside quotes or brackets does not split. Unbalanced quotes and brackets only make pieces that
no reader recognizes, which then count as unreadable.
"""

from __future__ import annotations

import functools
import re

from bot.reading.findings import Budget

_DEPTH = {"(": 1, "[": 1, "{": 1, ")": -1, "]": -1, "}": -1}
_SEPARATORS = ";\n|,"


@functools.cache
def _tokens(escape: str) -> re.Pattern[str]:
    e = re.escape(escape)
    quoted = "|".join(f"{q}(?:[^{q}{e}]|{e}.)*{q}" for q in ("'", '"', "`"))
    return re.compile(rf"{quoted}|[()\[\]{{}};\n|,]|[^'\"`()\[\]{{}};\n|,]+|.", re.DOTALL)


def split(code: str, separators: str, budget: Budget, escape: str = "\\") -> list[str]:
    """The non-empty pieces of `code` between separators (any of ; newline | ,) that stand
    outside quotes and brackets, stripped."""
    assert set(separators) <= set(_SEPARATORS)
    pieces: list[str] = []
    current: list[str] = []
    depth = 0
    for token in _tokens(escape).finditer(code):
        budget.check()
        word = token.group()
        if depth == 0 and word in separators:
            pieces.append("".join(current))
            current = []
            continue
        current.append(word)
        depth = max(0, depth + _DEPTH.get(word, 0))
    pieces.append("".join(current))
    return [piece.strip() for piece in pieces if piece.strip()]


def closing(code: str, escape: str = "\\") -> int:
    """The index of the bracket that closes the one `code` starts with, or -1."""
    depth = 0
    for token in _tokens(escape).finditer(code):
        depth += _DEPTH.get(token.group(), 0)
        if depth == 0:
            return token.start()
    return -1


def mask(code: str, escape: str = "\\") -> str:
    """`code` with the inside of every quoted string blanked, offsets kept, so that a name
    written inside a string is not found as a call."""
    parts = []
    for token in _tokens(escape).finditer(code):
        word = token.group()
        quoted = len(word) > 1 and word[0] in "'\"`" and word[-1] == word[0]
        parts.append(word[0] + " " * (len(word) - 2) + word[-1] if quoted else word)
    return "".join(parts)
