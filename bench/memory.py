"""Memory: Redis bytes per stored request (no diff), created through the API."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import aiohttp
from redis.asyncio import Redis

from bench.harness import PROD_DEPLOY, add_agents
from bot.keys import Keys

COUNT = 4_000
WORKERS = 8


@dataclass
class MemoryResult:
    count: int
    per_request: float  # used_memory growth / count: hash, indexes, audit, deadlines
    hash_bytes: int  # MEMORY USAGE of one request's hash
    audit_bytes: float  # the audit stream's share per request


async def run(base: str, redis: Redis, redis_url: str) -> MemoryResult:
    (token,) = await add_agents(redis_url, 1, prefix="bench-memory")
    auth = {"Authorization": f"Bearer {token}"}
    before = int((await redis.info("memory"))["used_memory"])
    ids: list[str] = []
    async with aiohttp.ClientSession() as session:

        async def create(n: int) -> None:
            for _ in range(n):
                async with session.post(f"{base}/v1/requests", json=PROD_DEPLOY, headers=auth) as r:
                    assert r.status == 201, await r.text()
                    ids.append((await r.json())["id"])

        await asyncio.gather(*(create(COUNT // WORKERS) for _ in range(WORKERS)))
    await asyncio.sleep(2)  # let the outbox post the cards, as it would in production
    after = int((await redis.info("memory"))["used_memory"])
    hash_bytes = int(await redis.memory_usage(Keys().request(ids[-1]), samples=0) or 0)
    audit = int(await redis.memory_usage(Keys().audit, samples=0) or 0)
    return MemoryResult(COUNT, (after - before) / COUNT, hash_bytes, audit / COUNT)
