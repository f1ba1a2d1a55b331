"""Decision latency: a signed Slack click arrives, and the agent's waiting long-poll returns.

The click is what Slack sends when an approver presses Approve on a card: a `block_actions`
payload, signed with the app's signing secret, POSTed to `/slack/events`. The clock starts
just before the click is sent and stops when the agent's `GET /v1/requests/{id}?wait=30`
returns. The baseline is a plain `GET /v1/requests/{id}` round trip on the same server.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from urllib.parse import urlencode

import aiohttp

from bench.harness import PROD_DEPLOY, Run, add_agents
from bench.slack import SIGNING_SECRET
from bot.slack.actions import Action
from tests.support.slack_signing import block_action, signed_headers

APPROVER = "U0ALICE01"
WARMUP = 10
PATH = "signed Slack click (Approve) on /slack/events -> long-poll return"


@dataclass
class DecisionResult:
    decision: Run
    baseline: Run
    path: str


async def run(base: str, redis_url: str, samples: int) -> DecisionResult:
    (token,) = await add_agents(redis_url, 1, prefix="bench-decider")
    auth = {"Authorization": f"Bearer {token}"}
    body = {**PROD_DEPLOY, "environment": "staging"}  # deploys outside prod: one approval
    decided: list[float] = []
    plain: list[float] = []
    async with aiohttp.ClientSession() as session:
        for _ in range(WARMUP):  # first clicks pay for imports and connections: not measured
            await _one_decision(session, base, auth, body)
        for _ in range(samples):
            decided.append(await _one_decision(session, base, auth, body))
            plain.append(await _one_read(session, base, auth, body))
    return DecisionResult(Run(decided, sum(decided), 0), Run(plain, sum(plain), 0), PATH)


async def _create(
    session: aiohttp.ClientSession, base: str, auth: dict[str, str], body: dict[str, object]
) -> str:
    async with session.post(f"{base}/v1/requests", json=body, headers=auth) as response:
        assert response.status == 201, await response.text()
        request_id: str = (await response.json())["id"]
        return request_id


async def _click(session: aiohttp.ClientSession, base: str, request_id: str) -> None:
    payload = block_action(APPROVER, Action.approve, request_id, channel="C0BENCH", ts="1.0")
    form = urlencode({"payload": json.dumps(payload)}).encode()
    headers = signed_headers(SIGNING_SECRET, form)
    headers["Content-Type"] = "application/x-www-form-urlencoded"
    async with session.post(f"{base}/slack/events", data=form, headers=headers) as response:
        assert response.status == 200, await response.text()


async def _one_decision(
    session: aiohttp.ClientSession, base: str, auth: dict[str, str], body: dict[str, object]
) -> float:
    request_id = await _create(session, base, auth, body)
    finished_at = 0.0

    async def wait() -> str:
        nonlocal finished_at
        url = f"{base}/v1/requests/{request_id}?wait=30"
        async with session.get(url, headers=auth) as response:
            status: str = (await response.json())["status"]
        finished_at = time.perf_counter()
        return status

    waiter = asyncio.create_task(wait())
    await asyncio.sleep(0.05)  # let the long-poll reach the server and subscribe
    started = time.perf_counter()
    await _click(session, base, request_id)
    status = await waiter
    assert status == "approved", status
    return finished_at - started


async def _one_read(
    session: aiohttp.ClientSession, base: str, auth: dict[str, str], body: dict[str, object]
) -> float:
    request_id = await _create(session, base, auth, body)
    started = time.perf_counter()
    async with session.get(f"{base}/v1/requests/{request_id}", headers=auth) as response:
        await response.read()
    return time.perf_counter() - started
