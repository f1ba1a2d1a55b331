"""Text for Slack: agent input escaped so it stays inert, and clipped to Block Kit's limits.

Agent text reaches Slack in three safe forms only: `plain_text` objects (never parsed), inline
code and code blocks (no formatting inside, and `&`, `<`, `>` escaped so no mention, link or
broadcast can be forged). Lengths are counted in UTF-16 code units, as Slack does, so emoji and
other astral characters never push a text past a limit.

Invisible format characters (Unicode category `Cf`: bidi overrides and isolates, zero-width
spaces and joiners, the BOM ...) are shown as markers such as `⟦U+202E⟧` in every one of those
forms, so what the approver reads is what runs ("Trojan Source").
"""

from __future__ import annotations

import re
import sys
import unicodedata
from datetime import datetime
from functools import cache
from typing import Any

SLACK_USER = re.compile(r"^[UW][A-Z0-9]{2,20}$")
SLACK_USERGROUP = re.compile(r"^S[A-Z0-9]{2,20}$")
ELLIPSIS = "…"
# A backtick would end a code span early; this look-alike cannot.
BACKTICK_STANDIN = "\u02cb"  # MODIFIER LETTER GRAVE ACCENT
# What an invisible format character is shown as: ⟦U+202E⟧.
MARKER_OPEN, MARKER_CLOSE = "\u27e6", "\u27e7"


def units(text: str) -> int:
    """Length as Slack counts it (UTF-16 code units)."""
    return len(text) if text.isascii() else len(text.encode("utf-16-le")) // 2


def reveal(text: str) -> str:
    """Every invisible format character (`Cf`) replaced by a visible `⟦U+XXXX⟧` marker."""
    if text.isascii() or not _format_characters().search(text):
        return text
    return text.translate(_markers())


def escape(text: str) -> str:
    """Make `&`, `<` and `>` literal, so no `<!channel>`, `<@U…>` or `<url|label>` survives;
    invisible format characters become visible markers."""
    return reveal(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def prepare() -> None:
    """Build the format-character tables now (a scan of every code point, under a second)
    rather than inside the first card, where it would stall the event loop."""
    _format_characters()


@cache
def _markers() -> dict[int, str]:
    """A translation table for Unicode's `Cf` category, from this Python's Unicode data."""
    found = (c for c in range(sys.maxunicode + 1) if unicodedata.category(chr(c)) == "Cf")
    return {c: f"{MARKER_OPEN}U+{c:04X}{MARKER_CLOSE}" for c in found}


@cache
def _format_characters() -> re.Pattern[str]:
    """Finds any `Cf` character (a class of ranges: far quicker to search than to translate)."""
    ranges: list[list[int]] = []
    for code in _markers():
        if ranges and ranges[-1][1] == code - 1:
            ranges[-1][1] = code
        else:
            ranges.append([code, code])
    body = "".join(f"{re.escape(chr(lo))}-{re.escape(chr(hi))}" for lo, hi in ranges)
    return re.compile(f"[{body}]")


def code_safe(text: str) -> str:
    """Escaped, with backticks replaced, for the inside of inline code or a code block."""
    return escape(text).replace("`", BACKTICK_STANDIN)


def clip(text: str, limit: int, marker: str = ELLIPSIS, *, escaped: bool = True) -> str:
    """Cut text to `limit` units, ending with `marker`; never cut mid-entity or mid-marker."""
    if units(text) <= limit:
        return text
    return text[: _cut(text, 0, max(limit - units(marker), 0), escaped)] + marker


def pieces(text: str, limit: int, *, escaped: bool = True) -> list[str]:
    """`text` cut into consecutive parts of at most `limit` units (the last may be empty).

    Linear in the length of `text`: each part is measured once.
    """
    parts, start = [], 0
    while units(text[start : start + limit + 1]) > limit:  # more than `limit` remains
        end = _cut(text, start, limit, escaped)
        end = end if end > start else start + 1
        parts.append(text[start:end])
        start = end
    return [*parts, text[start:]]


def _cut(text: str, start: int, budget: int, escaped: bool) -> int:
    """Where a part of `text` from `start` within `budget` units ends, keeping entities
    (`&amp;`) and markers (`⟦U+202E⟧`) whole."""
    end = _fit(text, start, budget)
    if escaped:
        amp = text.rfind("&", start, end)
        if amp != -1 and ";" not in text[amp:end]:
            end = amp
    opened = text.rfind(MARKER_OPEN, start, end)
    if opened != -1 and MARKER_CLOSE not in text[opened:end]:
        end = opened
    return end


def _fit(text: str, start: int, budget: int) -> int:
    """The end of the longest part of `text` from `start` within `budget` units."""
    lo, hi = min(len(text), start + budget // 2), min(len(text), start + budget)
    while lo < hi:  # astral characters count two: search between all-astral and none
        middle = (lo + hi + 1) // 2
        if units(text[start:middle]) <= budget:
            lo = middle
        else:
            hi = middle - 1
    return lo


def inline_code(text: str, limit: int = 300) -> str:
    """Agent text as one line of inline code, at most `limit` units including the backticks."""
    if not text:
        return "—"
    one_line = " ".join(text.split()) or " "
    return f"`{clip(code_safe(one_line), limit - 2)}`"


def mention(user: str | None) -> str:
    """`<@U…>` for a Slack user ID; anything else (an agent, `policy`) as inert code."""
    if not user:
        return "—"
    return f"<@{user}>" if SLACK_USER.match(user) else inline_code(user, 80)


def usergroup(group: str) -> str:
    return f"<!subteam^{group}>" if SLACK_USERGROUP.match(group) else inline_code(group, 80)


def date(moment: datetime, style: str = "{date_short_pretty} at {time}") -> str:
    """A date every reader sees in their own time zone, with a UTC fallback."""
    fallback = moment.strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(moment.timestamp())}^{style}|{fallback}>"


def time_left(now: datetime, deadline: datetime) -> str:
    seconds = int((deadline - now).total_seconds())
    if seconds <= 0:
        return "no time left"
    if seconds < 120:
        return f"{seconds} s left"
    if seconds < 7200:
        return f"{seconds // 60} min left"
    return f"{seconds // 3600} h {seconds % 3600 // 60} min left"


def plain(text: str, limit: int = 3000) -> dict[str, Any]:
    """A plain_text object: Slack shows it literally, whatever it contains."""
    text = clip(reveal(text), limit, escaped=False)
    return {"type": "plain_text", "text": text or " ", "emoji": False}


def mrkdwn(text: str, limit: int = 3000) -> dict[str, Any]:
    """A mrkdwn object built by us; verbatim, so Slack adds no links or mentions of its own."""
    return {"type": "mrkdwn", "text": clip(reveal(text), limit) or " ", "verbatim": True}
