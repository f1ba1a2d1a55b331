"""`countersign outbox status|retry`: see and re-queue undelivered Slack and callback jobs."""

from __future__ import annotations

import argparse
import asyncio

from bot.clock import system_clock
from bot.commands import Commands
from bot.errors import ConfigError
from bot.keys import Keys
from bot.outbox import OutboxWorker
from bot.runtime import close_redis, connect_redis
from bot.settings import Settings
from bot.store import Store

SINKS = ("slack", "webhook")


def register(commands: Commands) -> None:
    outbox = commands.add_parser("outbox", help="Slack and callback deliveries waiting or given up")
    sub = outbox.add_subparsers(dest="outbox_command", required=True)
    status = sub.add_parser("status", help="queued and dead-lettered jobs per sink")
    status.set_defaults(run=lambda a, s: asyncio.run(_status(s)))
    retry = sub.add_parser("retry", help="re-queue dead-lettered jobs (after fixing the cause)")
    retry.add_argument("--sink", choices=SINKS, action="append", help="default: every sink")
    retry.set_defaults(run=lambda a, s: asyncio.run(_retry(a, s)))


def _worker(settings: Settings) -> OutboxWorker:
    if not settings.redis_url:
        raise ConfigError("Config 'REDIS_URL' is missing, and has no default.")
    store = Store(connect_redis(settings.redis_url), Keys(settings.key_prefix))
    return OutboxWorker(store, system_clock, dict.fromkeys(SINKS, _never_called))


async def _never_called(job: object) -> None:
    raise AssertionError("the CLI only inspects the outbox; it delivers nothing")


async def _status(settings: Settings) -> int:
    worker = _worker(settings)
    try:
        for sink, counts in (await worker.backlog()).items():
            print(f"{sink}\tqueued={counts['queued']}\tdead={counts['dead']}")
    finally:
        await close_redis(worker.store.redis)
    return 0


async def _retry(args: argparse.Namespace, settings: Settings) -> int:
    worker = _worker(settings)
    try:
        for sink in args.sink or SINKS:
            print(f"{sink}: re-queued {await worker.requeue_dead(sink)} job(s)")
    finally:
        await close_redis(worker.store.redis)
    return 0
