"""Template filters: times, durations and server-side syntax highlighting (escaped by Pygments)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from jinja2 import Environment
from markupsafe import Markup
from pygments import highlight as pygments_highlight
from pygments.formatters import HtmlFormatter
from pygments.lexer import Lexer
from pygments.lexers import BashLexer, DiffLexer, JsonLexer, TextLexer

from bot.detectors import command_text
from bot.stats import human_duration

LEXERS: dict[str, type[Lexer]] = {
    "diff": DiffLexer,
    "shell": BashLexer,
    "json": JsonLexer,
    "text": TextLexer,
}


def highlight(code: str, language: str) -> Markup:
    """HTML spans for `code`; Pygments escapes every character of the input."""
    lexer = LEXERS.get(language, TextLexer)()
    html = pygments_highlight(code, lexer, HtmlFormatter(nowrap=True))
    return Markup(f'<pre class="code code-{language}">{html}</pre>')  # noqa: S704 - escaped above


def when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC") if moment else "-"


def time_left(expires_at: datetime, now: datetime) -> str:
    seconds = (expires_at - now).total_seconds()
    return "overdue" if seconds <= 0 else f"{human_duration(seconds)} left"


def took(request: Any) -> str:
    if request.decided_at is None:
        return "-"
    return human_duration((request.decided_at - request.created_at).total_seconds())


def percent(rate: float | None) -> str:
    return "-" if rate is None else f"{rate:.1%}"


def install_filters(env: Environment) -> None:
    env.filters.update(
        highlight=highlight,
        when=when,
        time_left=time_left,
        took=took,
        percent=percent,
        duration=human_duration,
        command_text=command_text,
    )
