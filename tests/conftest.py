"""Shared fixtures: a real Redis server, a controllable clock, runtimes and running apps."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from redis.asyncio import Redis

from bot.api.app import Adapter, create_app
from bot.clock import ManualClock
from bot.directory import StaticDirectory
from bot.grants import GrantSigner
from bot.policy import Policy
from bot.principals import Principal
from bot.runtime import Runtime
from bot.settings import Settings
from tests.support.http_server import serving
from tests.support.redis_server import RedisServer

ROOT = Path(__file__).resolve().parent.parent
GRANT_KEY = Ed25519PrivateKey.generate()


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
async def redis(redis_server: RedisServer) -> AsyncIterator[Redis]:
    if redis_server.process is None:  # a test stopped it; bring it back for the next one
        redis_server.start()
    client = Redis.from_url(redis_server.url)
    await client.flushall()
    yield client
    await client.aclose()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def policy() -> Policy:
    return Policy.load(ROOT / "config")


@pytest.fixture
def settings(redis_server: RedisServer, tmp_path: Path) -> Settings:
    return Settings(
        REDIS_URL=redis_server.url,
        COUNTERSIGN_CONFIG=ROOT / "config",
        COUNTERSIGN_GRANT_KEY_FILE=tmp_path / "grant.pem",
        COUNTERSIGN_WEBHOOK_SECRET="whsec-test",
        COUNTERSIGN_SWEEP_INTERVAL=0.2,
    )


RuntimeFactory = Callable[..., Runtime]


@pytest.fixture
async def make_runtime(
    settings: Settings, redis: Redis, clock: ManualClock, policy: Policy
) -> AsyncIterator[RuntimeFactory]:
    """Build Runtimes on the session's Redis; keyword arguments override their parts.

    Every runtime's connections are closed when the test ends, so none is left for the garbage
    collector to close after its event loop is gone (a ResourceWarning in some later test).
    """
    made: list[Runtime] = []

    def make(**overrides: Any) -> Runtime:
        parts: dict[str, Any] = {
            "settings": settings,
            "redis": Redis.from_url(settings.redis_url or ""),
            "policy": policy,
            "signer": GrantSigner(GRANT_KEY),
            "clock": clock,
            "directory": StaticDirectory({"S0ONCALL1": {"U0GROUP01"}}),
        }
        parts.update(overrides)
        made.append(Runtime(**parts))
        return made[-1]

    yield make
    for runtime in made:
        await runtime.http.aclose()
        await runtime.redis.aclose()


@pytest.fixture
async def runtime(make_runtime: RuntimeFactory) -> AsyncIterator[Runtime]:
    """A runtime whose background parts are not started: tests drive sweeps themselves."""
    rt = make_runtime()
    yield rt
    await rt.http.aclose()
    await rt.redis.aclose()


AgentFactory = Callable[..., Awaitable[tuple[Principal, str]]]


@pytest.fixture
def add_agent(runtime: Runtime) -> AgentFactory:
    async def add(name: str = "infra-bot", **fields: Any) -> tuple[Principal, str]:
        principal = Principal(name=name, **{"owner": "U0OWNER01", **fields})
        return principal, await runtime.principals.add(principal)

    return add


class Api:
    """An httpx client on a running Countersign, with the runtime behind it."""

    def __init__(self, client: httpx.AsyncClient, runtime: Runtime, base_url: str) -> None:
        self.client = client
        self.runtime = runtime
        self.base_url = base_url

    def auth(self, token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}


ApiFactory = Callable[..., Any]


@pytest.fixture
async def serve_api(make_runtime: RuntimeFactory) -> AsyncIterator[ApiFactory]:
    """Start Countersign on a real port: `async with serve_api(adapters=[...]) as api:`."""
    import contextlib

    @contextlib.asynccontextmanager
    async def start(
        runtime: Runtime | None = None, adapters: list[Adapter] | None = None
    ) -> AsyncIterator[Api]:
        rt = runtime or make_runtime()
        app = create_app(rt, adapters)
        async with (
            serving(app) as base_url,
            httpx.AsyncClient(base_url=base_url, timeout=30) as client,
        ):
            yield Api(client, rt, base_url)

    yield start
