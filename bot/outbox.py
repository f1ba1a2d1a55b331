"""A durable outbox: jobs queued atomically with state changes, delivered at least once.

The state-change scripts queue jobs (one sorted set per sink, scored by when to try). A worker
on any replica leases due jobs, runs the sink's handler, and then completes the job or
schedules a retry with exponential backoff. A crash mid-job only delays it until its lease
runs out. Sinks drain side by side and each job has a deadline, so one slow receiver cannot
hold up another sink. A job is given up (dead-lettered, logged, and re-queued with
`countersign outbox retry`) only once it has failed for a day, so an outage of Slack or of a
callback receiver shorter than that loses nothing.
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
from bot.models import from_ms, to_ms
from bot.store import Store

log = logging.getLogger(__name__)

GIVE_UP_AFTER_MS = 24 * 3600 * 1000  # a job failing this long goes to the dead letters
HANDLER_TIMEOUT = 45.0  # a whole delivery, however slowly the other side answers
LEASE_SECONDS = 60.0  # longer than HANDLER_TIMEOUT, so a live worker keeps its lease


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
    handler_timeout: float = HANDLER_TIMEOUT

    async def enqueue(
        self, sink: str, kind: str, subject_id: str, data: dict[str, Any] | None = None
    ) -> str:
        """Queue one job that no state-change script queues (e.g. an adapter's own messages).

        Same shape as `enqueue` in `lua/common.lua`; `subject_id` lands in `Job.request_id`.
        """
        keys, redis, now = self.store.keys, self.store.redis, to_ms(self.clock())
        job_id = str(await redis.incr(keys.job_seq))
        async with redis.pipeline(transaction=True) as pipe:
            pipe.hset(
                keys.job(job_id),
                mapping={
                    "sink": sink,
                    "kind": kind,
                    "request_id": subject_id,
                    "data": json.dumps(data or {}),
                    "attempts": 0,
                    "created_at": now,
                },
            )
            pipe.zadd(keys.outbox(sink), {job_id: now})
            pipe.publish(keys.jobs_channel, kind)
            await pipe.execute()
        return job_id

    async def drain(self) -> int:
        """Run every due job of every sink once; returns how many were handled."""
        done = await asyncio.gather(*(self._drain(s, h) for s, h in self.handlers.items()))
        return sum(done)

    async def _drain(self, sink: str, handler: Handler) -> int:
        rows = await self.store.claim_jobs(sink, self.clock(), LEASE_SECONDS, self.batch)
        results = await asyncio.gather(*(self._run(sink, handler, row) for row in rows))
        return sum(results)

    async def _run(self, sink: str, handler: Handler, row: list[Any]) -> int:
        job_id, kind, request_id, data, attempts, created = row
        job = Job(
            job_id,
            sink,
            kind,
            request_id,
            json.loads(data or "{}"),
            int(attempts),
            from_ms(created) if created else None,
        )
        try:
            async with asyncio.timeout(self.handler_timeout):
                await handler(job)
        except RetryLater as exc:  # the other side asked us to wait: not a failed attempt
            await self.store.redis.hincrby(self.store.keys.job(job.id), "attempts", -1)
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
            if self._gave_up(job):
                log.error(
                    "outbox %s job %s gave up after %d attempts in a day: %s",
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

    def _gave_up(self, job: Job) -> bool:
        if job.created_at is None:
            return False
        return to_ms(self.clock()) - to_ms(job.created_at) >= GIVE_UP_AFTER_MS

    async def requeue_dead(self, sink: str) -> int:
        """Put a sink's dead-lettered jobs back in its outbox, due now, with a fresh day."""
        keys, redis, now = self.store.keys, self.store.redis, to_ms(self.clock())
        ids = await self.store.ids_by_score(keys.dead_letters(sink), count=1_000_000)
        for job_id in ids:
            async with redis.pipeline(transaction=True) as pipe:
                pipe.hset(keys.job(job_id), mapping={"attempts": 0, "created_at": now})
                pipe.zadd(keys.outbox(sink), {job_id: now})
                pipe.zrem(keys.dead_letters(sink), job_id)
                await pipe.execute()
        return len(ids)

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
