"""Intake: `POST /v1/requests` against the baseline at 1, 16 and 64 concurrent agents."""

from __future__ import annotations

from dataclasses import dataclass

import aiohttp

from bench.harness import PROD_DEPLOY, Run, Served, add_agents, closed_loop, drained

CONCURRENCY = (1, 16, 64)


@dataclass
class Backlog:
    """The Slack work an intake run left queued, and what finishing it took."""

    jobs: int
    seconds: float
    cpu: dict[str, float]  # CPU seconds by process while it drained


@dataclass
class IntakeRow:
    agents: int
    intake: Run
    baseline: Run
    backlog: Backlog

    def intake_cpu_with_backlog(self, leave_out: tuple[str, ...] = ()) -> float:
        """Microseconds of CPU per intake request, counting the cards it left queued: all the
        CPU from the start of the run (warm-up included) until its last card was posted, over
        every request it made; without the processes in `leave_out`."""
        spent = (self.intake.cpu_all, self.backlog.cpu)
        used = sum(v for cpu in spent for name, v in cpu.items() if name not in leave_out)
        return used / self.intake.calls * 1e6 if self.intake.calls else 0.0


async def run(served: Served, redis_url: str, seconds: float) -> list[IntakeRow]:
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
        # Cards are posted in the background, more slowly than requests arrive at full load:
        # let the backlog drain, so the next run starts on a quiet server, and count its cost.
        before = served.cpu()
        jobs, waited = await drained(redis_url)
        after = served.cpu()
        used = {name: after[name] - before[name] for name in before}
        rows.append(IntakeRow(agents, intake_run, base_run, Backlog(jobs, waited, used)))
    return rows
