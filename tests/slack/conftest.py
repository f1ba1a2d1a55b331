"""Fixtures for the Slack adapter: a fake Slack, a served app with the adapter, signed senders."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import pytest
from pydantic import SecretStr

from bot.api.app import Adapter
from bot.clock import ManualClock
from bot.outbox import LEASE_SECONDS
from bot.runtime import Runtime
from bot.settings import Settings
from bot.slack.actions import DENY_REASON_INPUT, Action, Block
from bot.slack.adapter import slack_adapter
from tests.conftest import AgentFactory, Api, ApiFactory, RuntimeFactory
from tests.support.fake_slack import FakeSlack, Message
from tests.support.slack_signing import SlackSender, block_action, view_submission

SECRET = "test-signing-secret"
ONCALL = ["U0ALICE01", "U0BOB0002", "U0CAROL03"]
PROD_RECREATE: dict[str, Any] = {
    "action": "environment.recreate",
    "summary": "Recreate prod-cn-north-1",
    "resource": "prod-cn-north-1",
    "environment": "prod",
    "command": "terraform destroy -auto-approve && terraform apply",
    "diff": "- instance i-123\n+ instance i-456\n",
    "scope": {"permissions": ["ec2:TerminateInstances", "cloudformation:DeleteStack", "iam:*"]},
    "justification": "Drifted beyond repair.",
    "on_behalf_of": "U0OWNER01",
}
DEPLOY = {
    "action": "deploy.service",
    "summary": "Deploy api v2",
    "environment": "staging",
    "on_behalf_of": "U0OWNER01",
}


@pytest.fixture
async def fake_slack() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as slack:
        slack.usergroups["S0ONCALL1"] = ["U0GROUP01"]
        yield slack


@pytest.fixture
def slack_settings(settings: Settings, fake_slack: FakeSlack) -> Settings:
    return settings.model_copy(
        update={
            "slack_bot_token": SecretStr("xoxb-test-token"),
            "slack_signing_secret": SecretStr(SECRET),
            "slack_api_url": fake_slack.api_url,
        }
    )


class SlackWorld:
    """A running Countersign with the Slack adapter, the fake Slack, and a signed sender."""

    def __init__(self, api: Api, slack: FakeSlack, clock: ManualClock, token: str) -> None:
        self.api = api
        self.slack = slack
        self.clock = clock
        self.token = token
        self.sender = SlackSender(api.client, SECRET, response_url=slack.response_url())

    @property
    def runtime(self) -> Runtime:
        return self.api.runtime

    async def submit(self, body: dict[str, Any] | None = None, **fields: Any) -> dict[str, Any]:
        """Create a request as the agent would, over HTTP."""
        response = await self.api.client.post(
            "/v1/requests",
            json={**(body or PROD_RECREATE), **fields},
            headers=self.api.auth(self.token),
        )
        assert response.status_code == 201, response.text
        return dict(response.json())

    async def settle(self, timeout: float = 30.0) -> None:
        """Deliver every queued Slack job, moving the clock to retries that are due soon."""
        redis, key = self.runtime.redis, self.runtime.keys.outbox("slack")
        async with asyncio.timeout(timeout):
            while True:
                await self.runtime.outbox.drain()
                head = await redis.zrange(key, 0, 0, withscores=True)
                if not head:
                    return
                wait_s = head[0][1] / 1000 - self.clock().timestamp()
                if 0 < wait_s < LEASE_SECONDS / 2:  # a retry: make it due
                    self.clock.advance(wait_s + 0.001)
                else:  # due now, or leased by the background worker: let it run
                    await asyncio.sleep(0.02)

    async def card(self, request_id: str) -> Message:
        """The card as it stands in Slack (posted once, updated in place)."""
        await self.settle()
        cards = [
            m
            for m in self.slack.messages.values()
            if not m.thread_ts and request_id in str(m.blocks)
        ]
        assert len(cards) == 1, f"expected one card for {request_id}, found {len(cards)}"
        return cards[0]

    def payload_of_click(
        self, card: Message, user: str, action: Action, request_id: str
    ) -> dict[str, Any]:
        """What Slack sends when `user` clicks `action` on `card` (for tests that deliver it)."""
        return block_action(
            user,
            action,
            request_id,
            channel=card.channel,
            ts=card.ts,
            response_url=self.slack.response_url(),
        )

    async def click(self, user: str, action: Action, request_id: str) -> None:
        card = await self.card(request_id)
        response = await self.sender.click(
            user, action, request_id, channel=card.channel, ts=card.ts
        )
        assert response.status_code == 200, response.text

    async def open_deny_modal(self, user: str, request_id: str) -> dict[str, Any]:
        """Click Deny on the card; the reason modal Slack was asked to open."""
        await self.click(user, Action.deny, request_id)

        def opened() -> list[dict[str, Any]]:
            views = [c.response["view"] for c in self.slack.calls_to("views.open", ok=True)]
            return [v for v in views if request_id in v.get("private_metadata", "")]

        views: list[dict[str, Any]] = await self.slack.wait_until(opened)
        return dict(views[-1])

    async def deny(self, user: str, request_id: str, reason: str | None) -> None:
        """Deny through the modal, as a person would: click Deny, write the reason, submit."""
        modal = await self.open_deny_modal(user, request_id)
        response = await self.sender.interact(
            view_submission(user, modal, deny_reason_values(reason))
        )
        assert response.status_code == 200 and not response.content, response.text

    async def click_from_home(self, user: str, action: Action, request_id: str) -> None:
        """A click on App Home's buttons: no channel, no message."""
        view = {"type": "home", "id": f"home-{user}", "hash": "h"}
        response = await self.sender.click(user, action, request_id, view=view)
        assert response.status_code == 200, response.text

    async def ephemeral_for(self, user: str, count: int = 1) -> list[str]:
        """Texts of ephemeral messages shown to `user`, waiting until `count` arrived."""

        def texts() -> list[str]:
            found = [e["text"] for e in self.slack.ephemerals if e["user"] == user]
            return found if len(found) >= count else []

        result: list[str] = await self.slack.wait_until(texts)
        return result


