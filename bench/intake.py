"""Intake: `POST /v1/requests` against the baseline at 1, 16 and 64 concurrent agents."""

from __future__ import annotations

from dataclasses import dataclass

import aiohttp

from bench.harness import PROD_DEPLOY, Run, Served, add_agents, closed_loop, drained

CONCURRENCY = (1, 16, 64)


@dataclass
class IntakeRow:
    agents: int
    intake: Run
    baseline: Run


@dataclass
class Backlog:
    """The Slack work the intake runs left queued, and how long the server took to finish it."""

    jobs: int
    seconds: float


async def run(served: Served, redis_url: str, seconds: float) -> tuple[list[IntakeRow], Backlog]:
    base = served.base
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
        base_run = await closed_loop(baseline, agents, seconds, cpu=served.cpu)
        intake_run = await closed_loop(intake, agents, seconds, cpu=served.cpu)
        rows.append(IntakeRow(agents, intake_run, base_run))
    # Cards are posted in the background, more slowly than requests arrive at full load:
    # let the backlog drain, so the next benchmark starts on a quiet server.
    jobs, waited = await drained(redis_url)
    return rows, Backlog(jobs, waited)
