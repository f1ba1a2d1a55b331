"""`/countersign` subcommands and App Home, over signed HTTP like Slack sends them."""

from __future__ import annotations

import json
from typing import Any

from bot.models import ApprovalRequest, PolicyDecision
from bot.slack.actions import Action
from bot.store import Store
from tests.conftest import AgentFactory
from tests.slack.conftest import DEPLOY, SlackWorld, WorldFactory, has_buttons, visible

AUDITOR = "U0MGR0001"
MIGRATION = {"action": "db.migrate", "summary": "Migrate", "on_behalf_of": "U0OWNER01"}


async def _command(world: SlackWorld, user: str, text: str) -> dict[str, Any]:
    """Run a command and return the ephemeral reply posted to its response_url."""
    before = len(world.slack.responses)
    response = await world.sender.command(user, text)
    assert response.status_code == 200
    await world.slack.wait_until(lambda: len(world.slack.responses) > before)
    reply = world.slack.responses[before]
    assert reply["response_type"] == "ephemeral"
    return reply


async def _refusal(world: SlackWorld, user: str, text: str) -> str:
    response = await world.sender.command(user, text)
    assert response.status_code == 200
    (said,) = await world.ephemeral_for(user)
    return said


async def test_help(world: SlackWorld) -> None:
    for text in ("help", ""):
        reply = await _command(world, "U0ALICE01", text)
        assert "`pending`" in visible(reply["blocks"]) and "`stats" in visible(reply["blocks"])


async def test_pending_lists_what_you_may_act_on(world: SlackWorld) -> None:
    request = await world.submit()
    mine = visible((await _command(world, "U0ALICE01", "pending"))["blocks"])
    assert "1 request await your vote" in mine and request["id"] in mine
    owner = visible((await _command(world, "U0OWNER01", "pending"))["blocks"])
    assert "Nothing is waiting for your vote" in owner
    await world.runtime.service.vote(request["id"], "U0ALICE01", approve=True)
    after = visible((await _command(world, "U0ALICE01", "pending"))["blocks"])
    assert "Nothing is waiting for your vote" in after


async def test_show_renders_the_card_for_those_who_may_see_it(world: SlackWorld) -> None:
    request = await world.submit(on_behalf_of="U0FRANK06")
    # a direct approver, a user-group member, the requester, the agent's owner, an auditor
    for user in ("U0ALICE01", "U0GROUP01", "U0FRANK06", "U0OWNER01", AUDITOR):
        reply = await _command(world, user, f"show {request['id']}")
        assert "CRITICAL · Recreate prod-cn-north-1" in visible(reply["blocks"]), user
    assert has_buttons(reply["blocks"])


async def test_show_to_anyone_else_is_the_same_as_an_unknown_id(world: SlackWorld) -> None:
    request = await world.submit()  # in #prod-approvals; U0DAVE004 is a dba, not on call
    for text in (f"show {request['id']}", "show req_missing"):
        assert (await world.sender.command("U0DAVE004", text)).status_code == 200
    said = await world.ephemeral_for("U0DAVE004", 2)
    unknown = "Request '{}' was not found."
    assert sorted(said) == sorted([unknown.format(request["id"]), unknown.format("req_missing")])
    assert world.slack.responses == []  # no card went to the response_url


async def test_history_and_stats_are_for_auditors_only(world: SlackWorld) -> None:
    assert await _refusal(world, "U0ALICE01", "history") == (
        "History and stats are only for auditors (`auditors` in policy.yaml)."
    )


async def test_history_filters_and_pages(world: SlackWorld) -> None:
    approved = []
    for n in range(12):
        world.clock.advance(1)  # newest first: give each its own creation time
        request = await world.submit(DEPLOY, summary=f"Deploy {n}")
        await world.runtime.service.vote(request["id"], "U0ALICE01", approve=True)
        approved.append(request["id"])
    critical = await world.submit()

    first = await _command(world, AUDITOR, "history agent:infra-bot status:approved since:7d")
    shown = visible(first["blocks"])
    assert shown.count("✅ approved by `U0ALICE01`") == 10
    assert critical["id"] not in shown
    assert all(i in shown for i in approved[2:]) and approved[0] not in shown
    button = first["blocks"][-1]["elements"][0]
    assert button["action_id"] == Action.history_page

    before = len(world.slack.responses)
    await world.sender.click(AUDITOR, Action.history_page, button["value"])
    await world.slack.wait_until(lambda: len(world.slack.responses) > before)
    second = world.slack.responses[before]
    assert second["replace_original"] is True
    assert approved[0] in visible(second["blocks"]) and approved[1] in visible(second["blocks"])
    assert not has_buttons(second["blocks"])

    by_user = visible(
        (await _command(world, AUDITOR, "history user:<@U0ALICE01|alice> risk:critical"))["blocks"]
    )
    assert "No requests match." in by_user
    pending = visible((await _command(world, AUDITOR, "history status:pending"))["blocks"])
    assert critical["id"] in pending


