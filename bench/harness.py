"""What every benchmark shares: a private redis-server, the server as a subprocess, agents,
and a closed-loop load generator that records each request's latency."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from redis.asyncio import Redis

from bot.keys import Keys
from bot.principals import Principal, Principals, Role
from tests.support.redis_server import RedisServer, free_port

PROD_DEPLOY: dict[str, Any] = {
    "action": "deploy.service",
    "summary": "Deploy billing-api 2.14.1 to prod",
    "resource": "billing-api",
    "environment": "prod",
    "command": ["kubectl", "set", "image", "deploy/billing-api", "api=billing:2.14.1"],
    "scope": {"permissions": ["apps/deployments:update"], "resources": ["ns/billing"]},
    "justification": "Fixes the invoice rounding bug (INC-4411).",
    "on_behalf_of": "U0OWNER01",
    "metadata": {"ticket": "INC-4411", "run": "bench"},
}


@contextlib.contextmanager
def redis_server(workdir: Path) -> Iterator[RedisServer]:
    """A redis-server with AOF on and fsync on every write, as the README recommends."""
    server = RedisServer(workdir)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@contextlib.contextmanager
def _process(*args: str) -> Iterator[subprocess.Popen[bytes]]:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    process = subprocess.Popen([sys.executable, "-m", *args], env=env)
    try:
        yield process
    finally:
        process.terminate()
        process.wait(timeout=15)


@contextlib.contextmanager
def countersign_server(redis_url: str, workdir: Path) -> Iterator[str]:
    """`bench.app` (production app with Slack + baseline endpoint) in its own process,
    with the fake Slack in a third; yields the server's base URL."""
    slack_port, port = free_port(), free_port()
    slack_api = f"http://127.0.0.1:{slack_port}/api/"
    with (
        _process("bench.slack", str(slack_port)),
        _process("bench.app", str(port), redis_url, str(workdir), slack_api) as server,
    ):
        base = f"http://127.0.0.1:{port}"
        _wait_until_up(base, server)
        yield base


def _wait_until_up(base: str, process: subprocess.Popen[bytes]) -> None:
    import httpx

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"bench server exited with {process.returncode}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                return
        time.sleep(0.1)
    raise RuntimeError("bench server did not become ready in 30 s")


async def add_agents(
    redis_url: str, count: int, prefix: str = "bench-agent", role: Role = Role.agent
) -> list[str]:
    """Register token holders without a practical rate limit; returns their tokens."""
    redis = Redis.from_url(redis_url)
    principals = Principals(redis, Keys())
    try:
        return [
            await principals.add(
                Principal(name=f"{prefix}-{i}", role=role, owner="U0OWNER01", rate_per_minute=10**9)
            )
            for i in range(count)
        ]
    finally:
        await redis.aclose()


@dataclass
class Run:
    """Latencies (seconds) of one closed-loop run and its wall time."""

    latencies: list[float]
    seconds: float
    errors: int

    @property
    def throughput(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float:
        return percentile(self.latencies, p)


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile; 0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(p / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


Call = Callable[[aiohttp.ClientSession, int], Awaitable[bool]]


async def closed_loop(call: Call, workers: int, seconds: float, warmup: float = 1.0) -> Run:
    """`workers` loops each calling `call` back to back; measures after a warm-up."""
    latencies: list[float] = []
    errors = 0
    measuring = False
    stop_at = time.monotonic() + warmup + seconds
    connector = aiohttp.TCPConnector(limit=workers + 4)

    async def worker(session: aiohttp.ClientSession, index: int) -> None:
        nonlocal errors
        while time.monotonic() < stop_at:
            started = time.perf_counter()
            ok = await call(session, index)
            if measuring:
                if ok:
                    latencies.append(time.perf_counter() - started)
                else:
                    errors += 1

    async with aiohttp.ClientSession(connector=connector) as session:
        tasks = [asyncio.create_task(worker(session, i)) for i in range(workers)]
        await asyncio.sleep(warmup)
        measuring, began = True, time.perf_counter()
        await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - began
    return Run(latencies, elapsed, errors)


@contextlib.asynccontextmanager
async def redis_client(url: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(url)
    try:
        yield client
    finally:
        await client.aclose()
