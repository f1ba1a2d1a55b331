"""Wires settings, Redis, policy and the service together; started and stopped as one."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import httpx
from redis.asyncio import Redis

from bot.audit import AuditLog
from bot.clock import Clock, system_clock
from bot.directory import Directory, StaticDirectory
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


def connect_redis(url: str) -> Redis:
    """A client for REDIS_URL (redis://, rediss://, unix://)."""
    return Redis.from_url(
        url, health_check_interval=10, socket_keepalive=True, retry_on_timeout=True
    )


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
        await self.redis.aclose()
