"""schemathesis against `/openapi.json` of a running `countersign serve`: every operation,
generated inputs, valid and invalid. No 5xx, and every response matches its schema."""

from __future__ import annotations

import asyncio
import itertools
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
)

from bot.keys import Keys
from bot.principals import Principal, Principals
from bot.runtime import connect_redis
from tests.faults.processes import ServerProcess
from tests.support.redis_server import RedisServer

TOKEN = "cs_schemathesis_agent_token"
EXAMPLES = 30  # per operation and mode (valid and invalid inputs)
CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]


async def _register(url: str) -> None:
    redis = connect_redis(url)
    try:
        agent = Principal(name="fuzz-bot", owner="U0OWNER01", rate_per_minute=10**6)
        await Principals(redis, Keys()).add(agent, token=TOKEN)
    finally:
        await redis.aclose()


@pytest.fixture(scope="module")
def api_schema(redis_server: RedisServer) -> Iterator[schemathesis.BaseSchema]:
    with tempfile.TemporaryDirectory() as tmp:
        # No Slack answers at this address: cards wait in the outbox, requests still work.
        server = ServerProcess(redis_server.url, "http://127.0.0.1:9/api/", Path(tmp))
        asyncio.run(_register(redis_server.url))
        server.start()
        try:
            asyncio.run(server.wait_ready())
            yield schemathesis.openapi.from_url(f"{server.url}/openapi.json")
        finally:
            server.stop()


def test_every_operation(api_schema: schemathesis.BaseSchema) -> None:
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 8
    for operation, mode in itertools.product(operations, GenerationMode):

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
        def check(case: schemathesis.Case) -> None:
            case.call_and_validate(headers={"Authorization": f"Bearer {TOKEN}"}, checks=CHECKS)

        try:
            check()
        except Unsatisfiable:
            assert mode is GenerationMode.NEGATIVE  # nothing in this operation to break
