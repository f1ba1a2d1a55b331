"""200 people vote on one request at the same moment, again and again: the two-person rule
and "decided is final" hold under the race, because each vote is one atomic script."""

from __future__ import annotations

import asyncio

from bot.errors import AlreadyDecided
from bot.models import RequestIn, Status
from bot.policy import Policy, PolicyConfig
from bot.principals import Principal
from bot.runtime import Runtime, connect_redis
from tests.conftest import RuntimeFactory
from tests.support.redis_server import RedisServer

VOTERS = [f"U{n:08d}" for n in range(200)]
ROUNDS = 20
REQUIRED = 3


def crowd_policy() -> Policy:
    return Policy(
        PolicyConfig.model_validate(
            {
                "defaults": {"groups": ["crowd"]},
                "groups": {"crowd": {"users": VOTERS}},
                "rules": [{"name": "crowd", "risk": "high", "approvals": REQUIRED}],
            }
        )
    )


async def test_concurrent_votes_never_exceed_the_required_count(
    make_runtime: RuntimeFactory, redis_server: RedisServer
) -> None:
    # connect_redis, as `serve` does: its pool queues commands past its size
    runtime = make_runtime(policy=crowd_policy(), redis=connect_redis(redis_server.url))
    agent = Principal(name="racer", owner="U0OWNER01")
    body = RequestIn(action="deploy.service", summary="race", environment="staging")
    try:
        for round_ in range(ROUNDS):
            request = (await runtime.service.submit(agent, body)).request
            deny_at = 150 if round_ % 2 else None  # odd rounds: one voter denies
            votes = [
                runtime.service.vote(request.id, user, approve=(n != deny_at))
                for n, user in enumerate(VOTERS)
            ]
            results = await asyncio.gather(*votes, return_exceptions=True)
            await _check_round(runtime, request.id, results)
    finally:
        await runtime.http.aclose()
        await runtime.redis.aclose()


async def _check_round(runtime: Runtime, request_id: str, results: list[object]) -> None:
    final = await runtime.service.get(request_id)
    accepted = [r for r in results if not isinstance(r, BaseException)]
    refused = [r for r in results if isinstance(r, BaseException)]
    odd = [r for r in refused if not isinstance(r, AlreadyDecided)]
    assert not odd, odd[:3]
    assert final.status in {Status.approved, Status.denied}
    assert len(final.approvals) <= REQUIRED
    if final.status is Status.approved:
        assert len(final.approvals) == REQUIRED
        assert len({a.user for a in final.approvals}) == REQUIRED
    # every accepted vote is in the record, and nothing was accepted after the decision
    audit = await runtime.audit.for_request(request_id)
    votes = [e for e in audit if e["event"] == "vote"]
    decided = [e for e in audit if e["event"] == "decided"]
    assert len(votes) == len(accepted)
    assert len(decided) == 1
    assert audit.index(decided[0]) == len(audit) - 1
    assert len(votes) == len(final.approvals) + (1 if final.denial else 0)
