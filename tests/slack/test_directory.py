"""Eligibility through Slack user groups: members may vote; an unknown group admits nobody."""

from __future__ import annotations

from bot.slack.actions import Action
from tests.slack.conftest import SlackWorld, visible


async def test_usergroup_member_may_vote_and_lookup_is_cached(world: SlackWorld) -> None:
    request = await world.submit()
    await world.click("U0GROUP01", Action.approve, request["id"])
    await world.settle()
    card = await world.card(request["id"])
    assert "approved by <@U0GROUP01>" in visible(card.blocks)
    lookups = world.slack.calls_to("usergroups.users.list", ok=True)
    assert [c.args["usergroup"] for c in lookups] == ["S0ONCALL1"]

    await world.click("U0OTHER99", Action.approve, request["id"])
    (text,) = await world.ephemeral_for("U0OTHER99")
    assert text == "You are not in a group that may approve this request."
    assert len(world.slack.calls_to("usergroups.users.list")) == 1  # answered from the cache

    world.clock.advance(61)
    world.slack.usergroups["S0ONCALL1"] = ["U0GROUP01", "U0OTHER99"]
    await world.click("U0OTHER99", Action.approve, request["id"])
    await world.settle()
    assert "*Approved* by <@U0GROUP01>, <@U0OTHER99>" in visible(card.blocks)


async def test_failed_group_lookup_refuses_the_vote_and_says_so(world: SlackWorld) -> None:
    request = await world.submit()
    world.slack.fail("usergroups.users.list", status=500, times=1)
    await world.click("U0GROUP01", Action.approve, request["id"])
    (text,) = await world.ephemeral_for("U0GROUP01")
    assert text == (
        "Slack could not tell whether you are in <!subteam^S0ONCALL1>, so your vote was refused "
        "(membership that cannot be checked never counts). Try again in a minute."
    )
    await world.settle()
    state = await world.runtime.service.get(request["id"])
    assert state.approvals == []

    await world.click("U0GROUP01", Action.approve, request["id"])  # Slack is back
    await world.settle()
    state = await world.runtime.service.get(request["id"])
    assert [a.user for a in state.approvals] == ["U0GROUP01"]


async def test_direct_approver_needs_no_lookup(world: SlackWorld) -> None:
    request = await world.submit()
    world.slack.fail("usergroups.users.list", status=500, times=5)
    await world.click("U0ALICE01", Action.approve, request["id"])
    await world.settle()
    state = await world.runtime.service.get(request["id"])
    assert [a.user for a in state.approvals] == ["U0ALICE01"]
    assert world.slack.calls_to("usergroups.users.list") == []


async def test_a_vote_slower_than_slacks_deadline_is_acked_in_time_and_still_counts(
    world: SlackWorld,
) -> None:
    request = await world.submit()
    lookup = world.slack.hold("usergroups.users.list")  # a cold, slow group lookup
    await world.click("U0GROUP01", Action.approve, request["id"])  # acked while it waits
    assert (await world.runtime.service.get(request["id"])).approvals == []
    lookup.set()
    card = await world.card(request["id"])
    await world.slack.wait_until(lambda: "approved by <@U0GROUP01>" in visible(card.blocks))
