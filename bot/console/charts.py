"""Charts drawn on the server as inline SVG: no script, readable at any width.

Each function takes figures from `bot.stats.Stats` and returns SVG markup; every label that
could come from an agent is escaped.
"""

from __future__ import annotations

from markupsafe import Markup, escape

from bot.stats import AgentStats, DecisionBucket

OUTCOME_COLOURS = {
    "approved": "#2e7d32",
    "denied": "#c62828",
    "expired": "#9e9e9e",
    "cancelled": "#6d4c41",
    "pending": "#f9a825",
}
WIDTH, HEIGHT, PAD = 640, 240, 36


def _svg(body: str, label: str, height: int = HEIGHT) -> Markup:
    """Wrap parts built by `_text` and `_rect`, which escape everything they are given."""
    return Markup(  # noqa: S704
        f'<svg class="chart" viewBox="0 0 {WIDTH} {height}" role="img" '
        f'aria-label="{escape(label)}" xmlns="http://www.w3.org/2000/svg">{body}</svg>'
    )


def _text(x: float, y: float, text: object, anchor: str = "middle", cls: str = "") -> str:
    attrs = f' class="{cls}"' if cls else ""
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}"{attrs}>{escape(text)}</text>'


def _rect(x: float, y: float, w: float, h: float, fill: str, title: str) -> str:
    return (
        f'<rect x="{x:.1f}" y="{y:.1f}" width="{max(w, 0):.1f}" height="{max(h, 0):.1f}" '
        f'fill="{fill}"><title>{escape(title)}</title></rect>'
    )


def _legend(names: list[str], y: float) -> str:
    parts, x = [], PAD
    for name in names:
        parts.append(_rect(x, y - 9, 10, 10, OUTCOME_COLOURS[name], name))
        parts.append(_text(x + 14, y, name, "start", "legend"))
        x += 14 + 8 * len(name) + 16
    return "".join(parts)


def requests_per_day(per_day: dict[str, dict[str, int]]) -> Markup:
    """Stacked bars: one per day, split by outcome."""
    if not per_day:
        return _svg(_text(WIDTH / 2, HEIGHT / 2, "No requests in this period."), "empty chart")
    days = list(per_day)
    top = max(sum(c.values()) for c in per_day.values()) or 1
    plot_h, slot = HEIGHT - 2 * PAD - 10, (WIDTH - 2 * PAD) / len(days)
    parts = [_text(PAD - 6, PAD + 4, top, "end", "axis"), _text(PAD - 6, HEIGHT - PAD, 0, "end")]
    for i, day in enumerate(days):
        x, y = PAD + i * slot + slot * 0.1, float(HEIGHT - PAD)
        for outcome, colour in OUTCOME_COLOURS.items():
            count = per_day[day].get(outcome, 0)
            h = plot_h * count / top
            y -= h
            parts.append(_rect(x, y, slot * 0.8, h, colour, f"{day}: {count} {outcome}"))
        if len(days) <= 14 or i % max(1, len(days) // 10) == 0:
            parts.append(_text(x + slot * 0.4, HEIGHT - PAD + 14, day[5:], cls="axis"))
    parts.append(_legend(list(OUTCOME_COLOURS), HEIGHT - 6))
    return _svg("".join(parts), "Requests per day by outcome")


def _bound(seconds: int | None) -> str:
    if seconds is None:
        return "more"
    return f"≤{seconds // 60}m" if seconds < 3600 else f"≤{seconds // 3600}h"


def decision_times(buckets: list[DecisionBucket]) -> Markup:
    """Histogram of seconds from request to a human decision."""
    top = max((b.count for b in buckets), default=0) or 1
    plot_h, slot = HEIGHT - 2 * PAD, (WIDTH - 2 * PAD) / max(len(buckets), 1)
    parts = [_text(PAD - 6, PAD + 4, top, "end", "axis")]
    for i, bucket in enumerate(buckets):
        h = plot_h * bucket.count / top
        x = PAD + i * slot + slot * 0.1
        label = _bound(bucket.up_to_seconds)
        parts.append(
            _rect(x, HEIGHT - PAD - h, slot * 0.8, h, "#1565c0", f"{label}: {bucket.count}")
        )
        parts.append(_text(x + slot * 0.4, HEIGHT - PAD - h - 4, bucket.count, cls="value"))
        parts.append(_text(x + slot * 0.4, HEIGHT - PAD + 16, label, cls="axis"))
    return _svg("".join(parts), "Time to decision")


def agents(rows: list[AgentStats], limit: int = 12) -> Markup:
    """Horizontal bars per agent: volume, with the denied share in red and the rate as text."""
    rows = rows[:limit]
    if not rows:
        return _svg(_text(WIDTH / 2, 40, "No requests in this period."), "empty chart", 80)
    line, label_w = 26, 170
    height = PAD + line * len(rows)
    top = max(r.total for r in rows) or 1
    plot_w = WIDTH - label_w - 120
    parts = []
    for i, row in enumerate(rows):
        y = 10 + i * line
        w = plot_w * row.total / top
        denied_w = plot_w * row.denied / top
        parts.append(_text(label_w - 8, y + 14, row.agent[:24], "end"))
        parts.append(_rect(label_w, y, w, 18, "#90a4ae", f"{row.agent}: {row.total} requests"))
        parts.append(_rect(label_w, y, denied_w, 18, OUTCOME_COLOURS["denied"], "denied"))
        summary = f"{row.total} · {row.denial_rate:.0%} denied"
        parts.append(_text(label_w + w + 6, y + 14, summary, "start", "value"))
    return _svg("".join(parts), "Requests and denial rate per agent", height)
