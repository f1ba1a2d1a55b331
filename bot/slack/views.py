"""Modals and the App Home tab, as Block Kit: pure functions, like `blocks.py`."""

from __future__ import annotations

import json
from collections import OrderedDict
from datetime import datetime
from typing import Any

from bot.integrations.contacts import Contact
from bot.models import ApprovalRequest, Risk
from bot.slack.actions import ANSWER_INPUT, DENY_REASON_INPUT, OPTION_INPUT, Action, Block, View
from bot.slack.blocks import RISK_MARK, Blocks, decision_buttons, outcome_line
from bot.slack.messages import option_label
from bot.slack.text import (
    clip,
    code_safe,
    date,
    inline_code,
    mrkdwn,
    pieces,
    plain,
    time_left,
    units,
)

REASON_MAX = 2000
ANSWER_MAX = 3000
MODAL_OPTIONS = 100
DIFF_CHUNK = 2900
CHUNKS_PER_PAGE = 20
HOME_PENDING = 15
HOME_RECENT = 10
DIFF_CACHE_SIZE = 16


def deny_modal(request: ApprovalRequest, channel: str | None) -> dict[str, Any]:
    """Asks for the reason for a denial; required when the risk is critical."""
    required = request.risk is Risk.critical
    hint = "Required for critical requests." if required else "Optional."
    return {
        "type": "modal",
        "callback_id": View.deny,
        "private_metadata": json.dumps({"request_id": request.id, "channel": channel or ""}),
        "title": plain("Deny request", 24),
        "submit": plain("Deny", 24),
        "close": plain("Cancel", 24),
        "blocks": [
            {"type": "section", "text": plain(request.summary)},
            {
                "type": "input",
                "block_id": Block.deny_reason,
                "optional": not required,
                "label": plain("Why deny it? The agent receives this reason.", 2000),
                "hint": plain(hint, 2000),
                "element": {
                    "type": "plain_text_input",
                    "action_id": DENY_REASON_INPUT,
                    "multiline": True,
                    "max_length": REASON_MAX,
                },
            },
        ],
    }


def deny_reason(view: dict[str, Any]) -> str:
    """The reason typed into the deny modal (empty when none)."""
    value = view["state"]["values"][Block.deny_reason][DENY_REASON_INPUT].get("value")
    return (value or "").strip()


def answer_modal(contact: Contact, channel: str | None) -> dict[str, Any]:
    """Asks for the answer to an agent's question: free text, and a choice if it offers any."""
    options = contact.response_options[:MODAL_OPTIONS]
    blocks: Blocks = [{"type": "section", "text": plain(contact.message)}]
    if options:
        blocks.append(_choice_input(options))
    blocks.append(_answer_input(optional=bool(options)))
    metadata = {"contact_id": contact.id, "channel": channel or ""}
    return {
        "type": "modal",
        "callback_id": View.answer,
        "private_metadata": json.dumps(metadata),
        "title": plain("Answer the agent", 24),
        "submit": plain("Send answer", 24),
        "close": plain("Cancel", 24),
        "blocks": blocks,
    }


def _choice_input(options: list[dict[str, Any]]) -> dict[str, Any]:
    choices = [{"text": plain(option_label(o), 75), "value": str(n)} for n, o in enumerate(options)]
    element = {"type": "static_select", "action_id": OPTION_INPUT, "options": choices}
    return _input(Block.answer_option, "Choose an answer", element, optional=True)


def _answer_input(optional: bool) -> dict[str, Any]:
    element = {"type": "plain_text_input", "action_id": ANSWER_INPUT, "multiline": True}
    element |= {"max_length": ANSWER_MAX}
    label = "Your answer (the agent receives it)"
    return _input(Block.answer_text, label, element, optional=optional)


def _input(block_id: str, label: str, element: dict[str, Any], optional: bool) -> dict[str, Any]:
    block = {"type": "input", "block_id": block_id, "label": plain(label, 2000)}
    return block | {"optional": optional, "element": element}


def given_answer(view: dict[str, Any], contact: Contact) -> tuple[str, str | None]:
    """(answer, option name) from the submitted modal; a choice alone answers with its text."""
    values = view["state"]["values"]
    text = (values[Block.answer_text][ANSWER_INPUT].get("value") or "").strip()
    selected = (values.get(Block.answer_option) or {}).get(OPTION_INPUT, {}).get("selected_option")
    if not selected or not 0 <= int(selected["value"]) < len(contact.response_options):
        return text, None
    option = contact.response_options[int(selected["value"])]
    return text or str(option.get("prompt_fill") or option_label(option)), str(option["name"])


