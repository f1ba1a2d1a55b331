"""Bulk data for the history and sweep benchmarks, written with pipelines.

One request is created through the real service; its Redis hash is the template. Clones get
a fresh id (also inside the stored document), their own times, and the same index entries the
Lua scripts write (see `bot/keys.py`), so queries and sweeps see exactly the production layout.
Audit entries are not cloned: neither history paging nor the sweep reads them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from redis.asyncio import Redis

from bench.harness import PROD_DEPLOY
from bot.clock import system_clock
from bot.directory import StaticDirectory
from bot.keys import Keys
from bot.models import RequestIn
from bot.policy import Policy
from bot.principals import Principal
from bot.runtime import Runtime, load_signer
from bot.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
BATCH = 5000
AGENTS = 20
SEED_AGENT = "bench-seed"
STATUSES = ("approved", "approved", "approved", "denied", "expired")


def runtime_on(redis: Redis, workdir: Path) -> Runtime:
    settings = Settings(
        REDIS_URL="redis://unused",
        COUNTERSIGN_CONFIG=ROOT / "config",
        COUNTERSIGN_GRANT_KEY_FILE=workdir / "grant.pem",
    )
    return Runtime(
        settings=settings,
        redis=redis,
        policy=Policy.load(settings.config_dir),
        signer=load_signer(settings),
        clock=system_clock,
        directory=StaticDirectory(),
    )


async def template(runtime: Runtime) -> dict[str, str]:
    """The hash of one real request, created through the service."""
    agent = Principal(name=SEED_AGENT, owner="U0OWNER01")
    submitted = await runtime.service.submit(agent, RequestIn.model_validate(PROD_DEPLOY))
    raw = await runtime.redis.hgetall(runtime.keys.request(submitted.request.id))
    fields = {k.decode(): v.decode() for k, v in raw.items()}
    fields["template_id"] = submitted.request.id
    await runtime.redis.flushdb()
    return fields


def _clone(
    tpl: dict[str, str], request_id: str, created: int, expires: int, agent: str = SEED_AGENT
) -> dict[str, Any]:
    fields = {k: v for k, v in tpl.items() if k != "template_id"}
    doc = tpl["doc"].replace(tpl["template_id"], request_id)
    fields["doc"] = doc.replace(f'"agent": "{SEED_AGENT}"', f'"agent": "{agent}"')
    fields["agent"] = agent
    fields["created_at"], fields["expires_at"] = created, expires
    return fields


def _ids(prefix: str, start: int, count: int) -> Iterator[tuple[int, str]]:
    for n in range(start, start + count):
        yield n, f"req_{prefix}{n:014d}"


async def decided(redis: Redis, tpl: dict[str, str], start: int, count: int, now_ms: int) -> None:
    """Add `count` decided requests, one a second apart, ending at now, over 20 agents."""
    keys = Keys()
    for first in range(start, start + count, BATCH):
        async with redis.pipeline(transaction=False) as pipe:
            for n, request_id in _ids("h", first, min(BATCH, start + count - first)):
                created = now_ms - (10_000_000 - n) * 1000
                agent = f"bench-agent-{n % AGENTS}"
                status = STATUSES[(n // AGENTS) % len(STATUSES)]  # every agent has each status
                fields = _clone(tpl, request_id, created, created + 600_000, agent)
                approver = "U0ALICE01" if n % 2 else "U0BOB0002"
                vote = [{"user": approver, "at": created + 30_000, "comment": ""}]
                fields.update(
                    status=status,
                    decided_at=created + 30_000,
                    decided_by=approver if status != "expired" else "system",
                    approvals=json.dumps(vote if status == "approved" else []),
                )
                pipe.hset(keys.request(request_id), mapping=fields)
                pipe.zadd(keys.by_created, {request_id: created})
                pipe.zadd(keys.by_decided, {request_id: created + 30_000})
                pipe.zadd(keys.by_status(status), {request_id: created})
                pipe.zadd(keys.by_agent(agent), {request_id: created})
                pipe.zadd(keys.by_risk("medium"), {request_id: created})
                pipe.zadd(keys.by_approver(approver), {request_id: created + 30_000})
            await pipe.execute()


async def pending(
    redis: Redis, tpl: dict[str, str], prefix: str, count: int, overdue: int, now_ms: int
) -> None:
    """Add `count` pending requests of which the first `overdue` are past their deadline."""
    keys = Keys()
    for first in range(0, count, BATCH):
        async with redis.pipeline(transaction=False) as pipe:
            for n, request_id in _ids(prefix, first, min(BATCH, count - first)):
                expires = now_ms - 1000 if n < overdue else now_ms + 3_600_000 + n
                created = expires - 600_000
                fields = _clone(tpl, request_id, created, expires)
                pipe.hset(keys.request(request_id), mapping=fields)
                pipe.zadd(keys.by_created, {request_id: created})
                pipe.zadd(keys.by_status("pending"), {request_id: created})
                pipe.zadd(keys.by_agent(SEED_AGENT), {request_id: created})
                pipe.zadd(keys.by_risk("medium"), {request_id: created})
                pipe.zadd(keys.deadlines, {request_id: expires})
            await pipe.execute()
