"""Faults: forged and stale signatures, Slack's retries and replays, 429s and 500s."""

from __future__ import annotations

import asyncio
import time

import pytest

from bot.slack.actions import Action
from bot.slack.cards import SlackState
from tests.slack.conftest import SlackWorld, has_buttons, readiness_once, visible


@pytest.mark.parametrize(
    "tamper",
    [{"secret": "wrong-secret"}, {"timestamp": int(time.time()) - 10 * 60}],
    ids=["forged", "stale"],
)
async def test_bad_signature_is_401_and_nothing_happens(world: SlackWorld, tamper: dict) -> None:
    request = await world.submit()
    card = await world.card(request["id"])
    calls_before = len(world.slack.calls)
    payload = world.payload_of_click(card, "U0ALICE01", Action.approve, request["id"])
    response = await world.sender.interact(payload, **tamper)
    assert response.status_code == 401
    command = await world.sender.command("U0MGR0001", "stats", **tamper)
    assert command.status_code == 401
    await world.settle()
    assert len(world.slack.calls) == calls_before
    state = await world.runtime.service.get(request["id"])
    assert state.approvals == []


async def test_retried_and_replayed_deliveries_count_once(world: SlackWorld) -> None:
    request = await world.submit()
    card = await world.card(request["id"])
    payload = world.payload_of_click(card, "U0ALICE01", Action.approve, request["id"])
    for retry in (None, 1, 2):
        response = await world.sender.interact(payload, retry_num=retry)
        assert response.status_code == 200
    await world.settle()
    state = await world.runtime.service.get(request["id"])
    assert [a.user for a in state.approvals] == ["U0ALICE01"]
    assert len(world.slack.thread(card.channel, card.ts)) == 1
    assert world.slack.ephemerals == []  # a replay is not even refused: it is simply acked

    event = {"type": "app_home_opened", "user": "U0BOB0002", "tab": "home"}
    for retry in (None, 1):
        response = await world.sender.event(event, event_id="Ev0HOME1", retry_num=retry)
        assert response.status_code == 200
    await world.slack.wait_until(lambda: world.slack.calls_to("views.publish"))
    await world.settle()
    assert len(world.slack.calls_to("views.publish")) == 1


async def test_card_posted_after_rate_limits_and_outage_and_shown_in_readyz(
    world: SlackWorld,
) -> None:
    world.slack.fail("chat.postMessage", status=429, retry_after=7, times=2)
    world.slack.fail("chat.postMessage", status=500, times=2)
    request = await world.submit()
    ready = await readiness_once(world, "unposted_cards")
    assert ready["status"] == "ready"
    assert ready["checks"]["slack"]["unposted_cards"] == 1
    assert request["id"] in ready["checks"]["slack"]["errors"]
    pending = await world.runtime.service.get(request["id"])
    assert pending.status == "pending"  # Slack being down never decides anything

    card = await world.card(request["id"])  # settles: retries become due and succeed
    attempts = world.slack.calls_to("chat.postMessage")
    assert [c.status for c in attempts] == [429, 429, 500, 500, 200]
    assert len(world.slack.in_channel("#prod-approvals")) == 1
    assert has_buttons(card.blocks)
    ready = (await world.api.client.get("/readyz")).json()
    assert ready["checks"]["slack"]["unposted_cards"] == 0


async def test_updates_thread_and_dm_delivered_once_through_failures(world: SlackWorld) -> None:
    request = await world.submit()
    card = await world.card(request["id"])
    world.slack.fail("chat.update", status=429, retry_after=3, times=2)
    world.slack.fail("chat.update", status=503, times=1)
    world.slack.fail("conversations.open", status=500, times=2)
    for user in ("U0ALICE01", "U0BOB0002"):
        await world.click(user, Action.approve, request["id"])
    await world.settle()

    assert "*Approved* by <@U0ALICE01>, <@U0BOB0002>" in visible(card.blocks)
    assert not has_buttons(card.blocks)
    thread = [m.text for m in world.slack.thread(card.channel, card.ts)]
    assert sorted(thread) == sorted(
        [
            "✅ <@U0ALICE01> approved (1 of 2)",
            "✅ <@U0BOB0002> approved (2 of 2)",
            next(t for t in thread if t.startswith("✅ *Approved*")),
        ]
    )
    assert len(thread) == 3
    assert len(world.slack.in_channel("D0OWNER01")) == 1
    assert len(world.slack.in_channel("#prod-approvals")) == 1
    assert [c.status for c in world.slack.calls_to("conversations.open")] == [500, 500, 200]


