"""Replies to `/countersign`, as Block Kit: pure functions, like `blocks.py`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.models import ApprovalRequest, Status
from bot.slack.actions import Action
from bot.slack.blocks import OUTCOME_MARK, RISK_MARK, Blocks
from bot.slack.text import date, inline_code, mrkdwn, plain, time_left
from bot.stats import Stats

HELP = """*`/countersign` commands* (replies only you can see)
• `pending`: requests you may approve or deny now
• `show <request id>`: one request's card
• `history [agent:NAME] [user:@someone] [status:STATUS] [risk:RISK] [since:7d] [until:DATE]`
   `[action:GLOB] [env:GLOB]`: decided and pending requests, newest first (auditors)
• `stats [since:30d] [until:DATE]`: counts by outcome, median and p90 time to decision (auditors)
• `help`: this text
Times are ages (`90m`, `12h`, `7d`, `2w`) or ISO dates (`2026-01-31`)."""


def help_blocks() -> Blocks:
    return [{"type": "section", "text": mrkdwn(HELP)}]


def pending_blocks(requests: list[ApprovalRequest], now: datetime) -> Blocks:
    """The requests a person may act on now, each with its id for `show`."""
    if not requests:
        return [{"type": "section", "text": mrkdwn("Nothing is waiting for your vote. 🎉")}]
    head = f"*{len(requests)} request{'s' if len(requests) != 1 else ''} await your vote*"
    blocks: Blocks = [{"type": "section", "text": mrkdwn(head)}]
    for request in requests:
        facts = (
            f"{inline_code(request.id, 60)} · {len(request.approvals)} of "
            f"{request.required_approvals} approvals · {time_left(now, request.expires_at)}"
        )
        blocks += _entry(request, facts)
    return blocks


def _entry(request: ApprovalRequest, facts: str) -> Blocks:
    title = f"{RISK_MARK[request.risk]} {request.risk.upper()} · {request.summary}"
    return [
        {"type": "section", "text": plain(title)},
        {"type": "context", "elements": [mrkdwn(facts)]},
    ]


def history_blocks(
    requests: list[ApprovalRequest], described: str, next_value: str | None
) -> Blocks:
    """One page of history; a "Next page" button carries the query on when there is more."""
    head = f"*History* {described}".strip()
    blocks: Blocks = [{"type": "section", "text": mrkdwn(head)}]
    if not requests:
        blocks.append({"type": "section", "text": mrkdwn("No requests match.")})
    for request in requests:
        blocks += _entry(request, _history_facts(request))
    if next_value:
        button = {"type": "button", "action_id": Action.history_page, "text": plain("Next page")}
        blocks.append({"type": "actions", "elements": [button | {"value": next_value}]})
    return blocks


def _history_facts(request: ApprovalRequest) -> str:
    mark = OUTCOME_MARK.get(request.status, "⏳")
    who = ""
    if request.status in (Status.approved, Status.denied, Status.cancelled):
        voters = [a.user for a in request.approvals] if request.status is Status.approved else []
        who = " by " + ", ".join(
            inline_code(u, 40) for u in (voters or [request.decided_by or "?"])
        )
    return (
        f"{inline_code(request.id, 60)} · {mark} {request.status.value}{who} · "
        f"agent {inline_code(request.agent, 80)} · {inline_code(request.action, 100)} · "
        f"created {date(request.created_at)}"
    )


def stats_blocks(stats: Stats, described: str) -> Blocks:
    """Counts by outcome, median and p90 time to a human decision, and rates."""
    outcomes = " · ".join(f"{status}: *{count}*" for status, count in stats.by_outcome.items())
    risks = " · ".join(f"{risk}: {count}" for risk, count in stats.by_risk.items())
    lines = [
        f"*Stats* {described}".strip(),
        f"*{stats.total}* requests · {outcomes}",
        f"By risk: {risks}",
        f"Time to a human decision: median *{duration(stats.median_seconds_to_decision)}*, "
        f"p90 *{duration(stats.p90_seconds_to_decision)}*",
        f"Approval rate {_percent(stats.approval_rate)} · denial rate "
        f"{_percent(stats.denial_rate)} · expiry rate {_percent(stats.expiry_rate)}",
    ]
    return [{"type": "section", "text": mrkdwn("\n".join(lines))}]


def duration(seconds: float | None) -> str:
    """`45 s`, `12 min`, `3 h 5 min`, or `—` when there is nothing to measure."""
    if seconds is None:
        return "—"
    whole = round(seconds)
    if whole < 120:
        return f"{whole} s"
    if whole < 7200:
        return f"{whole // 60} min"
    return f"{whole // 3600} h {whole % 3600 // 60} min"


def _percent(rate: float | None) -> str:
    return "—" if rate is None else f"{rate:.0%}"


def reply(blocks: Blocks, text: str) -> dict[str, Any]:
    """Keyword arguments for an ephemeral `respond`."""
    return {"text": text, "blocks": blocks, "response_type": "ephemeral"}
