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
from dataclasses import dataclass, field
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


FAKE_SLACK = "fake Slack"  # the process name in CPU figures
DRAIN_LIMIT_S = 900  # a backlog that takes longer means the server is stuck: fail the run


@dataclass
class Served:
    """A running bench server: its base URL and the processes whose CPU time is measured."""

    base: str
    pids: dict[str, int]

    def cpu(self) -> dict[str, float]:
        """CPU seconds (user + system) used so far by each process, and by this one (the load
        generator)."""
        used = {name: _cpu_seconds(pid) for name, pid in self.pids.items()}
        mine = os.times()
        return {**used, "load generator": mine.user + mine.system}


def _cpu_seconds(pid: int) -> float:
    """From /proc/PID/stat: utime and stime, fields 14 and 15 (after the `(comm)` field)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextlib.contextmanager
def countersign_server(redis: RedisServer, workdir: Path) -> Iterator[Served]:
    """`bench.app` (production app with Slack + baseline endpoint) in its own process,
    with the fake Slack in a third."""
    slack_port, port = free_port(), free_port()
    slack_api = f"http://127.0.0.1:{slack_port}/api/"
    with (
        _process("bench.slack", str(slack_port)) as slack,
        _process("bench.app", str(port), redis.url, str(workdir), slack_api) as server,
    ):
        base = f"http://127.0.0.1:{port}"
        _wait_until_up(base, server)
        assert redis.process is not None
        pids = {"server": server.pid, "redis": redis.process.pid, FAKE_SLACK: slack.pid}
        yield Served(base, pids)


async def drained(redis_url: str) -> tuple[int, float]:
    """Wait until the outbox holds no job (the Slack cards and updates a run queued);
    returns how many jobs were queued when called and the seconds it took."""
    keys = Keys()
    sinks = [keys.outbox(sink) for sink in ("slack", "webhook")]
    began = time.monotonic()
    async with redis_client(redis_url) as redis:
        queued = first = sum([await redis.zcard(key) for key in sinks])
        async with asyncio.timeout(DRAIN_LIMIT_S):
            while queued:
                await asyncio.sleep(0.2)
                queued = sum([await redis.zcard(key) for key in sinks])
    return first, time.monotonic() - began


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
    cpu: dict[str, float] = field(default_factory=dict)  # CPU seconds by process, measured
    calls: int = 0  # every call made, the warm-up's included
    cpu_all: dict[str, float] = field(default_factory=dict)  # CPU seconds, warm-up included

    @property
    def throughput(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0

    def cpu_per_request(self) -> dict[str, float]:
        """Microseconds of CPU each process spent per measured request."""
        done = len(self.latencies) + self.errors
        return {name: used / done * 1e6 for name, used in self.cpu.items()} if done else {}

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


async def closed_loop(
    call: Call,
    workers: int,
    seconds: float,
    warmup: float = 1.0,
    cpu: Callable[[], dict[str, float]] | None = None,
) -> Run:
    """`workers` loops each calling `call` back to back; measures after a warm-up, with the
    CPU time `cpu` reports (by process) over the measured window."""
    latencies: list[float] = []
    errors = calls = 0
    measuring = False
    stop_at = time.monotonic() + warmup + seconds
    connector = aiohttp.TCPConnector(limit=workers + 4)

    async def worker(session: aiohttp.ClientSession, index: int) -> None:
        nonlocal errors, calls
        while time.monotonic() < stop_at:
            started = time.perf_counter()
            ok = await call(session, index)
            calls += 1
            if measuring:
                if ok:
                    latencies.append(time.perf_counter() - started)
                else:
                    errors += 1

    first = cpu() if cpu else {}
    async with aiohttp.ClientSession(connector=connector) as session:
        tasks = [asyncio.create_task(worker(session, i)) for i in range(workers)]
        await asyncio.sleep(warmup)
        before = cpu() if cpu else {}
        measuring, began = True, time.perf_counter()
        await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - began
        after = cpu() if cpu else {}
    used = {name: after[name] - before[name] for name in before}
    used_all = {name: after[name] - first[name] for name in first}
    return Run(latencies, elapsed, errors, used, calls, used_all)


@contextlib.asynccontextmanager
async def redis_client(url: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(url)
    try:
        yield client
    finally:
        await client.aclose()
