"""What reading found: each step's effect, in words an on-call engineer understands.

Readers (shell, SQL, code, diffs, params) never decide risk themselves; they say what a step
does, and `Effect.risk` turns that into the least risk policy must give it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from enum import StrEnum

from bot.models import Risk


class Effect(StrEnum):
    """What a step does, mildest first. Reads make no finding at all."""

    sensitive = "sensitive"  # reads secrets or credentials
    mutating = "mutating"  # changes something that can be changed back
    destructive = "destructive"  # deletes, overwrites, stops, or grants access
    opaque = "opaque"  # cannot be read, so it counts as the worst we cannot rule out

    @property
    def risk(self) -> Risk:
        return _RISK[self]

    @property
    def rank(self) -> int:
        return list(Effect).index(self)


_RISK = {
    Effect.sensitive: Risk.medium,
    Effect.mutating: Risk.medium,
    Effect.destructive: Risk.high,
    Effect.opaque: Risk.high,
}


@dataclass(frozen=True)
class Finding:
    """One thing reading found. `where` says which part of the request held it."""

    effect: Effect
    reason: str
    where: str = ""

    @property
    def text(self) -> str:
        return f"{self.where}: {self.reason}" if self.where else self.reason

    def at(self, where: str) -> Finding:
        """The same finding, placed (an inner place is kept: `params.query: ...`)."""
        return Finding(self.effect, self.reason, f"{where} {self.where}".strip())


def opaque(what: str, where: str = "") -> Finding:
    """A finding for something that cannot be read, worded the same everywhere."""
    return Finding(Effect.opaque, f"cannot be read: {what}", where)


class OutOfTime(Exception):
    """Reading went past its budget; the request is rated as too large to read."""


class Budget:
    """A deadline for one request's reading, checked between steps so that no input, however
    built, holds the caller for longer than `seconds`."""

    def __init__(self, seconds: float) -> None:
        self.deadline = time.monotonic() + seconds

    def expired(self) -> bool:
        return time.monotonic() > self.deadline

    def check(self) -> None:
        if self.expired():
            raise OutOfTime


def unlimited() -> Budget:
    """A budget for callers that bound time themselves (tests, the CLI)."""
    return Budget(3600.0)