async def test_history_rejects_unknown_filters(world: SlackWorld) -> None:
    said = await _refusal(world, AUDITOR, "history colour:blue")
    assert said.startswith("Unknown filter `colour`. Filters: `agent:`")


async def test_history_and_stats_refuse_times_out_of_range(world: SlackWorld) -> None:
    commands = {
        "history since:999999d": "at most 36500d",
        "stats until:0001-01-01T00:00+01:00": "ISO 8601",
    }
    for count, (text, problem) in enumerate(commands.items(), start=1):
        assert (await world.sender.command(AUDITOR, text)).status_code == 200
        said = (await world.ephemeral_for(AUDITOR, count))[-1]
        assert problem in said, said


async def test_stats_counts_outcomes_and_times_to_decision(world: SlackWorld) -> None:
    for seconds in (60, 120, 300):
        request = await world.submit(DEPLOY)
        world.clock.advance(seconds)
        await world.runtime.service.vote(request["id"], "U0BOB0002", approve=True)
    denied = await world.submit(DEPLOY)
    await world.runtime.service.vote(denied["id"], "U0BOB0002", approve=False, comment="no")
    reply = await _command(world, AUDITOR, "stats since:30d")
    shown = visible(reply["blocks"])
    assert "*4* requests · pending: *0* · approved: *3* · denied: *1*" in shown
    assert "median *90 s*, p90 *5 min*" in shown  # the denial took 0 s
    assert "Approval rate 75% · denial rate 25% · expiry rate 0%" in shown


async def test_app_home_lists_and_votes(world: SlackWorld) -> None:
    request = await world.submit()
    other = await world.submit(DEPLOY)
    await world.runtime.service.vote(other["id"], "U0ALICE01", approve=True)
    await world.sender.event(
        {"type": "app_home_opened", "user": "U0ALICE01", "tab": "home"}, event_id="Ev0HOME2"
    )
    home = await world.slack.wait_until(lambda: world.slack.views.get("home:U0ALICE01"))
    shown = visible(home["blocks"])
    assert "Recreate prod-cn-north-1" in shown and "Your recent decisions" in shown
    assert "*Approved* by <@U0ALICE01>" in shown
    buttons = next(b for b in home["blocks"] if b["type"] == "actions")["elements"]
    assert json.dumps(buttons[0]["confirm"])  # critical: the same confirm as on the card

    published = len(world.slack.calls_to("views.publish"))
    await world.click_from_home("U0ALICE01", Action.approve, request["id"])
    await world.slack.wait_until(lambda: len(world.slack.calls_to("views.publish")) > published)
    home = world.slack.views["home:U0ALICE01"]
    assert "Nothing is waiting for you" in visible(home["blocks"])
    await world.settle()
    assert "1 of 2 approvals" in visible((await world.card(request["id"])).blocks)


class CountingStore(Store):
    """The real store, counting the full request documents it loads."""

    documents = 0

    async def get(self, request_id: str) -> ApprovalRequest | None:
        self.documents += 1
        return await super().get(request_id)

    async def get_many(self, request_ids: list[str]) -> list[ApprovalRequest]:
        self.documents += len(request_ids)
        return await super().get_many(request_ids)

    async def policy_of(self, request_id: str) -> PolicyDecision | None:
        self.documents += 1
        return await super().policy_of(request_id)


async def test_app_home_and_pending_load_only_what_they_show(
    start_world: WorldFactory, add_agent: AgentFactory
) -> None:
    _, token = await add_agent("infra-bot", rate_per_minute=1000)
    async with start_world(token) as world:
        mine = []
        for n in range(50):
            world.clock.advance(1)
            if n % 17 == 5:  # a migration: the dba U0DAVE004 may vote on it
                mine.append((await world.submit(MIGRATION, summary=f"Migrate {n}"))["id"])
            else:
                await world.submit(DEPLOY, summary=f"Deploy {n}")
        await world.settle()  # every card posted: nothing else loads requests from here on
        counting = CountingStore(world.runtime.redis, world.runtime.keys)
        world.runtime.store = world.runtime.service.store = counting

        await world.sender.event(
            {"type": "app_home_opened", "user": "U0DAVE004", "tab": "home"}, event_id="Ev0HOME3"
        )
        home = await world.slack.wait_until(lambda: world.slack.views.get("home:U0DAVE004"))
        shown = [
            e["value"] for b in home["blocks"] if b["type"] == "actions" for e in b["elements"]
        ]
        assert len(mine) == 3 and sorted(set(shown)) == sorted(mine)
        assert counting.documents == 3

        reply = visible((await _command(world, "U0DAVE004", "pending"))["blocks"])
        assert "3 requests await your vote" in reply and all(i in reply for i in mine)
        assert counting.documents == 6

        # A request stored before the light `policy` field existed is still found.
        await world.runtime.redis.hdel(world.runtime.keys.request(mine[0]), "policy")
        reply = visible((await _command(world, "U0DAVE004", "pending"))["blocks"])
        assert "3 requests await your vote" in reply
