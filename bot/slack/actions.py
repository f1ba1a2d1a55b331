"""Every action, view callback and block id the Slack app uses, in one place."""

from __future__ import annotations

from enum import StrEnum


class Action(StrEnum):
    """`action_id`s of interactive elements; each has one listener in `listeners.py`."""

    approve = "countersign.approve"
    deny = "countersign.deny"
    view_diff = "countersign.view_diff"
    diff_page = "countersign.diff_page"
    history_page = "countersign.history_page"
    answer = "countersign.answer"  # a question from an agent: open the answer modal


class View(StrEnum):
    """`callback_id`s of modals."""

    deny = "countersign.deny_modal"
    diff = "countersign.diff_modal"
    answer = "countersign.answer_modal"


class Block(StrEnum):
    """`block_id`s that listeners read values from."""

    decision = "decision"
    deny_reason = "deny_reason"
    question = "question"
    answer_text = "answer_text"
    answer_option = "answer_option"


DENY_REASON_INPUT = "reason"
ANSWER_INPUT = "answer"
OPTION_INPUT = "option"
