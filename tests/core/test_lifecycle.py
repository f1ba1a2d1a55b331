"""Expiry, follow-ups, cancel, idempotency and long-polls, against a real Redis."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from bot.clock import ManualClock
from bot.errors import AlreadyDecided, IdempotencyConflict, NotFound
from bot.models import ApprovalRequest, RequestIn, Status
from bot.principals import Principal
from bot.runtime import Runtime
from tests.conftest import RuntimeFactory

AGENT = Principal(name="infra-bot", owner="U0OWNER01")
BODY = {
    "action": "environment.recreate",
    "summary": "Recreate prod",
    "environment": "prod",
    "resource": "prod-cn-north-1",
    "command": "terraform destroy",
}


async def submit(runtime: Runtime, key: str | None = None, **fields: Any) -> ApprovalRequest:
    body = RequestIn.model_validate({**BODY, **fields})
    return (await runtime.service.submit(AGENT, body, key)).request


async def queued(runtime: Runtime, sink: str) -> list[tuple[str, str]]:
    """(kind, request_id) of every job waiting in a sink's outbox, oldest first."""
    ids = await runtime.redis.zrange(runtime.keys.outbox(sink), 0, -1)
    jobs = [await runtime.redis.hgetall(runtime.keys.job(i.decode())) for i in ids]
    return [(j[b"kind"].decode(), j[b"request_id"].decode()) for j in jobs]


async def test_expires_only_when_overdue(runtime: Runtime, clock: ManualClock) -> None:
    request = await submit(runtime)
    clock.advance(599)
    expired, _ = await runtime.service.sweep()
    assert expired == 0
    assert (await runtime.service.get(request.id)).status is Status.pending
    clock.advance(2)
    expired, _ = await runtime.service.sweep()
    assert expired == 1
    final = await runtime.service.get(request.id)
    assert (final.status, final.decided_by, final.grant) == (Status.expired, "system", None)
    assert final.approvals == [] and final.denial is None


async def test_expiry_keeps_partial_approvals_and_never_approves(
    runtime: Runtime, clock: ManualClock
) -> None:
    request = await submit(runtime)
    await runtime.service.vote(request.id, "U0ALICE01", approve=True)
    clock.advance(601)
    await runtime.service.sweep()
    final = await runtime.service.get(request.id)
    assert final.status is Status.expired
    assert [a.user for a in final.approvals] == ["U0ALICE01"]


async def test_ttl_from_the_agent_is_honoured(runtime: Runtime, clock: ManualClock) -> None:
    request = await submit(runtime, ttl_seconds=60)
    assert (request.expires_at - request.created_at).total_seconds() == 60
    clock.advance(61)
    await runtime.service.sweep()
    assert (await runtime.service.get(request.id)).status is Status.expired


async def test_pending_request_expires_after_a_process_restart(
    make_runtime: RuntimeFactory, clock: ManualClock
) -> None:
    first = make_runtime()
    request = await submit(first)
    await first.redis.aclose()  # the process is gone; only Redis remembers
    clock.advance(3600)
    second = make_runtime()
    assert await second.service.sweep() == (1, 0)
    assert (await second.service.get(request.id)).status is Status.expired
    await second.redis.aclose()


async def test_sweeps_on_many_replicas_expire_once(
    make_runtime: RuntimeFactory, clock: ManualClock
) -> None:
    replicas = [make_runtime() for _ in range(4)]
    requests = [await submit(replicas[0]) for _ in range(30)]
    clock.advance(601)
    results = await asyncio.gather(*(r.service.sweep() for r in replicas))
    assert sum(expired for expired, _ in results) == 30
    events = [e.fields async for e in replicas[0].audit.entries() if e.fields["event"] == "decided"]
    assert sorted(e["request_id"] for e in events) == sorted(r.id for r in requests)
    for replica in replicas:
        await replica.redis.aclose()


