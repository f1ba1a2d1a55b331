"""Intake: `POST /v1/requests` against the baseline at 1, 16 and 64 concurrent agents."""

from __future__ import annotations

from dataclasses import dataclass

import aiohttp

from bench.harness import PROD_DEPLOY, Run, add_agents, closed_loop

CONCURRENCY = (1, 16, 64)


@dataclass
class IntakeRow:
    agents: int
    intake: Run
    baseline: Run


async def run(base: str, redis_url: str, seconds: float) -> list[IntakeRow]:
    tokens = await add_agents(redis_url, max(CONCURRENCY))
    headers = [{"Authorization": f"Bearer {t}"} for t in tokens]

    async def intake(session: aiohttp.ClientSession, i: int) -> bool:
        async with session.post(
            f"{base}/v1/requests", json=PROD_DEPLOY, headers=headers[i]
        ) as response:
            await response.read()
            return response.status == 201

    async def baseline(session: aiohttp.ClientSession, i: int) -> bool:
        async with session.post(f"{base}/bench/baseline", json=PROD_DEPLOY) as response:
            await response.read()
            return response.status == 201

    rows = []
    for agents in CONCURRENCY:
        # Baseline first, then intake, at each level: both see the same machine state.
        base_run = await closed_loop(baseline, agents, seconds)
        intake_run = await closed_loop(intake, agents, seconds)
        rows.append(IntakeRow(agents, intake_run, base_run))
    return rows