WorldFactory = Callable[..., AbstractAsyncContextManager[SlackWorld]]


@pytest.fixture
def start_world(
    serve_api: ApiFactory,
    make_runtime: RuntimeFactory,
    slack_settings: Settings,
    fake_slack: FakeSlack,
    clock: ManualClock,
) -> WorldFactory:
    """`async with start_world(token, more=[adapters]) as world:` a fresh server on one Redis."""

    @asynccontextmanager
    async def start(token: str, more: Sequence[Adapter] = ()) -> AsyncIterator[SlackWorld]:
        runtime = make_runtime(settings=slack_settings)
        adapters = [slack_adapter(slack_settings), *more]
        async with serve_api(runtime=runtime, adapters=adapters) as api:
            yield SlackWorld(api, fake_slack, clock, token)

    return start


@pytest.fixture
async def world(start_world: WorldFactory, add_agent: AgentFactory) -> AsyncIterator[SlackWorld]:
    _, token = await add_agent("infra-bot", owner="U0OWNER01")
    async with start_world(token) as world:
        yield world


def deny_reason_values(text: str | None) -> dict[str, Any]:
    """The deny modal's `state.values` with `text` typed as the reason (None: left empty)."""
    return {Block.deny_reason: {DENY_REASON_INPUT: {"type": "plain_text_input", "value": text}}}


async def readiness_once(world: SlackWorld, count: str) -> dict[str, Any]:
    """`/readyz` once its Slack check counts something under `count` (e.g. `unposted_cards`):
    a failed call is recorded by the fake before the worker hears the error and notes it."""
    async with asyncio.timeout(20):
        while True:
            ready: dict[str, Any] = (await world.api.client.get("/readyz")).json()
            if ready["checks"]["slack"][count]:
                return ready
            await asyncio.sleep(0.05)


def texts_of(blocks: list[dict[str, Any]], kind: str | None = None) -> list[str]:
    """Every text string in a block tree (or those of one `kind`: `plain_text`, `mrkdwn`)."""
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("text"), str) and kind in (None, node.get("type")):
                found.append(node["text"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(blocks)
    return found


def visible(blocks: list[dict[str, Any]]) -> str:
    return "\n".join(texts_of(blocks))


def has_buttons(blocks: list[dict[str, Any]]) -> bool:
    return any(b["type"] == "actions" for b in blocks)
