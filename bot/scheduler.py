"""Time-driven work in the serve process: the expiry sweep and outbox delivery.

An APScheduler interval job sweeps about every second. Deadlines live in Redis, so a request
that was pending when a process died still expires on time once any replica runs again.
Outbox delivery also wakes at once when a job is queued anywhere (pub/sub), not only on ticks.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from redis.exceptions import RedisError

from bot.outbox import OutboxWorker
from bot.service import ApprovalService
from bot.waiters import Waiters

log = logging.getLogger(__name__)


class Scheduler:
    def __init__(
        self, service: ApprovalService, outbox: OutboxWorker, jobs: Waiters, interval: float = 1.0
    ) -> None:
        self.service = service
        self.outbox = outbox
        self.jobs = jobs
        self.interval = interval
        self._aps = AsyncIOScheduler()
        self._delivery: asyncio.Task[None] | None = None
        self.last_error: str = ""
        self._stopping = False

    async def start(self) -> None:
        self._aps.add_job(
            self.sweep,
            "interval",
            seconds=self.interval,
            max_instances=1,
            coalesce=True,
            id="sweep",
        )
        self._aps.start()
        self._delivery = asyncio.create_task(self._deliver_forever(), name="outbox-delivery")

    async def stop(self) -> None:
        self._stopping = True
        self._aps.shutdown(wait=False)
        if self._delivery:
            self._delivery.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._delivery

    async def sweep(self) -> None:
        try:
            expired, fired = await self.service.sweep()
        except RedisError as exc:
            self.last_error = f"sweep failed: {exc}"
            log.warning("%s", self.last_error)
            return
        self.last_error = ""
        if expired or fired:
            log.info("sweep: %d expired, %d follow-ups", expired, fired)
            self.jobs.any_message.set()

    async def _deliver_forever(self) -> None:
        # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancellation.
        while not self._stopping:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.interval):
                    await self.jobs.any_message.wait()
            self.jobs.any_message.clear()
            try:
                while await self.outbox.drain():
                    pass
            except RedisError as exc:
                log.warning("outbox delivery paused: %s", exc)
                await asyncio.sleep(self.interval)
            except Exception:  # a bug must not end delivery for good; its jobs stay queued
                log.exception("outbox delivery failed; trying again")
                await asyncio.sleep(self.interval)
