"""The MCP tools, driven by the `mcp` package's own ClientSession over stdio and HTTP."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from mcp import ClientSession, StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

from tests.integrations.conftest import Gateway

COUNTERSIGN = str(Path(sys.executable).parent / "countersign")
MIGRATION = {
    "action": "db.migrate",
    "summary": "Drop column orders.legacy_total",
    "resource": "orders",
    "environment": "prod",
    "command": "alembic upgrade 3f2a",
    "scope": {"permissions": ["rds:ModifyDBInstance"]},
}


@asynccontextmanager
async def over_http(gateway: Gateway) -> AsyncIterator[ClientSession]:
    http = create_mcp_http_client(headers={"Authorization": f"Bearer {gateway.token}"})
    async with (
        http,
        streamable_http_client(f"{gateway.url}/mcp", http_client=http) as (read, write),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        yield session


@asynccontextmanager
async def over_stdio(gateway: Gateway) -> AsyncIterator[ClientSession]:
    env = {**os.environ, "COUNTERSIGN_URL": gateway.url, "COUNTERSIGN_TOKEN": gateway.token}
    server = StdioServerParameters(command=COUNTERSIGN, args=["mcp"], env=env)
    async with stdio_client(server) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        yield session


async def call(
    session: ClientSession, tool: str, arguments: dict[str, Any], progress: list[str] | None = None
) -> dict[str, Any]:
    async def on_progress(done: float, total: float | None, message: str | None) -> None:
        if progress is not None:
            progress.append(f"{done:g}/{total:g} {message}")

    result = await session.call_tool(tool, arguments, progress_callback=on_progress)
    assert not result.is_error, result.content
    assert result.structured_content is not None
    return result.structured_content


async def test_http_request_approval_waits_reports_progress_and_returns_the_grant(
    slack_gateway: Gateway,
) -> None:
    gateway = slack_gateway  # approvals are signed clicks on the Slack card
    progress: list[str] = []
    async with over_http(gateway) as session:
        tools = {t.name for t in (await session.list_tools()).tools}
        assert tools == {"request_approval", "get_approval"}
        asking = asyncio.create_task(call(session, "request_approval", MIGRATION, progress))
        request = await gateway.pending()
        assert request.agent == "infra-bot" and request.command == "alembic upgrade 3f2a"
        await gateway.approve(request.id)
        decision = await asking
    assert decision["approved"] is True and decision["status"] == "approved"
    assert decision["grant"] and decision["action_hash"] == request.action_hash
    assert progress and progress[0].startswith(f"0/2 {request.id} (high): 0 of 2 approvals")


async def test_http_denial_carries_the_reason(gateway: Gateway) -> None:
    async with over_http(gateway) as session:
        asking = asyncio.create_task(call(session, "request_approval", MIGRATION))
        await gateway.decide_next("deny", reason="drop it after the Q3 report")
        decision = await asking
    assert decision["approved"] is False
    assert decision["reason"] == "Denied by U0CAROL03: drop it after the Q3 report"


async def test_http_needs_an_agent_token(gateway: Gateway) -> None:
    response = await gateway.api.client.post(
        "/mcp", json={"jsonrpc": "2.0", "id": 1, "method": "ping"}
    )
    assert response.status_code == 401


async def test_stdio_expiry_and_get_approval(gateway: Gateway) -> None:
    async with over_stdio(gateway) as session:
        first = await call(session, "request_approval", {**MIGRATION, "wait_seconds": 0})
        assert first["status"] == "pending" and first["approved"] is False
        await gateway.expire()
        decision = await call(
            session, "get_approval", {"request_id": first["id"], "wait_seconds": 5}
        )
    assert decision["status"] == "expired" and decision["approved"] is False
    assert "expired before anyone approved" in decision["reason"]
