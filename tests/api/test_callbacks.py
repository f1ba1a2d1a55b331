"""Callbacks: signed, delivered from the durable outbox, only to allowed hosts."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot import webhooks
from bot.clock import ManualClock
from bot.principals import Principal
from tests.conftest import AgentFactory, ApiFactory
from tests.support.http_server import serving

BODY: dict[str, Any] = {"action": "deploy.api", "summary": "Deploy", "environment": "staging"}


class Receiver:
    """A callback endpoint that fails the first `failures` deliveries, then records them."""

    def __init__(self, failures: int = 0) -> None:
        self.failures = failures
        self.received: list[tuple[bytes, str]] = []
        self.app = Starlette(routes=[Route("/hook", self.hook, methods=["POST"])])

    async def hook(self, request: Request) -> Response:
        if self.failures:
            self.failures -= 1
            return Response(status_code=503)
        self.received.append((await request.body(), request.headers[webhooks.SIGNATURE_HEADER]))
        return Response(status_code=204)


async def eventually(predicate: Any, timeout: float = 20) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.05)


async def test_decision_is_delivered_signed(serve_api: ApiFactory, add_agent: AgentFactory) -> None:
    _, token = await add_agent(callback_hosts=["127.0.0.1"])
    receiver = Receiver()
    async with serving(receiver.app) as hook_base, serve_api() as api:
        body = {**BODY, "callback_url": f"{hook_base}/hook"}
        created = await api.client.post("/v1/requests", json=body, headers=api.auth(token))
        await api.runtime.service.vote(created.json()["id"], "U0ALICE01", approve=True)
        await eventually(lambda: receiver.received)
    [(payload, signature)] = receiver.received
    assert webhooks.verify("whsec-test", payload, signature)
    assert not webhooks.verify("wrong-secret", payload, signature)
    assert b'"status":"approved"' in payload


async def test_failed_deliveries_are_retried_until_they_land(
    serve_api: ApiFactory, add_agent: AgentFactory, clock: ManualClock
) -> None:
    _, token = await add_agent(callback_hosts=["127.0.0.1"])
    receiver = Receiver(failures=1)
    async with serving(receiver.app) as hook_base, serve_api() as api:
        body = {**BODY, "callback_url": f"{hook_base}/hook"}
        created = await api.client.post("/v1/requests", json=body, headers=api.auth(token))
        await api.runtime.service.vote(
            created.json()["id"], "U0ALICE01", approve=False, comment="no"
        )
        async with asyncio.timeout(20):  # the retry is scheduled just after the 503 arrives:
            while not receiver.received:  # keep moving the clock past whatever backoff it got
                clock.advance(2)
                await asyncio.sleep(0.05)
        assert receiver.failures == 0
        backlog = api.runtime.outbox.backlog
        async with asyncio.timeout(20):  # the job completes just after the receiver answers
            while (await backlog())["webhook"] != {"queued": 0, "dead": 0}:
                await asyncio.sleep(0.05)
        assert len(receiver.received) == 1


async def test_callback_to_a_host_not_allowed_is_refused(
    serve_api: ApiFactory, add_agent: AgentFactory
) -> None:
    _, token = await add_agent(callback_hosts=["hooks.example.com"])
    async with serve_api() as api:
        body = {**BODY, "callback_url": "http://10.0.0.5/internal"}
        response = await api.client.post("/v1/requests", json=body, headers=api.auth(token))
        assert response.status_code == 403
        assert "not in agent" in response.json()["error"]["message"]


def test_signature_freshness() -> None:
    header = webhooks.sign("s", b"{}", 1000)
    assert webhooks.verify("s", b"{}", header, now=1100)
    assert not webhooks.verify("s", b"{}", header, now=1000 + 301)
    assert not webhooks.verify("s", b"{} ", header, now=1000)
    assert not webhooks.verify("s", b"{}", "garbage", now=1000)


async def test_names_that_resolve_into_a_private_network_get_nothing(
    serve_api: ApiFactory, add_agent: AgentFactory
) -> None:
    _, token = await add_agent(callback_hosts=["localhost"])
    receiver = Receiver()
    async with serving(receiver.app) as hook_base, serve_api() as api:
        port = hook_base.rsplit(":", 1)[1]
        body = {**BODY, "callback_url": f"http://localhost:{port}/hook"}
        created = await api.client.post("/v1/requests", json=body, headers=api.auth(token))
        assert created.status_code == 201  # the name is allowed; its address is checked later
        await api.runtime.service.vote(created.json()["id"], "U0ALICE01", approve=True)
        backlog = api.runtime.outbox.backlog
        async with asyncio.timeout(20):
            while (await backlog())["webhook"]["queued"]:
                await asyncio.sleep(0.05)
    assert receiver.received == []


def test_ip_addresses_must_be_allowed_exactly() -> None:
    anything = Principal(name="a", callback_hosts=["*"])
    assert anything.may_call_back("hooks.example.com")
    assert not anything.may_call_back("169.254.169.254")
    exact = Principal(name="a", callback_hosts=["127.0.0.1", "[::1]"])
    assert exact.may_call_back("127.0.0.1") and exact.may_call_back("::1")
    assert not exact.may_call_back("127.0.0.2")


def test_agent_owner_must_be_a_slack_user_id() -> None:
    with pytest.raises(ValidationError):
        Principal(name="a", owner="@alice")
    assert Principal(name="a", owner="U0ALICE01").owner == "U0ALICE01"
