"""The card builder: whatever an agent sends, the card fits Block Kit and stays inert."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.models import Approval, ApprovalRequest, Denial, RequestIn, Status
from bot.policy import Policy
from bot.slack.blocks import card
from bot.slack.messages import escalation, requester_dm, vote_logged
from bot.slack.text import code_safe, units
from bot.slack.views import DIFF_CHUNK, DiffPages, deny_modal, diff_chunks, diff_modal, home_view
from tests.slack.conftest import PROD_RECREATE, texts_of, visible
from tests.support.fake_slack import block_kit_problems

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
INJECTION = "<!channel> <@U123> <http://evil|click> *bold* _it_ ~s~ `code` ```block``` &amp;"


def build(policy: Policy, **fields: Any) -> ApprovalRequest:
    """A request as the store would return it, rated by the real policy."""
    body = RequestIn.model_validate({**PROD_RECREATE, **fields})
    decision = policy.evaluate(body, "infra-bot")
    return ApprovalRequest(
        **body.model_dump(exclude={"risk_hint", "ttl_seconds"}),
        id="req_0123456789abcdef0123",
        agent="infra-bot",
        agent_owner="U0OWNER01",
        status=Status.pending,
        risk=decision.risk,
        risk_reasons=decision.risk_reasons,
        rule=decision.rule,
        required_approvals=decision.required_approvals,
        eligible_groups=decision.eligible_groups,
        channel=decision.channel,
        created_at=NOW,
        expires_at=NOW + timedelta(seconds=decision.ttl_seconds),
        action_hash=body.action_hash(),
        ttl_seconds=decision.ttl_seconds,
    )


def extreme(policy: Policy) -> ApprovalRequest:
    long_line = "+" + "é" * 5000 + "😀" * 3000
    diff = "\n".join(f"+ line {n} {'x' * 80}" for n in range(11_000)) + "\n" + long_line
    assert 1000 * 1024 < len(diff.encode()) <= 1024 * 1024
    return build(
        policy,
        summary="Ünïcødé 🚀 " + "s" * 290,
        resource="r" * 500,
        command="echo " + "&<>" * 20_000,
        diff=diff,
        scope={
            "permissions": [f"service{n}:Action{'A' * 200}" for n in range(499)] + ["iam:*"],
            "resources": [f"arn:aws:s3:::bucket-{n}/{'k' * 900}" for n in range(500)],
        },
        justification="j" * 4000,
        params={"blob": "p" * 60_000},
    )


def test_typical_card_shows_what_an_approver_needs(policy: Policy) -> None:
    blocks = card(build(policy), NOW)
    assert block_kit_problems(blocks) == []
    shown = visible(blocks)
    assert blocks[0]["text"]["text"] == "🔴 CRITICAL · Recreate prod-cn-north-1"
    for expected in [
        "`infra-bot` (run by <@U0OWNER01>)",
        "*On behalf of*\n<@U0OWNER01>",
        "`environment.recreate`",
        "`prod-cn-north-1`",
        "2 approvals from `oncall`, `platform-leads`",
        "<!date^1767269400^{date_short_pretty} at {time}|2026-01-01 12:10 UTC> (10 min left)",
        "`iam:*` ⚠️ *wildcard* (critical)",
        "```\nterraform destroy -auto-approve &amp;&amp; terraform apply\n```",
        "- instance i-123\n+ instance i-456",
        "production environment: prod",
        "0 of 2 approvals",
        "rule `production-environment-changes`",
    ]:
        assert expected in shown, expected
    approve = blocks[-2]["elements"][0]
    assert approve["style"] == "primary" and approve["confirm"]["title"]["text"]
    assert blocks[-2]["elements"][1]["style"] == "danger"


def test_confirm_dialog_only_for_critical(policy: Policy) -> None:
    deploy = build(
        policy,
        action="deploy.service",
        environment="staging",
        command="",
        diff="",
        scope={"permissions": []},
    )
    approve = card(deploy, NOW)[-2]["elements"][0]
    assert "confirm" not in approve


def test_extreme_input_fits_block_kit(policy: Policy) -> None:
    request = extreme(policy)
    blocks = card(request, NOW)
    assert block_kit_problems(blocks) == []
    shown = visible(blocks)
    assert "`iam:*` ⚠️ *wildcard*" in shown  # flagged permissions come first
    assert re.search(r"…and \d+ more", shown)
    assert re.search(r"\+\d+ more lines", shown)
    assert all(len(b.get("value", "")) <= 2000 for b in blocks[-2]["elements"])


def test_extreme_input_fits_every_surface(policy: Policy) -> None:
    request = extreme(policy)
    decided = request.model_copy(
        update={
            "status": Status.denied,
            "decided_at": NOW,
            "decided_by": "U0BOB0002",
            "denial": Denial(user="U0BOB0002", at=NOW, reason="r" * 2000),
        }
    )
    surfaces = [
        card(decided, NOW),
        deny_modal(request, "C1")["blocks"],
        home_view([request] * 20, [decided] * 20, NOW)["blocks"],
        requester_dm(decided, "https://x.test/p").blocks,
        escalation(request, "https://x.test/p", NOW).blocks,
        vote_logged(decided, "U0BOB0002", "deny").blocks,
    ]
    for blocks in surfaces:
        assert block_kit_problems(blocks, 100) == []


def test_full_diff_pages_cover_every_line(policy: Policy) -> None:
    request = extreme(policy)
    chunks = diff_chunks(request.diff)
    assert len(chunks) > 20
    first, last = diff_modal(request, 0, chunks), diff_modal(request, 10_000, chunks)
    for view in (first, last):
        assert block_kit_problems(view["blocks"], 100) == []
    assert "Page 1 of" in visible(first["blocks"])
    assert "Next →" in visible(first["blocks"]) and "Next →" not in visible(last["blocks"])
    joined = "\n".join(chunks).replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">")
    # A line longer than one block is wrapped, so compare without line breaks: nothing is lost.
    assert joined.replace("\n", "") == request.diff.replace("\n", "").replace("`", "\u02cb")


def _outside_code(text: str) -> str:
    return re.sub(r"```.*?```|`[^`]*`", "", text, flags=re.S)


@pytest.mark.parametrize("field", ["summary", "resource", "command", "diff", "justification"])
def test_agent_text_cannot_mention_link_or_format(policy: Policy, field: str) -> None:
    value = INJECTION if field != "resource" else INJECTION[:400]
    request = build(policy, **{field: value})
    blocks = card(request, NOW)
    assert block_kit_problems(blocks) == []
    mrkdwn_texts = _mrkdwn(blocks)
    raw = json.dumps(mrkdwn_texts, ensure_ascii=False)
    for forged in ["<!channel>", "<@U123>", "<http://evil|click>"]:
        assert forged not in raw
    for text in mrkdwn_texts:
        outside = _outside_code(text)
        for formatting in ["*bold*", "_it_", "~s~"]:
            assert formatting not in outside, (field, text)
    shown = visible(blocks)
    assert "&lt;!channel&gt;" in shown or "<!channel>" in _plain(blocks)


def _mrkdwn(node: Any) -> list[str]:
    return _texts_of_type(node, "mrkdwn")


def _plain(node: Any) -> str:
    return "\n".join(_texts_of_type(node, "plain_text"))


def _texts_of_type(node: Any, kind: str) -> list[str]:
    found: list[str] = []
    if isinstance(node, dict):
        if node.get("type") == kind and isinstance(node.get("text"), str):
            found.append(node["text"])
        for value in node.values():
            found += _texts_of_type(value, kind)
    elif isinstance(node, list):
        for item in node:
            found += _texts_of_type(item, kind)
    return found


def test_card_after_decision_has_no_buttons_and_names_deciders(policy: Policy) -> None:
    approved = build(policy).model_copy(
        update={
            "status": Status.approved,
            "decided_at": NOW,
            "decided_by": "U0BOB0002",
            "approvals": [Approval(user="U0ALICE01", at=NOW), Approval(user="U0BOB0002", at=NOW)],
        }
    )
    blocks = card(approved, NOW)
    assert not any(b["type"] == "actions" for b in blocks)
    assert "*Approved* by <@U0ALICE01>, <@U0BOB0002>" in visible(blocks)
    assert "min left" not in visible(blocks)


def test_texts_are_never_empty(policy: Policy) -> None:
    request = build(policy, summary=" ", command="", diff="", justification="")
    assert all(t.strip() for t in texts_of(card(request, NOW)))


def test_a_megabyte_of_short_lines_is_cut_into_every_line_in_order(policy: Policy) -> None:
    lines = [f"{'+-'[n % 2]} line {n} <b> & `x`" for n in range(46_000)]
    diff = "\n".join(lines) + "\n"
    assert 1000 * 1024 <= len(diff.encode()) <= 1024 * 1024
    chunks = diff_chunks(diff)
    assert all(0 < units(chunk) <= DIFF_CHUNK for chunk in chunks)
    assert "\n".join(chunks).split("\n") == [code_safe(line) for line in lines]
    assert DiffPages().chunks(build(policy, diff=diff)) == chunks


def test_lines_longer_than_a_chunk_are_split_within_limits_and_kept_whole() -> None:
    diff = "short\n" + "&" * 7000 + "\n" + "😀é" * 4000 + "\nend"
    chunks = diff_chunks(diff)
    assert all(0 < units(chunk) <= DIFF_CHUNK for chunk in chunks)
    assert "".join(chunks).replace("\n", "") == code_safe(diff).replace("\n", "")
    assert not any(chunk.endswith("&amp") or chunk.startswith("amp;") for chunk in chunks)
