"""Redis Sentinel: the primary is SIGKILLed mid-run; the sentinels promote the replica and
Countersign, on `REDIS_URL=redis+sentinel://...`, carries on with every decision it
acknowledged still there."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import httpx
import pytest
from redis.exceptions import RedisError

from bot.errors import VoteRefused
from bot.principals import Principal
from bot.runtime import close_redis, connect_redis
from bot.settings import Settings
from tests.conftest import ApiFactory, RuntimeFactory
from tests.faults.conftest import APPROVER, DEPLOY
from tests.faults.processes import SentinelCluster

ROUNDS = 60
KILL_AT = 20
T = TypeVar("T")


@pytest.fixture
def cluster(tmp_path: Path) -> AsyncIterator[SentinelCluster]:
    sentinels = SentinelCluster(tmp_path)
    sentinels.start()
    yield sentinels
    sentinels.stop()


async def _until_done(attempt: Callable[[], Awaitable[T]]) -> T:
    """Retry through the failover, as a client would: errors, then success."""
    async with asyncio.timeout(60):
        while True:
            try:
                return await attempt()
            except (RedisError, OSError, httpx.HTTPError, _Unavailable):
                await asyncio.sleep(0.2)


class _Unavailable(Exception):
    pass


async def test_service_carries_on_through_a_sentinel_failover(
    cluster: SentinelCluster,
    make_runtime: RuntimeFactory,
    serve_api: ApiFactory,
    settings: Settings,
) -> None:
    url = cluster.url
    runtime = make_runtime(
        settings=settings.model_copy(update={"redis_url": url}), redis=connect_redis(url)
    )
    token = await runtime.principals.add(Principal(name="ha-bot", owner="U0OWNER01"))
    old_primary = cluster.primary_port()
    decided: list[str] = []
    async with serve_api(runtime=runtime) as api:
        headers = api.auth(token)

        async def create() -> str:
            response = await api.client.post("/v1/requests", json=DEPLOY, headers=headers)
            if response.status_code == 503:
                raise _Unavailable
            assert response.status_code == 201, response.text
            return str(response.json()["id"])

        for n in range(ROUNDS):
            if n == KILL_AT:
                cluster.primary.stop(kill=True)
            request_id = await _until_done(create)

            async def vote(request_id: str = request_id) -> str:
                try:
                    request = await runtime.service.vote(request_id, APPROVER, approve=True)
                except VoteRefused as refused:  # a retried vote that had landed before
                    assert refused.code == "already_voted" or refused.status == "approved"
                    request = await runtime.service.get(request_id)
                return request.status.value

            assert await _until_done(vote) == "approved"
            decided.append(request_id)

        async with asyncio.timeout(15):  # the sentinel asked may learn of the failover last
            while cluster.primary_port() == old_primary:
                await asyncio.sleep(0.1)
        for request_id in decided:
            response = await api.client.get(f"/v1/requests/{request_id}", headers=headers)
            assert response.json()["status"] == "approved", request_id
            assert [a["user"] for a in response.json()["approvals"]] == [APPROVER]
    assert (await runtime.audit.verify()).intact
    await close_redis(runtime.redis)  # with the connections to the sentinels
