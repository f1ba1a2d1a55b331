"""`kill -9` of `countersign serve` in the middle of a burst of requests, votes and cancels.

Acknowledged means the HTTP answer arrived: 201 for a create, 200 with status `cancelled` for
a cancel. A Slack click is acknowledged before its vote runs (Slack needs an answer within
3 s), so a click that arrives just before the crash may be lost; the approver sees an
unchanged card and clicks again. The test does exactly that after the restart.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from bot.runtime import Runtime
from tests.conftest import AgentFactory
from tests.faults.conftest import DEPLOY, ServerFactory, approve, client_for

BURST = 1000
WORKERS = 16
KILL_AFTER = 400


class Ledger:
    """What the server acknowledged, by request id."""

    def __init__(self) -> None:
        self.created: dict[str, dict[str, Any]] = {}
        self.cancelled: set[str] = set()
        self.to_approve: set[str] = set()
        self.done = 0


async def _one(client: httpx.AsyncClient, n: int, ledger: Ledger) -> None:
    created = await client.post("/v1/requests", json={**DEPLOY, "summary": f"burst {n}"})
    assert created.status_code == 201, created.text
    request = created.json()
    ledger.created[request["id"]] = request
    if n % 3 == 0:
        ledger.to_approve.add(request["id"])
        await approve(client, request["id"])
    elif n % 3 == 1:
        cancelled = await client.post(f"/v1/requests/{request['id']}/cancel", json={})
        assert cancelled.status_code == 200, cancelled.text
        assert cancelled.json()["status"] == "cancelled"
        ledger.cancelled.add(request["id"])


async def _burst(client: httpx.AsyncClient, ledger: Ledger, numbers: asyncio.Queue[int]) -> None:
    while not numbers.empty():
        n = numbers.get_nowait()
        try:
            await _one(client, n, ledger)
        except httpx.HTTPError:
            return  # the server died under this call: nothing was acknowledged
        ledger.done += 1


async def _run_until_killed(server: Any, token: str, ledger: Ledger) -> None:
    numbers: asyncio.Queue[int] = asyncio.Queue()
    for n in range(BURST):
        numbers.put_nowait(n)
    async with client_for(server.url, token) as client:
        workers = [asyncio.create_task(_burst(client, ledger, numbers)) for _ in range(WORKERS)]
        while ledger.done < KILL_AFTER and not all(w.done() for w in workers):
            await asyncio.sleep(0.01)
        server.kill()
        await asyncio.gather(*workers)


async def test_every_acknowledged_write_survives_kill_9(
    server_process: ServerFactory, add_agent: AgentFactory, runtime: Runtime
) -> None:
    _, token = await add_agent("burst-bot", rate_per_minute=1_000_000)
    server = server_process()
    server.start()
    await server.wait_ready()
    ledger = Ledger()
    await _run_until_killed(server, token, ledger)
    assert len(ledger.created) >= KILL_AFTER

    server.start()
    await server.wait_ready()
    async with client_for(server.url, token) as client:
        for request_id in ledger.to_approve:  # a click lost in the crash is clicked again
            if (await _final(client, request_id, decided=False))["status"] == "pending":
                assert await approve(client, request_id) == 200
        final = {
            rid: await _final(client, rid, decided=rid in ledger.to_approve)
            for rid in ledger.created
        }

    for request_id, acknowledged in ledger.created.items():
        stored = final[request_id]
        assert stored["action_hash"] == acknowledged["action_hash"]
        assert stored["summary"] == acknowledged["summary"]
        assert stored["created_at"] == acknowledged["created_at"]
        if request_id in ledger.cancelled:
            assert stored["status"] == "cancelled"
        elif request_id in ledger.to_approve:
            assert stored["status"] == "approved"
            assert [a["user"] for a in stored["approvals"]] == ["U0ALICE01"]
        else:
            assert stored["status"] in {"pending", "cancelled"}  # cancel in flight at the kill
    assert (await runtime.audit.verify()).intact


async def _final(client: httpx.AsyncClient, request_id: str, decided: bool) -> dict[str, Any]:
    """The request as stored; for one expecting a decision, after it arrived."""
    params = {"wait": 10} if decided else {}
    response = await client.get(f"/v1/requests/{request_id}", params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body
