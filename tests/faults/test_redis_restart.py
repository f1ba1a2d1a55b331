"""Redis dies (SIGKILL, AOF with fsync always) and comes back while agents keep working.

Nothing acknowledged is lost, `/readyz` answers 503 while Redis is down and 200 once it is
back, and the same server process carries on without a restart.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from tests.conftest import AgentFactory
from tests.faults.conftest import DEPLOY, ServerFactory, client_for
from tests.support.redis_server import RedisServer

ROUNDS = 150


async def _round(client: httpx.AsyncClient, n: int, acked: dict[str, str]) -> int:
    """Create a request and cancel every other one; record what was acknowledged."""
    try:
        created = await client.post("/v1/requests", json={**DEPLOY, "summary": f"round {n}"})
        if created.status_code != 201:
            return created.status_code
        request_id = created.json()["id"]
        acked[request_id] = "pending"
        if n % 2:
            cancelled = await client.post(f"/v1/requests/{request_id}/cancel", json={})
            if cancelled.status_code == 200:
                acked[request_id] = "cancelled"
        return created.status_code
    except httpx.HTTPError:
        return 0  # not acknowledged


async def _readiness(client: httpx.AsyncClient) -> int:
    return (await client.get("/readyz")).status_code


async def test_redis_restart_loses_nothing_and_readyz_tells_the_truth(
    redis_server: RedisServer, server_process: ServerFactory, add_agent: AgentFactory
) -> None:
    _, token = await add_agent("steady-bot", rate_per_minute=1_000_000)
    server = server_process()
    server.start()
    await server.wait_ready()
    acked: dict[str, str] = {}
    async with client_for(server.url, token) as client:
        for n in range(ROUNDS // 3):
            await _round(client, n, acked)

        redis_server.stop(kill=True)
        assert await _readiness(client) == 503
        down = [await _round(client, n, acked) for n in range(ROUNDS // 3, 2 * ROUNDS // 3)]
        assert set(down) == {503}  # refused as "retry", never a 500 or a false 201
        assert await _readiness(client) == 503

        redis_server.start()
        async with asyncio.timeout(30):
            while await _readiness(client) != 200:
                await asyncio.sleep(0.1)
        for n in range(2 * ROUNDS // 3, ROUNDS):
            await _round(client, n, acked)

        final: dict[str, Any] = {}
        for request_id in acked:
            response = await client.get(f"/v1/requests/{request_id}")
            assert response.status_code == 200, response.text
            final[request_id] = response.json()["status"]
    assert final == acked
    assert len(acked) >= 2 * ROUNDS // 3  # the rounds before and after the outage all landed