async def test_reminders_and_escalation_fire_once_while_pending(
    make_runtime: RuntimeFactory, clock: ManualClock
) -> None:
    runtime = make_runtime()
    runtime.add_sink("slack", lambda job: asyncio.sleep(0))
    request = await submit(runtime)  # production rule: reminders at 3m and 6m, escalate at 8m
    assert await queued(runtime, "slack") == [("created", request.id)]
    clock.advance(181)
    await asyncio.gather(runtime.service.sweep(), runtime.service.sweep())
    clock.advance(300)
    await runtime.service.sweep()
    kinds = [k for k, _ in await queued(runtime, "slack")]
    assert kinds == ["created", "reminder", "reminder", "escalation"]
    clock.advance(200)
    await runtime.service.sweep()
    kinds = [k for k, _ in await queued(runtime, "slack")]
    assert kinds == ["created", "reminder", "reminder", "escalation", "decided"]
    await runtime.redis.aclose()


async def test_no_followups_after_a_decision(
    make_runtime: RuntimeFactory, clock: ManualClock
) -> None:
    runtime = make_runtime()
    runtime.add_sink("slack", lambda job: asyncio.sleep(0))
    request = await submit(runtime)
    await runtime.service.vote(request.id, "U0ALICE01", approve=False, comment="no")
    clock.advance(900)
    assert await runtime.service.sweep() == (0, 0)
    kinds = [k for k, _ in await queued(runtime, "slack")]
    assert kinds == ["created", "voted", "decided"]
    await runtime.redis.aclose()


async def test_cancel_pending_then_refuse_votes(runtime: Runtime) -> None:
    request = await submit(runtime)
    cancelled = await runtime.service.cancel(
        request.id, agent="infra-bot", actor="infra-bot", reason="plan changed"
    )
    assert (cancelled.status, cancelled.cancel_reason) == (Status.cancelled, "plan changed")
    with pytest.raises(AlreadyDecided):
        await runtime.service.vote(request.id, "U0ALICE01", approve=True)
    with pytest.raises(AlreadyDecided):
        await runtime.service.cancel(request.id, agent="infra-bot", actor="infra-bot")


async def test_cancel_someone_elses_request_is_not_found(runtime: Runtime) -> None:
    request = await submit(runtime)
    with pytest.raises(NotFound):
        await runtime.service.cancel(request.id, agent="other-bot", actor="other-bot")


async def test_idempotency_same_body_same_request(runtime: Runtime) -> None:
    first = await submit(runtime, key="deploy-42")
    again = await runtime.service.submit(AGENT, RequestIn.model_validate(BODY), "deploy-42")
    assert again.created is False
    assert again.request.id == first.id
    assert await runtime.store.count(runtime.keys.by_created) == 1


async def test_idempotency_different_body_conflicts(runtime: Runtime) -> None:
    await submit(runtime, key="deploy-42")
    with pytest.raises(IdempotencyConflict):
        await submit(runtime, key="deploy-42", summary="something else")


async def test_long_poll_wakes_on_the_vote(make_runtime: RuntimeFactory) -> None:
    runtime = make_runtime()
    await runtime.waiters.start()
    request = await submit(runtime, action="deploy.api", environment="staging", command="x")
    waiting = asyncio.create_task(runtime.service.wait(request.id, agent="infra-bot", seconds=30))
    await asyncio.sleep(0.05)
    assert not waiting.done()
    loop = asyncio.get_running_loop()
    voted_at = loop.time()
    await runtime.service.vote(request.id, "U0ALICE01", approve=True)
    decided = await asyncio.wait_for(waiting, timeout=10)
    assert decided.status is Status.approved
    assert loop.time() - voted_at < 5.0  # woken by pub/sub, not by the 30 s timeout
    await runtime.waiters.stop()
    await runtime.redis.aclose()


async def test_long_poll_returns_pending_when_time_is_up(make_runtime: RuntimeFactory) -> None:
    runtime = make_runtime()
    await runtime.waiters.start()
    request = await submit(runtime)
    waited = await runtime.service.wait(request.id, agent="infra-bot", seconds=0.2)
    assert waited.status is Status.pending
    await runtime.waiters.stop()
    await runtime.redis.aclose()
