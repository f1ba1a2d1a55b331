"""A running Countersign for the integrations to talk to, and the humans who decide."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from bot.clock import ManualClock
from bot.integrations.http import install_integrations
from bot.models import ApprovalRequest
from bot.settings import Settings
from bot.slack.actions import Action
from bot.slack.adapter import slack_adapter
from tests.conftest import AgentFactory, Api, ApiFactory, RuntimeFactory
from tests.slack.conftest import SlackWorld, fake_slack, slack_settings  # noqa: F401 - fixtures
from tests.support.fake_slack import FakeSlack

ONCALL = ("U0ALICE01", "U0BOB0002")
A_WEEK = 7 * 24 * 3600 + 60


@pytest.fixture
def clock() -> ManualClock:
    # Grants are checked against the real time by clients, so start the server's clock there.
    return ManualClock(datetime.now(UTC))


@dataclass
class Gateway:
    """The server, an agent token for it, and the people who answer its requests."""

    api: Api
    token: str
    clock: ManualClock
    slack: SlackWorld | None = None  # when set, approvals are signed clicks on the Slack card

    @property
    def url(self) -> str:
        return self.api.base_url

    async def pending(self, timeout: float = 30.0) -> ApprovalRequest:
        """The newest pending request, once an integration has submitted one."""
        store, keys = self.api.runtime.store, self.api.runtime.keys
        async with asyncio.timeout(timeout):
            while not (ids := await store.ids_by_score(keys.by_status("pending"), count=1)):
                await asyncio.sleep(0.02)
        found = await store.get(ids[0])
        assert found is not None
        return found

    async def approve(self, request_id: str, users: tuple[str, ...] = ONCALL) -> ApprovalRequest:
        request = await self.api.runtime.service.get(request_id)
        for user in users[: request.required_approvals]:
            if self.slack is None:
                request = await self.api.runtime.service.vote(request_id, user, approve=True)
            else:
                await self.slack.click(user, Action.approve, request_id)
        return await self.api.runtime.service.get(request_id)

    async def deny(self, request_id: str, reason: str, user: str = "U0CAROL03") -> ApprovalRequest:
        if self.slack is None:
            return await self.api.runtime.service.vote(
                request_id, user, approve=False, comment=reason
            )
        await self.slack.deny(user, request_id, reason)  # Deny on the card, reason in the modal
        return await self.api.runtime.service.get(request_id)

    async def expire(self) -> None:
        self.clock.advance(A_WEEK)
        await self.api.runtime.service.sweep()

    async def decide_next(self, how: str, reason: str = "") -> ApprovalRequest:
        """Wait for the next request and approve, deny or expire it."""
        request = await self.pending()
        if how == "approve":
            return await self.approve(request.id)
        if how == "deny":
            return await self.deny(request.id, reason)
        await self.expire()
        return await self.api.runtime.service.get(request.id)


@pytest.fixture
async def gateway(
    serve_api: ApiFactory, add_agent: AgentFactory, clock: ManualClock
) -> AsyncIterator[Gateway]:
    _, token = await add_agent("infra-bot", rate_per_minute=10_000)  # SDKs poll quickly
    async with serve_api(adapters=[install_integrations]) as api:
        yield Gateway(api, token, clock)


@pytest.fixture
async def slack_gateway(
    serve_api: ApiFactory,
    make_runtime: RuntimeFactory,
    slack_settings: Settings,  # noqa: F811 - the fixture imported above
    fake_slack: FakeSlack,  # noqa: F811
    add_agent: AgentFactory,
    clock: ManualClock,
) -> AsyncIterator[Gateway]:
    """The same, with the Slack adapter on a fake Slack: approvers click the posted card."""
    _, token = await add_agent("infra-bot", rate_per_minute=10_000)  # SDKs poll quickly
    runtime = make_runtime(settings=slack_settings)
    adapters = [slack_adapter(slack_settings), install_integrations]
    async with serve_api(runtime=runtime, adapters=adapters) as api:
        yield Gateway(api, token, clock, SlackWorld(api, fake_slack, clock, token))
