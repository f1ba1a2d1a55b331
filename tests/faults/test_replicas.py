"""Two replicas on one Redis: votes through one, long-polls on the other, sweeps on both.

Every request makes exactly one transition, gets exactly one card, and its callback receives
exactly one delivery for its terminal state, though both replicas run outbox workers and
sweeps all the time.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web
from pydantic import SecretStr

from bot.clock import ManualClock
from bot.outbox import LEASE_SECONDS
from bot.runtime import Runtime
from bot.settings import Settings
from bot.slack.adapter import slack_adapter
from tests.conftest import AgentFactory, Api, ApiFactory, RuntimeFactory
from tests.faults.conftest import DEPLOY, approve
from tests.faults.processes import SIGNING_SECRET
from tests.support.fake_slack import FakeSlack
from tests.support.redis_server import free_port

PER_OUTCOME = 8
SINKS = ("slack", "webhook")


@contextlib.asynccontextmanager
async def receiver() -> AsyncIterator[tuple[str, list[dict[str, Any]]]]:
    """A local HTTP endpoint that records every callback delivery."""
    received: list[dict[str, Any]] = []

    async def record(request: web.Request) -> web.Response:
        received.append(json.loads(await request.read()))
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/hook", record)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield f"http://127.0.0.1:{port}/hook", received
    finally:
        await runner.cleanup()


async def _drained(runtime: Runtime, clock: ManualClock) -> None:
    """Wait until no outbox job is queued anywhere, moving the clock to short retries (a
    worker that finds another updating the same card retries in a second)."""
    keys, redis = runtime.keys, runtime.redis
    async with asyncio.timeout(30):
        while True:
            heads = [await redis.zrange(keys.outbox(s), 0, 0, withscores=True) for s in SINKS]
            due = [head[0][1] / 1000 for head in heads if head]
            if not due:
                return
            wait_s = min(due) - clock().timestamp()
            if 0 < wait_s < LEASE_SECONDS / 2:
                clock.advance(wait_s + 0.001)
            await asyncio.sleep(0.05)


async def test_two_replicas_one_transition_one_card_one_delivery(
    serve_api: ApiFactory,
    make_runtime: RuntimeFactory,
    settings: Settings,
    fake_slack: FakeSlack,
    clock: ManualClock,
    add_agent: AgentFactory,
) -> None:
    slack = settings.model_copy(
        update={
            "slack_bot_token": SecretStr("xoxb-replicas"),
            "slack_signing_secret": SecretStr(SIGNING_SECRET),
            "slack_api_url": fake_slack.api_url,
        }
    )
    _, token = await add_agent("twin-bot", callback_hosts=["127.0.0.1"], rate_per_minute=10**6)
    adapters = [slack_adapter(slack)]
    async with (
        receiver() as (hook, received),
        serve_api(runtime=make_runtime(settings=slack), adapters=adapters) as one,
        serve_api(runtime=make_runtime(settings=slack), adapters=adapters) as two,
    ):
        expected = await _run(one, two, token, hook, clock)
        async with asyncio.timeout(30):
            while len(received) < len(expected):
                await asyncio.sleep(0.05)
        await _drained(one.runtime, clock)
        await asyncio.sleep(1.0)  # time for any duplicate to arrive

        deliveries = Counter(body["id"] for body in received)
        assert deliveries == Counter(dict.fromkeys(expected, 1))
        assert {body["id"]: body["status"] for body in received} == expected
        audit = [e async for e in one.runtime.audit.entries()]
        transitions = Counter(
            e.fields["request_id"] for e in audit if e.fields["event"] == "decided"
        )
        assert transitions == Counter(dict.fromkeys(expected, 1))
        cards = Counter(
            request_id
            for call in fake_slack.calls_to("chat.postMessage", ok=True)
            if "thread_ts" not in call.args
            for request_id in expected
            if request_id in json.dumps(call.args.get("blocks", ""))
        )
        assert cards == Counter(dict.fromkeys(expected, 1))


async def _run(one: Api, two: Api, token: str, hook: str, clock: ManualClock) -> dict[str, str]:
    """Create on both, wait on the other, decide three ways; returns id -> expected status."""
    headers = one.auth(token)
    ids: list[str] = []
    for n in range(3 * PER_OUTCOME):
        api = one if n % 2 else two
        body = {**DEPLOY, "summary": f"twin {n}", "callback_url": hook}
        created = await api.client.post("/v1/requests", json=body, headers=headers)
        assert created.status_code == 201, created.text
        ids.append(created.json()["id"])
    waits = [
        asyncio.create_task(
            two.client.get(f"/v1/requests/{i}", params={"wait": 20}, headers=headers)
        )
        for i in ids
    ]
    await asyncio.sleep(0.2)
    expected: dict[str, str] = {}
    for request_id in ids[:PER_OUTCOME]:
        assert await approve(one.client, request_id) == 200
        expected[request_id] = "approved"
    for request_id in ids[PER_OUTCOME : 2 * PER_OUTCOME]:
        cancelled = await two.client.post(f"/v1/requests/{request_id}/cancel", headers=headers)
        assert cancelled.status_code == 200
        expected[request_id] = "cancelled"
    await _drained(one.runtime, clock)
    clock.advance(16 * 60)  # past every deploy's 15-minute timeout: both replicas sweep
    expected.update(dict.fromkeys(ids[2 * PER_OUTCOME :], "expired"))
    answers = [(await w).json() for w in waits]
    assert {a["id"]: a["status"] for a in answers} == expected
    return expected
