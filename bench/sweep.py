"""Sweep: the expiry sweep's cost against the overdue count and against the pending count.

The sweep is measured as the server runs it, `ApprovalService.sweep()` (the Lua sweep script,
500 per call, until nothing is due), on a runtime with one notification sink so every expiry
also queues its card-update job. The baseline is an empty sweep (nothing overdue) over the
same pending set: what it costs just to look.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from bench import seed
from bot.runtime import Runtime

SHAPES = (
    (10_000, 1_000),
    (100_000, 1_000),
    (100_000, 100),
    (100_000, 10_000),
)


@dataclass
class SweepRow:
    pending: int
    overdue: int
    seconds: float
    expired: int
    empty_seconds: float


async def run(runtime: Runtime, tpl: dict[str, str]) -> list[SweepRow]:
    runtime.service.sinks = ["slack"]
    rows = []
    for pending, overdue in SHAPES:
        await runtime.redis.flushdb()
        now_ms = int(time.time() * 1000)
        await seed.pending(runtime.redis, tpl, "s", pending, overdue, now_ms)
        began = time.perf_counter()
        expired, _ = await runtime.service.sweep()
        seconds = time.perf_counter() - began
        began = time.perf_counter()
        await runtime.service.sweep()
        rows.append(SweepRow(pending, overdue, seconds, expired, time.perf_counter() - began))
    return rows