async def test_card_is_posted_even_when_its_created_job_was_lost(world: SlackWorld) -> None:
    request = await world.submit()
    redis, keys = world.runtime.redis, world.runtime.keys
    await redis.delete(keys.outbox("slack"))  # the `created` job is gone
    await world.click_from_home("U0ALICE01", Action.approve, request["id"])
    card = await world.card(request["id"])
    assert "1 of 2 approvals" in visible(card.blocks)
    assert len(world.slack.in_channel("#prod-approvals")) == 1


async def test_card_whose_post_answer_was_lost_is_found_not_posted_twice(
    world: SlackWorld,
) -> None:
    world.slack.fail("chat.postMessage", status=500, lost=True)  # posted; the answer is lost
    request = await world.submit()
    card = await world.card(request["id"])  # settles: the retry looks before it posts
    assert len(world.slack.in_channel("#prod-approvals")) == 1
    assert [c.status for c in world.slack.calls_to("chat.postMessage")] == [500]
    assert world.slack.calls_to("conversations.history", ok=True)
    ready = (await world.api.client.get("/readyz")).json()
    assert ready["checks"]["slack"]["unposted_cards"] == 0

    await world.click("U0ALICE01", Action.approve, request["id"])  # the adopted card is updated
    await world.settle()
    assert "1 of 2 approvals" in visible(card.blocks)
    assert len(world.slack.in_channel("#prod-approvals")) == 1


async def test_thread_replies_and_dms_whose_answers_were_lost_are_not_posted_twice(
    world: SlackWorld,
) -> None:
    request = await world.submit()
    card = await world.card(request["id"])
    world.slack.fail("chat.postMessage", status=500, lost=True)  # the vote's reply is lost
    await world.click("U0ALICE01", Action.approve, request["id"])
    await world.settle()
    # Bob's vote reply, the outcome reply and the requester's DM: each lost once.
    world.slack.fail("chat.postMessage", status=500, lost=True, times=3)
    await world.click("U0BOB0002", Action.approve, request["id"])
    await world.settle()

    replies = [m.text for m in world.slack.thread(card.channel, card.ts)]
    assert len(replies) == 3, replies  # one per vote and one for the outcome, none twice
    assert "U0ALICE01> approved (1 of 2)" in replies[0]
    assert "U0BOB0002> approved (2 of 2)" in replies[1]
    assert "*Approved* by" in replies[2]
    assert len(world.slack.in_channel("D0OWNER01")) == 1
    assert len([c for c in world.slack.calls_to("chat.postMessage") if c.status == 500]) == 4
    assert world.slack.calls_to("conversations.replies", ok=True)
    assert world.slack.calls_to("conversations.history", ok=True)  # the DM's channel


async def test_a_post_that_never_reached_slack_is_made_once(world: SlackWorld) -> None:
    world.slack.fail("chat.postMessage", status=500, times=2)  # refused: nothing was posted
    request = await world.submit()
    await world.card(request["id"])
    assert [c.status for c in world.slack.calls_to("chat.postMessage")] == [500, 500, 200]
    assert len(world.slack.in_channel("#prod-approvals")) == 1


async def test_card_lock_is_held_for_as_long_as_its_holder_works(world: SlackWorld) -> None:
    runtime = world.runtime
    holder = SlackState(runtime.redis, runtime.keys, lock_ms=1500)
    other = SlackState(runtime.redis, runtime.keys)
    async with holder.holding("req_slow") as held:
        assert held
        await asyncio.sleep(2.5)  # a Slack call slower than the lock's expiry
        assert await other.lock("req_slow") is None
    token = await other.lock("req_slow")  # released at once when the holder is done
    assert token is not None
    await other.unlock("req_slow", token)


async def test_web_api_calls_reuse_one_connection(world: SlackWorld) -> None:
    """While the app runs, calls share an HTTP session: cards posted one after another travel
    over a kept-alive connection instead of opening (against slack.com, TLS-handshaking) one
    per call."""
    for n in range(4):
        request = await world.submit(summary=f"card {n}")
        await world.card(request["id"])
    posts = world.slack.calls_to("chat.postMessage", ok=True)
    assert len(posts) >= 4
    assert all(call.peer for call in posts)
    assert len({call.peer for call in posts}) < len(posts)
