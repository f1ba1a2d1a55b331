"""Time and follow-up under a controlled clock: reminders, escalation, expiry."""

from __future__ import annotations

from bot.slack.actions import Action
from tests.slack.conftest import SlackWorld, has_buttons, visible


async def _at_minute(world: SlackWorld, minute: float, created: float) -> None:
    world.clock.advance(created + minute * 60 - world.clock().timestamp())
    await world.runtime.service.sweep()
    await world.settle()


async def test_reminders_escalation_and_expiry(world: SlackWorld) -> None:
    request = await world.submit()
    created = world.clock().timestamp()
    card = await world.card(request["id"])

    await _at_minute(world, 3, created)
    (first,) = [m.text for m in world.slack.thread(card.channel, card.ts)]
    assert first.startswith("🔔 Reminder: 2 more approvals needed, 7 min left")
    for who in [
        "<@U0ALICE01>",
        "<@U0BOB0002>",
        "<@U0CAROL03>",
        "<@U0ERIN005>",
        "<!subteam^S0ONCALL1>",
    ]:
        assert who in first
    assert "<@U0OWNER01>" not in first

    await world.click("U0ALICE01", Action.approve, request["id"])
    await world.settle()
    await _at_minute(world, 6, created)
    second = world.slack.thread(card.channel, card.ts)[-1].text
    assert second.startswith("🔔 Reminder: 1 more approval needed, 4 min left")
    assert "<@U0ALICE01>" not in second and "<@U0BOB0002>" in second

    await _at_minute(world, 8, created)
    (escalated,) = world.slack.in_channel("#oncall-escalations")
    shown = visible(escalated.blocks)
    assert "🚨 Escalation: a *critical* request still needs 1 more approval; 2 min left." in shown
    assert f"<https://fake-slack.test/archives/{card.channel}/p" in shown
    assert "Recreate prod-cn-north-1" in shown

    await _at_minute(world, 10, created)
    final = visible(card.blocks)
    assert "*Expired*" in final and "with 1 of 2 approvals; the agent was told no" in final
    assert not has_buttons(card.blocks)
    (dm,) = world.slack.in_channel("D0OWNER01")
    assert "Your agent's request was *expired*" in visible(dm.blocks)
    status = await world.api.client.get(
        f"/v1/requests/{request['id']}", headers=world.api.auth(world.token)
    )
    assert status.json()["status"] == "expired"
    reminders = [m for m in world.slack.thread(card.channel, card.ts) if "Reminder" in m.text]
    assert len(reminders) == 2


async def test_no_reminder_after_decision(world: SlackWorld) -> None:
    request = await world.submit()
    created = world.clock().timestamp()
    card = await world.card(request["id"])
    for user in ("U0ALICE01", "U0BOB0002"):
        await world.click(user, Action.approve, request["id"])
    await world.settle()
    await _at_minute(world, 9, created)
    assert not any("Reminder" in m.text for m in world.slack.thread(card.channel, card.ts))
    assert world.slack.in_channel("#oncall-escalations") == []
