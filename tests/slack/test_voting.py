"""Deciding in Slack: the two-person flow, deny with a reason, and every refusal."""

from __future__ import annotations

import pytest

from bot.slack.actions import Action, Block
from tests.slack.conftest import DEPLOY, SlackWorld, deny_reason_values, has_buttons, visible
from tests.support.slack_signing import view_submission


async def test_two_person_flow_end_to_end(world: SlackWorld) -> None:
    request = await world.submit()
    card = await world.card(request["id"])
    assert card.channel == world.slack.channel_id("#prod-approvals")
    shown = visible(card.blocks)
    assert "CRITICAL · Recreate prod-cn-north-1" in shown
    assert "0 of 2 approvals" in shown
    assert has_buttons(card.blocks)

    await world.click("U0ALICE01", Action.approve, request["id"])
    await world.slack.wait_until(lambda: "1 of 2 approvals" in visible(card.blocks))
    await world.settle()
    assert "approved by <@U0ALICE01>" in visible(card.blocks)
    assert has_buttons(card.blocks)

    await world.click("U0BOB0002", Action.approve, request["id"])
    await world.settle()
    final = visible(card.blocks)
    assert "*Approved* by <@U0ALICE01>, <@U0BOB0002>" in final
    assert not has_buttons(card.blocks)

    thread = [m.text for m in world.slack.thread(card.channel, card.ts)]
    assert "✅ <@U0ALICE01> approved (1 of 2)" in thread
    assert "✅ <@U0BOB0002> approved (2 of 2)" in thread
    assert any("*Approved*" in t for t in thread)

    dms = world.slack.in_channel("D0OWNER01")
    assert len(dms) == 1
    assert "Your agent's request was *approved*" in visible(dms[0].blocks)
    assert "Recreate prod-cn-north-1" in visible(dms[0].blocks)

    status = await world.api.client.get(
        f"/v1/requests/{request['id']}", headers=world.api.auth(world.token)
    )
    assert status.json()["status"] == "approved"
    assert world.slack.calls_to("chat.postMessage", ok=True)[0].args["channel"] == "#prod-approvals"
    assert len([m for m in world.slack.in_channel("#prod-approvals")]) == 1


async def test_deny_with_reason_via_the_modal(world: SlackWorld) -> None:
    request = await world.submit()
    modal = await world.open_deny_modal("U0CAROL03", request["id"])
    assert modal["blocks"][1]["optional"] is False  # critical: the reason is required

    empty = await world.sender.interact(
        view_submission("U0CAROL03", modal, deny_reason_values(None))
    )
    assert empty.json() == {
        "response_action": "errors",
        "errors": {Block.deny_reason: "A reason is required to deny a critical request."},
    }
    reason = "Wildcard IAM scope <!channel> is not acceptable"
    done = await world.sender.interact(
        view_submission("U0CAROL03", modal, deny_reason_values(reason))
    )
    assert done.status_code == 200

    card = await world.card(request["id"])
    await world.settle()
    shown = visible(card.blocks)
    assert "*Denied* by <@U0CAROL03>" in shown
    assert "Reason\nWildcard IAM scope <!channel> is not acceptable" in shown  # plain_text
    assert not has_buttons(card.blocks)
    agent_view = await world.api.client.get(
        f"/v1/requests/{request['id']}", headers=world.api.auth(world.token)
    )
    assert agent_view.json()["status"] == "denied"
    assert agent_view.json()["denial"]["reason"] == reason
    dm = world.slack.in_channel("D0OWNER01")[0]
    assert "*denied*" in visible(dm.blocks) and reason in visible(dm.blocks)


async def test_deny_reason_is_optional_below_critical(world: SlackWorld) -> None:
    request = await world.submit(DEPLOY)
    modal = await world.open_deny_modal("U0ALICE01", request["id"])
    assert modal["blocks"][1]["optional"] is True
    await world.sender.interact(view_submission("U0ALICE01", modal, deny_reason_values(None)))
    await world.settle()
    card = await world.card(request["id"])
    assert "*Denied* by <@U0ALICE01>" in visible(card.blocks)


@pytest.mark.parametrize(
    ("user", "why"),
    [
        ("U0OWNER01", "You cannot vote on a request made on your behalf or by your own agent."),
        ("U0STRANGER", "You are not in a group that may approve this request."),
    ],
    ids=["self-approval", "not-eligible"],
)
async def test_refused_click_says_why_and_changes_nothing(
    world: SlackWorld, user: str, why: str
) -> None:
    request = await world.submit()
    await world.click(user, Action.approve, request["id"])
    (text,) = await world.ephemeral_for(user)
    assert text == why
    await world.settle()
    card = await world.card(request["id"])
    assert "0 of 2 approvals" in visible(card.blocks)
    assert world.slack.thread(card.channel, card.ts) == []


async def test_double_click_counts_once(world: SlackWorld) -> None:
    request = await world.submit()
    await world.click("U0ALICE01", Action.approve, request["id"])
    await world.click("U0ALICE01", Action.approve, request["id"])
    (text,) = await world.ephemeral_for("U0ALICE01")
    assert text == "You have already voted on this request."
    await world.settle()
    card = await world.card(request["id"])
    assert "1 of 2 approvals" in visible(card.blocks)
    assert len(world.slack.thread(card.channel, card.ts)) == 1


async def test_late_click_after_decision_is_refused(world: SlackWorld) -> None:
    request = await world.submit(DEPLOY)
    await world.click("U0ALICE01", Action.approve, request["id"])
    await world.settle()
    await world.click("U0BOB0002", Action.approve, request["id"])
    await world.click("U0CAROL03", Action.deny, request["id"])
    (approve_text,) = await world.ephemeral_for("U0BOB0002")
    (deny_text,) = await world.ephemeral_for("U0CAROL03")
    assert approve_text == "This request is already approved; votes are closed."
    assert deny_text == "This request is already approved; votes are closed."
    assert world.slack.calls_to("views.open") == []


async def test_late_click_after_expiry_is_refused(world: SlackWorld) -> None:
    request = await world.submit(DEPLOY)
    await world.settle()
    world.clock.advance(16 * 60)
    await world.click("U0ALICE01", Action.approve, request["id"])
    (text,) = await world.ephemeral_for("U0ALICE01")
    assert text == "This request has expired; votes are closed."
