"""The durable outbox: slow sinks are contained, waits are not failures, nothing is dropped."""

from __future__ import annotations

import asyncio

from bot.clock import ManualClock
from bot.outbox import Job, OutboxWorker, RetryLater
from bot.runtime import Runtime


async def queue(runtime: Runtime, worker: OutboxWorker, sink: str, n: int = 1) -> list[str]:
    return [await worker.enqueue(sink, "created", f"req_{sink}_{i}") for i in range(n)]


async def attempts(runtime: Runtime, job_id: str) -> int:
    return int(await runtime.redis.hget(runtime.keys.job(job_id), "attempts") or 0)


async def test_a_hanging_sink_does_not_hold_up_another(
    runtime: Runtime, clock: ManualClock
) -> None:
    delivered: list[str] = []

    async def hangs(job: Job) -> None:
        await asyncio.sleep(3600)

    async def works(job: Job) -> None:
        delivered.append(job.request_id)

    worker = OutboxWorker(
        runtime.store, clock, {"webhook": hangs, "slack": works}, handler_timeout=0.2
    )
    [stuck] = await queue(runtime, worker, "webhook")
    await queue(runtime, worker, "slack")
    assert await worker.drain() == 1
    assert delivered == ["req_slack_0"]
    assert (
        "TimeoutError"
        in (await runtime.redis.hget(runtime.keys.job(stuck), "last_error") or b"").decode()
    )
    assert (await worker.backlog())["webhook"] == {"queued": 1, "dead": 0}


async def test_retry_later_is_not_a_failed_attempt(runtime: Runtime, clock: ManualClock) -> None:
    async def rate_limited(job: Job) -> None:
        raise RetryLater(30, "429")

    worker = OutboxWorker(runtime.store, clock, {"slack": rate_limited})
    [job_id] = await queue(runtime, worker, "slack")
    for _ in range(20):
        await worker.drain()
        clock.advance(31)
    assert await attempts(runtime, job_id) == 0
    assert (await worker.backlog())["slack"] == {"queued": 1, "dead": 0}


async def test_failing_jobs_are_kept_for_a_day_then_dead_lettered_and_requeued(
    runtime: Runtime, clock: ManualClock
) -> None:
    healthy = False
    delivered: list[str] = []

    async def outage(job: Job) -> None:
        if not healthy:
            raise ConnectionError("Slack is down")
        delivered.append(job.request_id)

    worker = OutboxWorker(runtime.store, clock, {"slack": outage})
    await queue(runtime, worker, "slack")
    for _ in range(300):  # 5-minute backoff cap: about 25 hours of retries
        await worker.drain()
        clock.advance(301)
        if (await worker.backlog())["slack"]["dead"]:
            break
    assert clock.now.day == 2  # kept retrying for a day before giving up
    assert (await worker.backlog())["slack"] == {"queued": 0, "dead": 1}
    healthy = True
    assert await worker.requeue_dead("slack") == 1
    await worker.drain()
    assert delivered == ["req_slack_0"]
    assert (await worker.backlog())["slack"] == {"queued": 0, "dead": 0}
