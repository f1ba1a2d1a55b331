"""A durable outbox: jobs queued atomically with state changes, delivered at least once.

The state-change scripts queue jobs (one sorted set per sink, scored by when to try). A worker
on any replica leases due jobs, runs the sink's handler, and then completes the job or
schedules a retry with exponential backoff. A crash mid-job only delays it until its lease
runs out. Jobs that keep failing go to a dead-letter set and are logged.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.clock import Clock
from bot.models import to_ms
from bot.store import Store

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 12
LEASE_SECONDS = 60.0


class RetryLater(Exception):
    """Raised by a handler to retry after a given delay (e.g. Slack's Retry-After)."""

    def __init__(self, seconds: float, reason: str = "") -> None:
        super().__init__(reason or f"retry in {seconds}s")
        self.seconds = seconds


@dataclass(frozen=True)
class Job:
    id: str
    sink: str
    kind: str
    request_id: str
    data: dict[str, Any]
    attempts: int
    created_at: datetime | None = None


Handler = Callable[[Job], Awaitable[None]]


def backoff(attempts: int) -> float:
    """Seconds before the next try: 1, 2, 4 ... capped at 5 minutes."""
    return float(min(2 ** max(attempts - 1, 0), 300))


@dataclass
class OutboxWorker:
    store: Store
    clock: Clock
    handlers: dict[str, Handler] = field(default_factory=dict)
    batch: int = 50

    async def drain(self) -> int:
        """Run every due job of every sink once; returns how many were handled."""
        done = 0
        for sink, handler in self.handlers.items():
            rows = await self.store.claim_jobs(sink, self.clock(), LEASE_SECONDS, self.batch)
            results = await asyncio.gather(
                *(self._run(sink, handler, row) for row in rows), return_exceptions=False
            )
            done += sum(results)
        return done

    async def _run(self, sink: str, handler: Handler, row: list[Any]) -> int:
        job_id, kind, request_id, data, attempts, _created = row
        job = Job(job_id, sink, kind, request_id, json.loads(data or "{}"), int(attempts))
        try:
            await handler(job)
        except RetryLater as exc:
            await self._retry(job, exc.seconds, str(exc))
            return 0
        except Exception as exc:  # a sink failure must never stop delivery of other jobs
            log.warning(
                "outbox %s job %s (%s %s) failed, attempt %d: %r",
                sink,
                job.id,
                kind,
                request_id,
                job.attempts,
                exc,
            )
            await self._retry(job, backoff(job.attempts), repr(exc))
            return 0
        await self._complete(job)
        return 1

    async def _complete(self, job: Job) -> None:
        keys = self.store.keys
        async with self.store.redis.pipeline(transaction=True) as pipe:
            pipe.zrem(keys.outbox(job.sink), job.id)
            pipe.delete(keys.job(job.id))
            await pipe.execute()

    async def _retry(self, job: Job, seconds: float, error: str) -> None:
        keys = self.store.keys
        async with self.store.redis.pipeline(transaction=True) as pipe:
            pipe.hset(keys.job(job.id), "last_error", error[:500])
            if job.attempts >= MAX_ATTEMPTS:
                log.error(
                    "outbox %s job %s gave up after %d attempts: %s",
                    job.sink,
                    job.id,
                    job.attempts,
                    error[:200],
                )
                pipe.zrem(keys.outbox(job.sink), job.id)
                pipe.zadd(keys.dead_letters(job.sink), {job.id: to_ms(self.clock())})
            else:
                due = to_ms(self.clock()) + int(seconds * 1000)
                pipe.zadd(keys.outbox(job.sink), {job.id: due})
            await pipe.execute()

    async def backlog(self) -> dict[str, dict[str, int]]:
        """Queued and dead-lettered jobs per sink, for /readyz and metrics."""
        keys, redis = self.store.keys, self.store.redis
        return {
            sink: {
                "queued": int(await redis.zcard(keys.outbox(sink))),
                "dead": int(await redis.zcard(keys.dead_letters(sink))),
            }
            for sink in self.handlers
        }
