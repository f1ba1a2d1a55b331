"""The audit log's hash chain detects edited, removed and inserted entries."""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Callable

import fakeredis
import pytest
from redis.asyncio import Redis

from bot.audit import AuditLog, entry_hash
from bot.keys import Keys
from bot.models import RequestIn
from bot.principals import Principal
from bot.runtime import Runtime
from bot.store import Store, _lua

AGENT = Principal(name="infra-bot", owner="U0OWNER01")


async def make_history(runtime: Runtime) -> list[str]:
    body = RequestIn(action="deploy.api", summary="Deploy api", environment="staging")
    ids = []
    for _ in range(3):
        request = (await runtime.service.submit(AGENT, body)).request
        await asyncio.sleep(0.002)  # a millisecond apart: room for a forged id in between
        await runtime.service.vote(request.id, "U0ALICE01", approve=True, comment="lgtm")
        await asyncio.sleep(0.002)
        ids.append(request.id)
    return ids


async def stream_ids(redis: Redis, keys: Keys) -> list[str]:
    return [sid.decode() for sid, _ in await redis.xrange(keys.audit)]


async def test_intact_chain(runtime: Runtime) -> None:
    await make_history(runtime)
    verdict = await runtime.audit.verify()
    assert verdict.intact and verdict.entries == 9  # created, vote, decided per request
    assert str(verdict) == "intact: 9 entries"


async def test_every_vote_and_decision_is_recorded(runtime: Runtime) -> None:
    [first, *_] = await make_history(runtime)
    events = [(e["event"], e["actor"]) for e in await runtime.audit.for_request(first)]
    assert events == [("created", "infra-bot"), ("vote", "U0ALICE01"), ("decided", "U0ALICE01")]


Entry = tuple[str, dict[bytes, bytes]]


async def rewrite(redis: Redis, keys: Keys, change: Callable[[list[Entry]], list[Entry]]) -> None:
    """Tamper as an attacker with Redis access would: rewrite the stream, keeping its ids."""
    entries = [(sid.decode(), fields) for sid, fields in await redis.xrange(keys.audit)]
    await redis.delete(keys.audit)
    for sid, fields in change(entries):
        await redis.xadd(keys.audit, fields, id=sid)


async def test_edited_entry_is_named(runtime: Runtime) -> None:
    await make_history(runtime)
    ids = await stream_ids(runtime.redis, runtime.keys)

    def edit(entries: list[Entry]) -> list[Entry]:
        sid, fields = entries[4]
        data = json.loads(fields[b"data"])
        data["actor"] = "U0MALLORY"
        entries[4] = (sid, {**fields, b"data": json.dumps(data).encode()})
        return entries

    await rewrite(runtime.redis, runtime.keys, edit)
    verdict = await runtime.audit.verify()
    assert (verdict.intact, verdict.first_bad) == (False, ids[4])
    assert "content does not match" in verdict.problem


async def test_deleted_entry_is_named(runtime: Runtime) -> None:
    await make_history(runtime)
    ids = await stream_ids(runtime.redis, runtime.keys)
    await runtime.redis.xdel(runtime.keys.audit, ids[3])
    verdict = await runtime.audit.verify()
    assert (verdict.intact, verdict.first_bad) == (False, ids[4])
    assert "removed" in verdict.problem


async def test_inserted_entry_is_named(runtime: Runtime) -> None:
    await make_history(runtime)
    ids = await stream_ids(runtime.redis, runtime.keys)

    def insert(entries: list[Entry]) -> list[Entry]:
        sid, fields = entries[2]
        prev = fields[b"hash"].decode()
        data = json.dumps({"event": "vote", "actor": "U0MALLORY"})
        forged = {
            b"prev": prev.encode(),
            b"data": data.encode(),
            b"hash": entry_hash(prev, data).encode(),
        }
        ms, seq = sid.split("-")
        return [*entries[:3], (f"{ms}-{int(seq) + 1}", forged), *entries[3:]]

    await rewrite(runtime.redis, runtime.keys, insert)
    verdict = await runtime.audit.verify()
    forged_id = (await stream_ids(runtime.redis, runtime.keys))[3]
    assert forged_id not in ids
    assert (verdict.intact, verdict.first_bad) == (False, forged_id)
    assert "inserted" in verdict.problem


