"""Example cards as Block Kit JSON in docs/cards/, for review in Slack's Block Kit Builder.

Run `COUNTERSIGN_WRITE_CARDS=1 pytest tests/slack/test_example_cards.py` after changing the card
to rewrite them; otherwise this test fails when the committed examples are out of date.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from bot.models import Approval, Status
from bot.policy import Policy
from bot.slack.blocks import card
from tests.slack.test_blocks import NOW, build, extreme
from tests.support.fake_slack import block_kit_problems

CARDS = Path(__file__).resolve().parents[2] / "docs" / "cards"


def examples(policy: Policy) -> dict[str, list[dict[str, object]]]:
    typical = build(policy)
    one_vote = typical.model_copy(update={"approvals": [Approval(user="U0ALICE01", at=NOW)]})
    approved = one_vote.model_copy(
        update={
            "status": Status.approved,
            "decided_at": NOW,
            "decided_by": "U0BOB0002",
            "approvals": [*one_vote.approvals, Approval(user="U0BOB0002", at=NOW)],
        }
    )
    return {
        "typical-pending": card(typical, NOW),
        "typical-one-of-two": card(one_vote, NOW),
        "typical-approved": card(approved, NOW),
        "extreme-pending": card(extreme(policy), NOW),
    }


@pytest.mark.parametrize(
    "name", ["typical-pending", "typical-one-of-two", "typical-approved", "extreme-pending"]
)
def test_example_cards_are_current(policy: Policy, name: str) -> None:
    blocks = examples(policy)[name]
    assert block_kit_problems(blocks) == []
    text = json.dumps({"blocks": blocks}, ensure_ascii=False, indent=2) + "\n"
    path = CARDS / f"{name}.json"
    if os.environ.get("COUNTERSIGN_WRITE_CARDS"):
        CARDS.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.read_text(encoding="utf-8") == text, "rerun with COUNTERSIGN_WRITE_CARDS=1"
