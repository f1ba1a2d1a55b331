"""History: a filtered, paged query as the store grows from 10k to 1M decided requests.

`GET /v1/history?agent=...&status=approved&limit=50` with an auditor token, for a random
agent of 20; half the queries start from a random point in the past (`until`). Baseline:
`GET /v1/requests/{id}` (one request read) on the same server.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from datetime import UTC, datetime

import aiohttp
from redis.asyncio import Redis

from bench import seed
from bench.harness import Call, Run, add_agents, closed_loop
from bot.keys import Keys
from bot.principals import Role

SIZES = (10_000, 100_000, 1_000_000)


@dataclass
class HistoryRow:
    stored: int
    query: Run
    baseline: Run
    seed_seconds: float


async def run(
    base: str,
    redis: Redis,
    redis_url: str,
    tpl: dict[str, str],
    seconds: float,
    sizes: tuple[int, ...] = SIZES,
) -> list[HistoryRow]:
    tokens = await add_agents(redis_url, 1)
    (auditor,) = await add_agents(redis_url, 1, prefix="bench-auditor", role=Role.auditor)
    now_ms = int(time.time() * 1000)
    rows, stored = [], 0
    for size in sizes:
        began = time.perf_counter()
        await seed.decided(redis, tpl, stored, size - stored, now_ms)
        seeded = time.perf_counter() - began
        stored = size
        oldest = now_ms - 10_000_000 * 1000 + 3_600_000  # leave an hour: full pages
        newest = now_ms - (10_000_000 - size) * 1000
        probe = (await redis.zrange(Keys().by_agent("bench-agent-0"), -1, -1))[0].decode()
        query, baseline = _calls(base, tokens, auditor, oldest, newest, probe)
        rows.append(
            HistoryRow(
                size,
                await closed_loop(query, 1, seconds),
                await closed_loop(baseline, 1, seconds / 2),
                seeded,
            )
        )
    return rows


def _calls(
    base: str, tokens: list[str], auditor: str, oldest: int, newest: int, probe: str
) -> tuple[Call, Call]:
    rng = random.Random(6)

    async def query(session: aiohttp.ClientSession, _: int) -> bool:
        params = {"agent": f"bench-agent-{rng.randrange(seed.AGENTS)}", "status": "approved"}
        params["limit"] = "50"
        if rng.random() < 0.5:
            moment = datetime.fromtimestamp(rng.randrange(oldest, newest) / 1000, tz=UTC)
            params["until"] = moment.isoformat()
        headers = {"Authorization": f"Bearer {auditor}"}
        async with session.get(f"{base}/v1/history", params=params, headers=headers) as r:
            page = await r.json()
            return r.status == 200 and len(page["requests"]) == 50

    async def baseline(session: aiohttp.ClientSession, _: int) -> bool:
        headers = {"Authorization": f"Bearer {tokens[0]}"}
        async with session.get(f"{base}/v1/requests/{probe}", headers=headers) as r:
            await r.read()
            return r.status == 200

    return query, baseline
