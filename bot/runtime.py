"""Wires settings, Redis, policy and the service together; started and stopped as one."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

import httpx
from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.sentinel import Sentinel

from bot.audit import AuditLog
from bot.clock import Clock, system_clock
from bot.directory import Directory, StaticDirectory
from bot.errors import ConfigError
from bot.grants import GrantSigner
from bot.keys import Keys
from bot.outbox import Handler, OutboxWorker
from bot.policy import Policy
from bot.principals import Principals
from bot.scheduler import Scheduler
from bot.service import ApprovalService
from bot.settings import Settings
from bot.store import Store
from bot.waiters import Waiters
from bot.webhooks import WebhookSink

log = logging.getLogger(__name__)


SENTINEL_SCHEME = "redis+sentinel://"
MAX_CONNECTIONS = 256
POOL_WAIT_SECONDS = 10
_CLIENT_OPTIONS: dict[str, Any] = {
    "health_check_interval": 10,
    "socket_keepalive": True,
    "retry_on_timeout": True,
}


def connect_redis(url: str) -> Redis:
    """A client for REDIS_URL: redis://, rediss://, unix://, or redis+sentinel://.

    `redis+sentinel://[:password@]host:port[,host:port...]/service_name[/db]` asks the
    sentinels which server is the primary and asks again after a failover; the password, if
    any, is the primary's (sentinels themselves are reached without one).
    """
    if url.startswith(SENTINEL_SCHEME):
        return _connect_sentinel(url)
    # A blocking pool: past MAX_CONNECTIONS a command waits for a free connection instead of
    # failing with "Too many connections" (redis-py's default pool caps at 100 and raises,
    # which turned a burst of 64 agents plus outbox delivery into 500s; bench/RESULTS.md).
    pool = BlockingConnectionPool.from_url(
        url, max_connections=MAX_CONNECTIONS, timeout=POOL_WAIT_SECONDS, **_CLIENT_OPTIONS
    )
    return Redis.from_pool(pool)  # the client owns the pool: aclose() closes it too


def _connect_sentinel(url: str) -> Redis:
    parsed = urlsplit(url)
    hosts = parsed.netloc.rpartition("@")[2]
    path = [unquote(p) for p in parsed.path.split("/") if p]
    if not hosts or not 1 <= len(path) <= 2 or (len(path) == 2 and not path[1].isdigit()):
        raise ConfigError(
            "Config 'REDIS_URL' is invalid: expected "
            "redis+sentinel://host:port[,host:port]/service_name[/db]."
        )
    sentinels = []
    for item in hosts.split(","):
        host, _, port = item.rpartition(":")
        if not host or not port.isdigit():
            raise ConfigError(f"Config 'REDIS_URL' is invalid: sentinel {item!r} is not host:port.")
        sentinels.append((host.strip("[]"), int(port)))
    password = unquote(parsed.password) if parsed.password else None
    # Timeouts only for asking the sentinels; the primary's connections carry long-polls.
    probe = {"socket_timeout": 2.0, "socket_connect_timeout": 2.0}
    sentinel = Sentinel(sentinels, sentinel_kwargs=probe)  # type: ignore[no-untyped-call]
    db = int(path[1]) if len(path) == 2 else 0
    client: Redis = sentinel.master_for(
        path[0], db=db, password=password, max_connections=1024, **_CLIENT_OPTIONS
    )
    return client


async def close_redis(client: Redis) -> None:
    """Close a client from `connect_redis`; for Sentinel also the connections to the sentinels,
    which the primary's client does not own."""
    await client.aclose()
    manager = getattr(client.connection_pool, "sentinel_manager", None)
    for sentinel in getattr(manager, "sentinels", ()):
        await sentinel.aclose()


def load_signer(settings: Settings) -> GrantSigner:
    if settings.grant_key is not None:
        return GrantSigner.from_pem(settings.grant_key.get_secret_value().encode())
    return GrantSigner.from_file(settings.grant_key_file)


@dataclass
class Runtime:
    """Everything one Countersign process runs. Adapters receive it, never globals."""

    settings: Settings
    redis: Redis
    policy: Policy
    signer: GrantSigner
    clock: Clock = system_clock
    directory: Directory = field(default_factory=StaticDirectory)
    sinks: dict[str, Handler] = field(default_factory=dict)
    dev: bool = False

    def __post_init__(self) -> None:
        self.keys = Keys(self.settings.key_prefix)
        self.store = Store(self.redis, self.keys)
        self.audit = AuditLog(self.redis, self.keys)
        self.principals = Principals(self.redis, self.keys)
        self.waiters = Waiters(self.redis, self.keys.decided_channel)
        self.jobs = Waiters(self.redis, self.keys.jobs_channel)
        self.http = httpx.AsyncClient(timeout=10.0)
        self.service = ApprovalService(
            store=self.store,
            policy=self.policy,
            clock=self.clock,
            signer=self.signer,
            directory=self.directory,
            waiters=self.waiters,
            sinks=list(self.sinks),
        )
        if self.settings.webhook_secret is not None:
            secret = self.settings.webhook_secret.get_secret_value()
            self.sinks["webhook"] = WebhookSink(self.service, secret, self.http)
        self.outbox = OutboxWorker(self.store, self.clock, self.sinks)
        self.scheduler = Scheduler(
            self.service, self.outbox, self.jobs, self.settings.sweep_interval
        )
        self.extras: dict[str, Any] = {}  # adapter state (e.g. the Slack app), by name

    def use_directory(self, directory: Directory) -> None:
        """Answer group membership from `directory` (the service captured the old one)."""
        self.directory = self.service.directory = directory

    def add_sink(self, name: str, handler: Handler) -> None:
        """Register an adapter that acts on request events (e.g. Slack cards)."""
        self.sinks[name] = handler
        self.service.sinks = [s for s in self.sinks if s != "webhook"]

    @property
    def webhooks_enabled(self) -> bool:
        return "webhook" in self.sinks

    async def start(self) -> None:
        await self.waiters.start()
        await self.jobs.start()
        await self.scheduler.start()

    async def stop(self) -> None:
        await self.scheduler.stop()
        await self.jobs.stop()
        await self.waiters.stop()
        await self.http.aclose()
        await close_redis(self.redis)
        await asyncio.sleep(0)  # let closed transports finish closing before the loop may end
