"""The Python client and `@require_approval` against a running Countersign."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import pytest

from bot import webhooks
from bot.client import (
    AsyncCountersign,
    BadSignature,
    Countersign,
    Denied,
    Expired,
    GrantMismatch,
    Unreachable,
    require_approval,
    verify_webhook,
)
from bot.models import RequestIn
from tests.integrations.conftest import Gateway
from tests.support.redis_server import free_port

DEPLOY = {
    "action": "deploy.web",
    "summary": "Deploy web 1.4.2",
    "resource": "web",
    "environment": "staging",
}


class FlakyTransport(httpx.AsyncBaseTransport):
    """Drops the first `failures` long-polls, as a proxy resetting idle connections would."""

    def __init__(self, failures: int) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.failures = failures

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if "wait" in request.url.params and self.failures > 0:
            self.failures -= 1
            raise httpx.ReadError("connection reset by peer")
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


async def test_async_client_gets_an_approval_with_a_grant_for_exactly_that_action(
    slack_gateway: Gateway,
) -> None:
    gateway = slack_gateway  # approvals are signed clicks on the Slack card
    async with AsyncCountersign(gateway.url, gateway.token) as client:
        asking = asyncio.create_task(client.request_approval(DEPLOY))
        await gateway.decide_next("approve")
        approved = await asking
        assert approved.status == "approved"
        assert approved.action_hash == RequestIn.model_validate(DEPLOY).action_hash()
        check = await client.verify_grant(approved.grant or "", approved.action_hash)
        assert check.valid and check.claims and check.claims["approvers"] == ["U0ALICE01"]
        remote = await client.verify_grant_remote(approved.grant or "", "0" * 64)
        assert not remote.valid and "different action" in remote.reason


async def test_sync_client_raises_denied_with_approver_and_reason(gateway: Gateway) -> None:
    def ask() -> None:
        with Countersign(gateway.url, gateway.token) as client:
            client.request_approval(DEPLOY)

    asking = asyncio.create_task(asyncio.to_thread(ask))
    await gateway.decide_next("deny", reason="freeze until Monday")
    with pytest.raises(Denied) as denied:
        await asking
    assert denied.value.approver == "U0CAROL03"
    assert denied.value.reason == "freeze until Monday"


async def test_expiry_is_reported_as_expired_never_approved(gateway: Gateway) -> None:
    async with AsyncCountersign(gateway.url, gateway.token) as client:
        asking = asyncio.create_task(client.request_approval(DEPLOY))
        await gateway.decide_next("expire")
        with pytest.raises(Expired) as expired:
            await asking
        assert expired.value.request.status == "expired"


async def test_long_poll_survives_dropped_connections(gateway: Gateway) -> None:
    http = httpx.AsyncClient(
        base_url=gateway.url,
        transport=FlakyTransport(failures=2),
        headers={"Authorization": f"Bearer {gateway.token}"},
    )
    async with AsyncCountersign(gateway.url, gateway.token, http=http, poll=1) as client:
        created = await client.create(DEPLOY)
        waiting = asyncio.create_task(client.wait(created.id))
        await gateway.approve(created.id)
        assert (await waiting).status == "approved"


async def test_unreachable_server_is_reported_not_waited_on_forever() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    async with AsyncCountersign(url, "cs_nobody", patience=0.5) as client:
        with pytest.raises(Unreachable):
            await client.request_approval(DEPLOY)


async def test_decorated_function_runs_only_after_approval(gateway: Gateway) -> None:
    ran: list[dict[str, Any]] = []
    client = AsyncCountersign(gateway.url, gateway.token)

    @require_approval("deploy.web", client=client, environment="staging")
    async def deploy(service: str, version: str, canary: bool = True) -> str:
        ran.append({"service": service, "version": version})
        return f"deployed {service} {version}"

    calling = asyncio.create_task(deploy("web", version="1.4.2"))
    request = await gateway.pending()
    assert request.params == {"service": "web", "version": "1.4.2", "canary": True}
    assert "deploy(service='web'" in request.summary
    assert ran == []
    await gateway.approve(request.id)
    assert await calling == "deployed web 1.4.2"
    assert ran == [{"service": "web", "version": "1.4.2"}]
    await client.aclose()


async def test_decorated_sync_function_is_not_run_when_denied(gateway: Gateway) -> None:
    ran = []

    def call() -> None:
        with Countersign(gateway.url, gateway.token) as client:

            @require_approval(client=client, resource="orders-db")
            def drop_table(name: str) -> None:
                ran.append(name)

            drop_table("orders")

    calling = asyncio.create_task(asyncio.to_thread(call))
    request = await gateway.decide_next("deny", reason="that table has live data")
    assert request.action == "drop_table"
    with pytest.raises(Denied, match="live data"):
        await calling
    assert ran == []


async def test_arguments_changed_while_waiting_do_not_run(gateway: Gateway) -> None:
    ran = []
    hosts = ["web-1"]
    client = AsyncCountersign(gateway.url, gateway.token)

    @require_approval("deploy.web", client=client)
    async def restart(targets: list[str]) -> None:
        ran.append(list(targets))

    calling = asyncio.create_task(restart(hosts))
    request = await gateway.pending()
    hosts.append("db-1")  # the approved call was for web-1 only
    await gateway.approve(request.id)
    with pytest.raises(GrantMismatch, match="arguments changed"):
        await calling
    assert ran == []
    await client.aclose()


def test_decorator_refuses_invalid_fields_when_applied() -> None:
    with pytest.raises(ValueError, match="environment"):

        @require_approval("deploy.web", environment="x" * 100)
        def deploy() -> None: ...


def test_verify_webhook_accepts_signed_deliveries_and_rejects_tampering(gateway: Gateway) -> None:
    body = b'{"id":"req_1","status":"approved"}'
    header = webhooks.sign("whsec-test", body, int(time.time()))
    with pytest.raises(BadSignature):
        verify_webhook(body.replace(b"approved", b"denied"), header, "whsec-test")
    with pytest.raises(BadSignature):
        verify_webhook(
            body, webhooks.sign("whsec-test", body, int(time.time()) - 3600), "whsec-test"
        )
