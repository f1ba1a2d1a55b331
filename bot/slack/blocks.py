"""The approval card and the messages around it, as Block Kit: request in, blocks out.

Pure functions only: no Slack client, no Redis. Every piece of agent input goes through
`bot.slack.text`, so a card stays inside Block Kit's limits (50 blocks, 3,000 units per text,
150 for a header, 2,000 per field and button value) however large or strange the input.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from bot.detectors import permission_level
from bot.models import ApprovalRequest, Risk, Status
from bot.slack.actions import Action, Block
from bot.slack.text import (
    clip,
    code_safe,
    date,
    escape,
    inline_code,
    mention,
    mrkdwn,
    plain,
    time_left,
    units,
)

Blocks = list[dict[str, Any]]

SECTION_LIMIT = 3000
FIELD_LIMIT = 2000
HEADER_LIMIT = 150
DIFF_PREVIEW_LINES = 30
LINE_LIMIT = 200
RISK_MARK = {Risk.low: "🟢", Risk.medium: "🟡", Risk.high: "🟠", Risk.critical: "🔴"}
OUTCOME_MARK = {
    Status.approved: "✅",
    Status.denied: "⛔",
    Status.expired: "⏰",
    Status.cancelled: "✖️",
}


def card(request: ApprovalRequest, now: datetime) -> Blocks:
    """The whole approval card, with buttons while the request is pending."""
    blocks: Blocks = [_header(request), _facts(request, now)]
    blocks += _reasons(request)
    blocks += _justification(request)
    blocks += _scope(request)
    blocks += _command(request)
    blocks += _diff(request)
    blocks += _params(request)
    blocks += progress(request)
    if request.status is Status.pending:
        blocks.append(decision_buttons(request))
    blocks.append(_footer(request))
    return blocks


def card_text(request: ApprovalRequest) -> str:
    """Notification text for the card (shown where blocks are not)."""
    state = "needs approval" if request.status is Status.pending else request.status.value
    return clip(f"{request.risk.upper()} request {state}: {escape(request.summary)}", 300)


def _header(request: ApprovalRequest) -> dict[str, Any]:
    title = f"{RISK_MARK[request.risk]} {request.risk.upper()} · {request.summary}"
    return {"type": "header", "text": plain(title, HEADER_LIMIT)}


def _facts(request: ApprovalRequest, now: datetime) -> dict[str, Any]:
    agent = inline_code(request.agent, 100)
    if request.agent_owner:
        agent += f" (run by {mention(request.agent_owner)})"
    groups = ", ".join(inline_code(g, 60) for g in request.eligible_groups[:10])
    deadline = date(request.expires_at)
    if request.status is Status.pending:
        deadline += f" ({time_left(now, request.expires_at)})"
    fields = [
        ("Agent", agent),
        ("On behalf of", mention(request.on_behalf_of)),
        ("Action", inline_code(request.action, 200)),
        ("Resource", inline_code(request.resource, 600)),
        ("Environment", inline_code(request.environment, 100)),
        ("Needs", f"{_approvals(request.required_approvals)} from {groups or '—'}"),
        ("Deadline", deadline),
    ]
    return {
        "type": "section",
        "fields": [mrkdwn(f"*{label}*\n{value}", FIELD_LIMIT) for label, value in fields],
    }


def _approvals(count: int) -> str:
    return f"{count} approval{'s' if count != 1 else ''}"


def _reasons(request: ApprovalRequest) -> Blocks:
    if not request.risk_reasons:
        return []
    lines = "\n".join(f"• {reason}" for reason in request.risk_reasons)
    return [_labelled("Why this risk", lines)]


def _justification(request: ApprovalRequest) -> Blocks:
    if not request.justification:
        return []
    return [_labelled("Agent's justification", request.justification)]


def _labelled(label: str, body: str) -> dict[str, Any]:
    """A label over agent text that Slack must show literally (plain_text is never parsed)."""
    return {"type": "section", "text": plain(f"{label}\n{body}", SECTION_LIMIT)}


def _scope(request: ApprovalRequest) -> Blocks:
    blocks: Blocks = []
    if request.scope.permissions:
        items = sorted(request.scope.permissions, key=_flag_order)
        blocks.append(_listing("Permissions", [_permission(p) for p in items]))
    if request.scope.resources:
        items = [inline_code(r, LINE_LIMIT) for r in request.scope.resources]
        blocks.append(_listing("Resources", items))
    return blocks


def _flag_order(permission: str) -> int:
    """Flagged permissions first, so the dangerous ones survive truncation."""
    level = permission_level(permission)
    return -level.rank if level else 1


def _permission(permission: str) -> str:
    level = permission_level(permission)
    if level is None:
        return inline_code(permission, LINE_LIMIT)
    kind = "wildcard" if "*" in permission else "admin"
    return f"{inline_code(permission, LINE_LIMIT)} ⚠️ *{kind}* ({level})"


def _listing(label: str, items: list[str]) -> dict[str, Any]:
    """A bulleted list that ends in "…and N more" when it does not fit one section."""
    text, shown = f"*{label}* ({len(items)})", 0
    for item in items:
        remaining = len(items) - shown - 1
        tail = f"\n…and {remaining} more" if remaining else ""
        if units(text) + units(item) + 3 + units(tail) > SECTION_LIMIT:
            break
        text += f"\n• {item}"
        shown += 1
    if shown < len(items):
        text += f"\n…and {len(items) - shown} more"
    return {"type": "section", "text": mrkdwn(text)}


def _command(request: ApprovalRequest) -> Blocks:
    command = request.command
    if not command:
        return []
    shown = command if isinstance(command, str) else json.dumps(command, ensure_ascii=False)
    return [{"type": "section", "text": mrkdwn(f"*Command*\n{code_block(shown)}")}]


def code_block(text: str, limit: int = SECTION_LIMIT - 40) -> str:
    """A code block that fits `limit` units, fences included."""
    return f"```\n{clip(code_safe(text), limit - 8)}\n```"


def _diff(request: ApprovalRequest) -> Blocks:
    if not request.diff:
        return []
    preview, hidden = diff_preview(request.diff)
    blocks: Blocks = [{"type": "section", "text": mrkdwn(f"*Diff*\n```\n{preview}\n```")}]
    if hidden:
        plural = "s" if hidden != 1 else ""
        note = f"+{hidden} more line{plural} · *View full diff* pages through all of it"
        blocks.append({"type": "context", "elements": [mrkdwn(note)]})
    return blocks


def diff_preview(diff: str, budget: int = SECTION_LIMIT - 40) -> tuple[str, int]:
    """The first lines of a diff that fit, and how many lines were left out."""
    lines = diff.splitlines()
    shown: list[str] = []
    used = 0
    for line in lines[:DIFF_PREVIEW_LINES]:
        piece = clip(code_safe(line), LINE_LIMIT)
        if used + units(piece) + 1 > budget:
            break
        shown.append(piece)
        used += units(piece) + 1
    return "\n".join(shown) or " ", len(lines) - len(shown)


def _params(request: ApprovalRequest) -> Blocks:
    if not request.params:
        return []
    text = json.dumps(request.params, ensure_ascii=False, indent=1, sort_keys=True)
    return [{"type": "section", "text": mrkdwn(f"*Params*\n{code_block(text)}")}]


def progress(request: ApprovalRequest) -> Blocks:
    """Where the decision stands: "1 of 2 approvals" while pending, the outcome after."""
    if request.status is Status.pending:
        return [{"type": "section", "text": mrkdwn(_tally(request))}]
    blocks: Blocks = [{"type": "section", "text": mrkdwn(outcome_line(request))}]
    reason = request.denial.reason if request.denial else request.cancel_reason
    if reason:
        blocks.append(_labelled("Reason", reason))
    return blocks


def _tally(request: ApprovalRequest) -> str:
    done, needed = len(request.approvals), request.required_approvals
    text = f"⏳ *{done} of {needed} approvals*"
    if request.approvals:
        text += " · approved by " + ", ".join(mention(a.user) for a in request.approvals)
    return text


def outcome_line(request: ApprovalRequest) -> str:
    """One line naming the outcome, who decided and when."""
    if request.status is Status.pending:
        return _tally(request)
    mark = OUTCOME_MARK[request.status]
    when = date(request.decided_at) if request.decided_at else ""
    if request.status is Status.approved:
        who = ", ".join(mention(a.user) for a in request.approvals) or mention(request.decided_by)
        return f"{mark} *Approved* by {who} · {when}"
    if request.status is Status.denied:
        return f"{mark} *Denied* by {mention(request.decided_by)} · {when}"
    if request.status is Status.expired:
        got = f"{len(request.approvals)} of {request.required_approvals} approvals"
        return f"{mark} *Expired* {when} with {got}; the agent was told no"
    return f"{mark} *Cancelled* by {mention(request.decided_by)} · {when}"


def decision_buttons(request: ApprovalRequest, block_id: str = Block.decision) -> dict[str, Any]:
    """Approve (with a confirm dialog when critical), Deny, and the full diff when there is one."""
    approve: dict[str, Any] = {
        "type": "button",
        "action_id": Action.approve,
        "text": plain("Approve"),
        "style": "primary",
        "value": request.id,
    }
    if request.risk is Risk.critical:
        approve["confirm"] = _confirm(request)
    deny = {
        "type": "button",
        "action_id": Action.deny,
        "text": plain("Deny"),
        "style": "danger",
        "value": request.id,
    }
    elements = [approve, deny]
    if request.diff:
        view = {"type": "button", "action_id": Action.view_diff, "text": plain("View full diff")}
        elements.append(view | {"value": request.id})
    return {"type": "actions", "block_id": block_id[:255], "elements": elements}


def _confirm(request: ApprovalRequest) -> dict[str, Any]:
    body = f"This is a critical action: {request.summary}. Approve it?"
    return {
        "title": plain("Approve a critical action?", 100),
        "text": plain(body, 300),
        "confirm": plain("Approve", 30),
        "deny": plain("Cancel", 30),
        "style": "primary",
    }


def _footer(request: ApprovalRequest) -> dict[str, Any]:
    text = (
        f"{inline_code(request.id, 60)} · rule {inline_code(request.rule, 120)}"
        f" · action hash {inline_code(request.action_hash[:12], 20)}"
    )
    return {"type": "context", "elements": [mrkdwn(text)]}