def diff_chunks(diff: str) -> list[str]:
    """The whole diff as escaped pieces that each fit one code block, in one linear pass."""
    chunks: list[str] = []
    current: list[str] = []
    used = 0  # units of "\n".join(current)
    for line in code_safe(diff).splitlines() or [""]:
        for piece, size in _measured(line):
            if current and used + 1 + size > DIFF_CHUNK:
                chunks.append("\n".join(current))
                current, used = [], 0
            used += size + 1 if current else size
            current.append(piece)
    chunks.append("\n".join(current) or " ")
    return chunks


def _measured(line: str) -> list[tuple[str, int]]:
    """The line, or its pieces when it is longer than a chunk, with their lengths in units."""
    size = units(line)
    if size <= DIFF_CHUNK:
        return [(line, size)]
    return [(piece, units(piece)) for piece in pieces(line, DIFF_CHUNK)]


class DiffPages:
    """The chunks of recently opened diffs, so paging through one does not cut it again.

    Derived data, kept in process memory: losing it only costs the cutting. Keyed by request
    id and action hash, so a different action under the same id can never show a stale diff.
    """

    def __init__(self, size: int = DIFF_CACHE_SIZE) -> None:
        self.size = size
        self._chunks: OrderedDict[tuple[str, str], list[str]] = OrderedDict()

    def chunks(self, request: ApprovalRequest) -> list[str]:
        key = (request.id, request.action_hash)
        if key in self._chunks:
            self._chunks.move_to_end(key)
        else:
            self._chunks[key] = diff_chunks(request.diff)
            if len(self._chunks) > self.size:
                self._chunks.popitem(last=False)
        return self._chunks[key]


def diff_modal(request: ApprovalRequest, page: int, chunks: list[str]) -> dict[str, Any]:
    """One page of the full diff (cut by `diff_chunks`), with buttons to the neighbours."""
    pages = max(1, -(-len(chunks) // CHUNKS_PER_PAGE))
    page = min(max(page, 0), pages - 1)
    shown = chunks[page * CHUNKS_PER_PAGE : (page + 1) * CHUNKS_PER_PAGE]
    blocks: Blocks = [
        {"type": "section", "text": plain(request.summary)},
        {"type": "context", "elements": [mrkdwn(f"Page {page + 1} of {pages}")]},
    ]
    blocks += [{"type": "section", "text": mrkdwn(f"```\n{chunk}\n```")} for chunk in shown]
    pager = [_page_button("← Previous", page - 1)] if page > 0 else []
    pager += [_page_button("Next →", page + 1)] if page + 1 < pages else []
    if pager:
        blocks.append({"type": "actions", "elements": pager})
    return {
        "type": "modal",
        "callback_id": View.diff,
        "private_metadata": request.id,
        "title": plain("Full diff", 24),
        "close": plain("Close", 24),
        "blocks": blocks,
    }


def _page_button(label: str, page: int) -> dict[str, Any]:
    button = {"type": "button", "action_id": Action.diff_page, "text": plain(label, 75)}
    return button | {"value": str(page)}


def home_view(
    awaiting: list[ApprovalRequest], recent: list[ApprovalRequest], now: datetime
) -> dict[str, Any]:
    """App Home: requests awaiting your vote (with the card's buttons) and your decisions."""
    blocks: Blocks = [{"type": "header", "text": plain("Awaiting your vote", 150)}]
    if not awaiting:
        blocks.append({"type": "section", "text": mrkdwn("Nothing is waiting for you. 🎉")})
    for request in awaiting[:HOME_PENDING]:
        blocks += _home_pending(request, now)
    blocks += [{"type": "divider"}, {"type": "header", "text": plain("Your recent decisions")}]
    if not recent:
        blocks.append({"type": "section", "text": mrkdwn("You have not voted yet.")})
    for request in recent[:HOME_RECENT]:
        blocks.append(_home_recent(request))
    return {"type": "home", "blocks": blocks}


def _home_pending(request: ApprovalRequest, now: datetime) -> Blocks:
    title = f"{RISK_MARK[request.risk]} {request.risk.upper()} · {request.summary}"
    facts = (
        f"{inline_code(request.id, 60)} · {inline_code(request.action, 130)} · "
        f"{len(request.approvals)} of {request.required_approvals} approvals · "
        f"expires {date(request.expires_at, '{time}')} ({time_left(now, request.expires_at)})"
    )
    return [
        {"type": "section", "text": plain(title)},
        {"type": "context", "elements": [mrkdwn(facts)]},
        decision_buttons(request, f"{Block.decision}:{request.id}"),
    ]


def _home_recent(request: ApprovalRequest) -> dict[str, Any]:
    text = f"{inline_code(request.id, 60)} {clip(outcome_line(request), 2000)}"
    return {"type": "section", "text": mrkdwn(text), "fields": [plain(request.summary, 2000)]}
