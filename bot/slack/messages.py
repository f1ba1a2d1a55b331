"""Messages around a card (thread log lines, reminders, escalations, the requester's DM) and
the questions agents ask humans.

Pure functions, like `blocks.py`: a request (and what happened) in, a `Message` out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.integrations.contacts import Contact
from bot.models import ApprovalRequest, Status
from bot.slack.actions import Action, Block
from bot.slack.blocks import OUTCOME_MARK, Blocks, outcome_line
from bot.slack.text import (
    clip,
    date,
    escape,
    inline_code,
    mention,
    mrkdwn,
    pieces,
    plain,
    time_left,
    usergroup,
)

MAX_MENTIONS = 30


@dataclass(frozen=True)
class Message:
    text: str
    blocks: Blocks = field(default_factory=list)

    def payload(self) -> dict[str, Any]:
        """Keyword arguments for chat.postMessage / chat.update."""
        return {"text": self.text, "blocks": self.blocks} if self.blocks else {"text": self.text}


def vote_logged(request: ApprovalRequest, user: str, vote: str) -> Message:
    """The thread reply for one vote."""
    if vote == "deny":
        reason = request.denial.reason if request.denial and request.denial.user == user else ""
        text = f"⛔ {mention(user)} denied"
        return _with_reason(text, reason)
    count = next((n for n, a in enumerate(request.approvals, 1) if a.user == user), 0)
    tally = f"{count} of {request.required_approvals}" if count else "vote recorded"
    return Message(f"✅ {mention(user)} approved ({tally})")


def outcome_logged(request: ApprovalRequest) -> Message:
    """The thread reply when the request reaches its terminal state."""
    reason = request.cancel_reason if request.status is Status.cancelled else ""
    return _with_reason(outcome_line(request), reason)


def _with_reason(text: str, reason: str) -> Message:
    if not reason:
        return Message(text)
    blocks = [
        {"type": "section", "text": mrkdwn(text)},
        {"type": "section", "text": plain(f"Reason: {reason}")},
    ]
    return Message(clip(f"{text}: {escape(reason)}", 3000), blocks)


def reminder(request: ApprovalRequest, voters: list[str], now: datetime) -> Message:
    """A thread reply asking the approvers who have not voted yet."""
    missing = request.required_approvals - len(request.approvals)
    who = " ".join(voters[:MAX_MENTIONS]) or "approvers"
    text = (
        f"🔔 Reminder: {missing} more approval{'s' if missing != 1 else ''} needed, "
        f"{time_left(now, request.expires_at)} (expires {date(request.expires_at, '{time}')}). "
        f"{who}"
    )
    return Message(text)


def voters_to_remind(
    request: ApprovalRequest, users: list[str], usergroups: list[str]
) -> list[str]:
    """Mentions of everyone who may still vote: not the requester, not those who voted."""
    excluded = {a.user for a in request.approvals} | {request.on_behalf_of, request.agent_owner}
    return [mention(u) for u in users if u not in excluded] + [usergroup(g) for g in usergroups]


def escalation(request: ApprovalRequest, permalink: str, now: datetime) -> Message:
    """Posted in the escalation channel when a request is still undecided at its point."""
    missing = request.required_approvals - len(request.approvals)
    text = (
        f"🚨 Escalation: a *{request.risk}* request still needs {missing} more "
        f"approval{'s' if missing != 1 else ''}; {time_left(now, request.expires_at)}."
    )
    link = f"<{permalink}|Open the card>" if permalink.startswith("https://") else ""
    blocks = [
        {"type": "section", "text": mrkdwn(f"{text} {link}".strip())},
        {"type": "section", "text": plain(request.summary)},
    ]
    return Message(clip(f"{text} {escape(request.summary)}", 3000), blocks)


def requester_dm(request: ApprovalRequest, permalink: str) -> Message:
    """The DM the person an agent acted for receives when their request is decided."""
    mark = OUTCOME_MARK.get(request.status, "")
    head = f"{mark} Your agent's request was *{request.status.value}*."
    link = f" <{permalink}|See the card>" if permalink.startswith("https://") else ""
    blocks: Blocks = [
        {"type": "section", "text": mrkdwn(head + link)},
        {"type": "section", "text": plain(request.summary)},
        {"type": "context", "elements": [mrkdwn(outcome_line(request))]},
    ]
    reason = request.denial.reason if request.denial else request.cancel_reason
    if reason:
        blocks.insert(2, {"type": "section", "text": plain(f"Reason: {reason}")})
    return Message(clip(f"{head} {escape(request.summary)}", 3000), blocks)


def question(contact: Contact) -> Message:
    """An agent's question: with an Answer button until someone answers, then the answer."""
    title = f"❓ {contact.subject or f'Question from {contact.agent}'}"
    blocks: Blocks = [{"type": "header", "text": plain(title, 150)}]
    blocks += _plain_sections(contact.message)
    blocks += _options(contact.response_options)
    blocks += _answered(contact) if contact.answer else _asking(contact)
    asked = f"Asked by {inline_code(contact.agent, 100)} · {inline_code(contact.id, 60)}"
    blocks.append({"type": "context", "elements": [mrkdwn(asked)]})
    state = "answered" if contact.answer else "from"
    return Message(
        clip(f"Question {state} {escape(contact.agent)}: {escape(contact.message)}", 300), blocks
    )


def option_label(option: dict[str, Any]) -> str:
    """How a response option (HumanLayer's `ResponseOption`) is shown: its title, else its name."""
    return str(option.get("title") or option.get("name") or "?")


def _plain_sections(text: str) -> Blocks:
    parts = [p for p in pieces(text, 3000, escaped=False) if p] or [" "]
    return [{"type": "section", "text": plain(part)} for part in parts]


def _options(options: list[dict[str, Any]]) -> Blocks:
    if not options:
        return []
    fields = [plain(_described(o), 2000) for o in options[:10]]
    return [{"type": "section", "text": mrkdwn("*Choices*"), "fields": fields}]


def _described(option: dict[str, Any]) -> str:
    description = option.get("description")
    return f"{option_label(option)}: {description}" if description else option_label(option)


def _asking(contact: Contact) -> Blocks:
    blocks: Blocks = []
    if contact.allowed_responders:
        who = " ".join(mention(u) for u in contact.allowed_responders[:MAX_MENTIONS])
        blocks.append({"type": "context", "elements": [mrkdwn(f"For {who}")]})
    button = {"type": "button", "action_id": Action.answer, "text": plain("Answer", 75)}
    button |= {"style": "primary", "value": contact.id}
    return [*blocks, {"type": "actions", "block_id": Block.question, "elements": [button]}]


def _answered(contact: Contact) -> Blocks:
    answer = contact.answer
    assert answer is not None
    line = f"💬 *Answered* by {mention(answer.user)} {date(answer.at)}"
    blocks: Blocks = [{"type": "section", "text": mrkdwn(line)}]
    chosen = next((o for o in contact.response_options if o.get("name") == answer.option), None)
    if answer.option:
        label = option_label(chosen) if chosen else answer.option
        blocks.append({"type": "section", "text": plain(f"Choice: {label}")})
    return blocks + _plain_sections(answer.response)
