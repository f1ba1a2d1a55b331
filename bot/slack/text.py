"""Text for Slack: agent input escaped so it stays inert, and clipped to Block Kit's limits.

Agent text reaches Slack in three safe forms only: `plain_text` objects (never parsed), inline
code and code blocks (no formatting inside, and `&`, `<`, `>` escaped so no mention, link or
broadcast can be forged). Lengths are counted in UTF-16 code units, as Slack does, so emoji and
other astral characters never push a text past a limit.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

SLACK_USER = re.compile(r"^[UW][A-Z0-9]{2,20}$")
SLACK_USERGROUP = re.compile(r"^S[A-Z0-9]{2,20}$")
ELLIPSIS = "…"
# A backtick would end a code span early; this look-alike cannot.
BACKTICK_STANDIN = "\u02cb"  # MODIFIER LETTER GRAVE ACCENT

_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})


def units(text: str) -> int:
    """Length as Slack counts it (UTF-16 code units)."""
    return len(text.encode("utf-16-le")) // 2


def escape(text: str) -> str:
    """Make `&`, `<` and `>` literal, so no `<!channel>`, `<@U…>` or `<url|label>` survives."""
    return text.translate(_ESCAPES)


def code_safe(text: str) -> str:
    """Escaped, with backticks replaced, for the inside of inline code or a code block."""
    return escape(text).replace("`", BACKTICK_STANDIN)


def clip(text: str, limit: int, marker: str = ELLIPSIS, *, escaped: bool = True) -> str:
    """Cut text to `limit` units, ending with `marker`; escaped text is never cut mid-entity."""
    if units(text) <= limit:
        return text
    cut = _prefix(text, max(limit - units(marker), 0))
    amp = cut.rfind("&")
    if escaped and amp != -1 and ";" not in cut[amp:]:
        cut = cut[:amp]
    return cut + marker


def pieces(text: str, limit: int, *, escaped: bool = True) -> list[str]:
    """`text` cut into consecutive parts of at most `limit` units (the last may be empty)."""
    parts = []
    while units(text) > limit:
        part = clip(text, limit, marker="", escaped=escaped) or text[0]
        parts.append(part)
        text = text[len(part) :]
    return [*parts, text]


def _prefix(text: str, budget: int) -> str:
    """The longest start of `text` within `budget` units (astral characters count two)."""
    used = 0
    for index, char in enumerate(text[:budget]):
        used += 2 if ord(char) > 0xFFFF else 1
        if used > budget:
            return text[:index]
    return text[:budget]


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
    return {"type": "plain_text", "text": clip(text, limit, escaped=False) or " ", "emoji": False}


def mrkdwn(text: str, limit: int = 3000) -> dict[str, Any]:
    """A mrkdwn object built by us; verbatim, so Slack adds no links or mentions of its own."""
    return {"type": "mrkdwn", "text": clip(text, limit) or " ", "verbatim": True}
