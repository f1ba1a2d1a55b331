"""Socket Mode: with SLACK_APP_TOKEN, Slack's deliveries arrive over a WebSocket, not HTTP.

bolt's own aiohttp Socket Mode client connects to the fake Slack (`apps.connections.open`, then
the `ws://` URL it returns); the fake pushes envelopes and records the app's acks.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
from pydantic import SecretStr

from bot.api.app import create_app
from bot.clock import ManualClock
from bot.settings import Settings
from bot.slack.actions import Action
from bot.slack.adapter import slack_adapter
from tests.conftest import AgentFactory, Api, RuntimeFactory
from tests.slack.conftest import SlackWorld, visible
from tests.support.fake_slack import FakeSlack
from tests.support.http_server import serving
from tests.support.slack_signing import slash_command

APP_TOKEN = "xapp-1-test"


@pytest.fixture
async def socket_world(
    make_runtime: RuntimeFactory,
    slack_settings: Settings,
    fake_slack: FakeSlack,
    clock: ManualClock,
    add_agent: AgentFactory,
) -> AsyncIterator[SlackWorld]:
    """Countersign in Socket Mode: an app token and no signing secret."""
    settings = slack_settings.model_copy(
        update={"slack_app_token": SecretStr(APP_TOKEN), "slack_signing_secret": None}
    )
    _, token = await add_agent("infra-bot", owner="U0OWNER01")
    runtime = make_runtime(settings=settings)
    # Built outside any event loop, as `countersign serve` builds it.
    app = await asyncio.to_thread(create_app, runtime, [slack_adapter(settings)])
    async with serving(app) as url, httpx.AsyncClient(base_url=url, timeout=30) as client:
        yield SlackWorld(Api(client, runtime, url), fake_slack, clock, token)


async def test_click_over_the_websocket_records_the_vote_and_is_acked(
    socket_world: SlackWorld,
) -> None:
    world, slack = socket_world, socket_world.slack
    request = await world.submit()
    card = await world.card(request["id"])
    click = world.payload_of_click(card, "U0ALICE01", Action.approve, request["id"])
    envelope = await slack.send_envelope("interactive", click)
    assert await slack.ack_of(envelope) == {"envelope_id": envelope}

    await world.slack.wait_until(lambda: "1 of 2 approvals" in visible(card.blocks))
    voted = await world.runtime.service.get(request["id"])
    assert [a.user for a in voted.approvals] == ["U0ALICE01"]
    [opened] = slack.calls_to("apps.connections.open")
    assert opened.authorization == f"Bearer {APP_TOKEN}"  # the app-level token, not the bot's

    again = await slack.send_envelope("interactive", click)  # Slack redelivers: acked, once
    assert await slack.ack_of(again) == {"envelope_id": again}
    await world.settle()
    assert len((await world.runtime.service.get(request["id"])).approvals) == 1

    response_url = slack.response_url("socket")
    command = slash_command("U0BOB0002", "help", channel="C0GENERAL", response_url=response_url)
    typed = await slack.send_envelope("slash_commands", command, accepts_response_payload=True)
    assert (await slack.ack_of(typed))["envelope_id"] == typed
    replies = await slack.wait_until(lambda: slack.responses)
    assert replies[0]["text"] == "Countersign commands"
    assert replies[0]["response_type"] == "ephemeral"

    events = await world.api.client.post("/slack/events", json={"type": "url_verification"})
    assert events.status_code == 404  # nothing listens over HTTP in Socket Mode
