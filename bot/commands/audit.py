"""`countersign audit verify`: walk the hash chain and report the first bad entry."""

from __future__ import annotations

import asyncio

from bot.audit import AuditLog
from bot.commands import Commands
from bot.errors import ConfigError
from bot.keys import Keys
from bot.runtime import connect_redis
from bot.settings import Settings


def register(commands: Commands) -> None:
    audit = commands.add_parser("audit", help="audit log tools")
    sub = audit.add_subparsers(dest="audit_command", required=True)
    verify = sub.add_parser("verify", help="walk the hash chain and report tampering")
    verify.set_defaults(run=lambda a, s: asyncio.run(_verify(s)))


async def _verify(settings: Settings) -> int:
    if not settings.redis_url:
        raise ConfigError("Config 'REDIS_URL' is missing, and has no default.")
    redis = connect_redis(settings.redis_url)
    try:
        verdict = await AuditLog(redis, Keys(settings.key_prefix)).verify()
    finally:
        await redis.aclose()
    print(verdict)
    return 0 if verdict.intact else 1
