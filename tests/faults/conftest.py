"""Fixtures for fault tests: a fake Slack, `countersign serve` subprocesses, signed clicks."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.slack.actions import Action
from tests.faults.processes import SIGNING_SECRET, ServerProcess
from tests.support.fake_slack import FakeSlack
from tests.support.redis_server import RedisServer
from tests.support.slack_signing import SlackSender

DEPLOY: dict[str, Any] = {
    "action": "deploy.service",
    "summary": "Deploy api v2",
    "environment": "staging",
    "on_behalf_of": "U0OWNER01",
}
APPROVER = "U0ALICE01"


@pytest.fixture
async def fake_slack() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as slack:
        slack.usergroups["S0ONCALL1"] = ["U0GROUP01"]
        yield slack


ServerFactory = Callable[..., ServerProcess]


@pytest.fixture
def server_process(
    redis_server: RedisServer, fake_slack: FakeSlack, tmp_path: Path
) -> Iterator[ServerFactory]:
    """Build (not start) `countersign serve` processes; all are stopped at the end."""
    started: list[ServerProcess] = []

    def make(redis_url: str | None = None, **env: str) -> ServerProcess:
        server = ServerProcess(redis_url or redis_server.url, fake_slack.api_url, tmp_path, **env)
        started.append(server)
        return server

    yield make
    for server in started:
        server.stop()


async def approve(client: httpx.AsyncClient, request_id: str, user: str = APPROVER) -> int:
    """A signed Approve click, as Slack sends it; returns the HTTP status."""
    sender = SlackSender(client, SIGNING_SECRET, response_url="http://127.0.0.1:9/unused")
    response = await sender.click(user, Action.approve, request_id, channel="C0X", ts="1.0")
    return response.status_code


@contextlib.asynccontextmanager
async def client_for(base_url: str, token: str) -> AsyncIterator[httpx.AsyncClient]:
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=10) as client:
        yield client