async def test_removing_the_newest_entries_is_detected(runtime: Runtime) -> None:
    await make_history(runtime)
    ids = await stream_ids(runtime.redis, runtime.keys)
    await runtime.redis.xdel(runtime.keys.audit, ids[-1])
    verdict = await runtime.audit.verify()
    assert not verdict.intact and "newest entries were removed" in verdict.problem


async def test_a_rebuilt_chain_fails_against_a_checkpoint_recorded_before(
    runtime: Runtime,
) -> None:
    await make_history(runtime)
    redis, keys = runtime.redis, runtime.keys
    checkpoint = (await redis.get(keys.audit_head)).decode()  # kept outside Redis
    await make_history(runtime)
    verdict = await runtime.audit.verify([checkpoint])
    assert verdict.intact and verdict.checkpoints == 1
    assert str(verdict) == "intact: 18 entries, 1 checkpoint(s) found"

    def rebuild(entries: list[Entry]) -> list[Entry]:
        """Edit one old entry, then recompute every hash after it, as only a writer can."""
        rebuilt, prev = [], ""
        for n, (sid, fields) in enumerate(entries):
            data = fields[b"data"].decode()
            if n == 4:
                data = json.dumps({**json.loads(data), "actor": "U0MALLORY"})
            digest = entry_hash(prev, data)
            rebuilt.append(
                (sid, {b"prev": prev.encode(), b"data": data.encode(), b"hash": digest.encode()})
            )
            prev = digest
        return rebuilt

    await rewrite(redis, keys, rebuild)
    entries = [entry async for entry in runtime.audit.entries()]
    await redis.set(keys.audit_head, entries[-1].hash)
    assert (await runtime.audit.verify()).intact  # the chain alone cannot tell
    caught = await runtime.audit.verify([checkpoint])
    assert (caught.intact, caught.first_bad) == (False, "(checkpoint)")
    assert checkpoint in caught.problem and "rewritten" in caught.problem


@pytest.mark.parametrize(
    "text", ["", "abc", "x" * 55, "x" * 56, "x" * 64, "é" * 300, '{"event":"vote"}' * 40]
)
async def test_lua_sha256_matches_hashlib_in_redis_and_fakeredis(redis: Redis, text: str) -> None:
    script = _lua("sha256") + "\nreturn sha256(ARGV[1])"
    expected = hashlib.sha256(text.encode()).hexdigest()
    assert (await redis.eval(script, 0, text)).decode() == expected
    fake = fakeredis.FakeRedis()
    assert fake.eval(script, 0, text).decode() == expected


async def test_chain_written_by_fakeredis_verifies() -> None:
    """Dev mode runs the same scripts on fakeredis, whose Lua lacks the `bit` library."""
    from fakeredis import FakeAsyncRedis

    store = Store(FakeAsyncRedis(), Keys("dev:"))
    ids = await make_store_history(store)
    log = AuditLog(store.redis, store.keys)
    verdict = await log.verify()
    assert verdict.intact and verdict.entries == len(ids) * 3


async def make_store_history(store: Store) -> list[str]:
    from datetime import UTC, datetime, timedelta

    from bot.models import PolicyDecision, Risk, Status
    from bot.store import NewRequest

    decision = PolicyDecision(
        risk=Risk.medium,
        risk_reasons=["r"],
        rule="r",
        required_approvals=1,
        eligible_groups=["g"],
        approvers=["U0ALICE01"],
        approver_usergroups=[],
        channel="#c",
        ttl_seconds=60,
        reminders=[],
    )
    now = datetime(2026, 1, 1, tzinfo=UTC)
    ids = []
    for n in range(2):
        new = NewRequest(
            id=f"req_{n}",
            agent="a",
            owner="",
            body=RequestIn(action="x.y", summary="s"),
            decision=decision,
            created_at=now,
            expires_at=now + timedelta(60),
            outcome=Status.pending,
        )
        await store.create(new, [])
        await store.vote(new.id, "U0ALICE01", True, "", now, [])
        ids.append(new.id)
    return ids


async def test_verify_while_the_log_grows_stays_intact(runtime: Runtime) -> None:
    async def writer() -> None:
        for _ in range(10):
            await make_history(runtime)

    async def verifier() -> list[bool]:
        verdicts = []
        for _ in range(30):
            verdicts.append((await runtime.audit.verify()).intact)
            await asyncio.sleep(0)
        return verdicts

    _, verdicts = await asyncio.gather(writer(), verifier())
    assert all(verdicts)
    assert (await runtime.audit.verify()).entries == 90
