"""`countersign agents add|list|remove`: agent and auditor tokens."""

from __future__ import annotations

import argparse
import asyncio
import sys

from pydantic import ValidationError

from bot.commands import Commands
from bot.errors import ConfigError
from bot.keys import Keys
from bot.policy import describe
from bot.principals import Principal, Principals, Role
from bot.runtime import close_redis, connect_redis
from bot.settings import Settings


def register(commands: Commands) -> None:
    agents = commands.add_parser("agents", help="manage agent and auditor tokens")
    sub = agents.add_subparsers(dest="agents_command", required=True)
    add = sub.add_parser("add", help="register a token holder; prints its token once")
    add.add_argument("name")
    add.add_argument("--owner", default="", help="Slack user ID of the agent's owner")
    add.add_argument("--role", choices=[r.value for r in Role], default=Role.agent.value)
    add.add_argument(
        "--env",
        action="append",
        dest="environments",
        help="allowed environment glob (repeatable; default any)",
    )
    add.add_argument(
        "--action",
        action="append",
        dest="actions",
        help="allowed action glob (repeatable; default any)",
    )
    add.add_argument(
        "--callback-host",
        action="append",
        dest="callback_hosts",
        default=[],
        help="host glob that callback_url may point at (repeatable)",
    )
    add.add_argument(
        "--question-channel",
        action="append",
        dest="question_channels",
        default=[],
        help="Slack channel or user ID the agent may direct its questions to (repeatable; "
        "default: questions go to the policy's default channel)",
    )
    add.add_argument("--rate", type=int, default=120, help="requests per minute (default 120)")
    add.set_defaults(run=lambda a, s: asyncio.run(_add(a, s)))
    listing = sub.add_parser("list", help="list token holders")
    listing.set_defaults(run=lambda a, s: asyncio.run(_list(s)))
    remove = sub.add_parser("remove", help="revoke a token holder")
    remove.add_argument("name")
    remove.set_defaults(run=lambda a, s: asyncio.run(_remove(a, s)))


def principals_for(settings: Settings) -> Principals:
    if not settings.redis_url:
        raise ConfigError("Config 'REDIS_URL' is missing, and has no default.")
    return Principals(connect_redis(settings.redis_url), Keys(settings.key_prefix))


async def _add(args: argparse.Namespace, settings: Settings) -> int:
    try:
        principal = Principal(
            name=args.name,
            role=Role(args.role),
            owner=args.owner,
            environments=args.environments or ["*"],
            actions=args.actions or ["*"],
            callback_hosts=args.callback_hosts,
            question_channels=args.question_channels,
            rate_per_minute=args.rate,
        )
    except ValidationError as exc:
        print(f"countersign: {describe(exc)}", file=sys.stderr)
        return 2
    principals = principals_for(settings)
    try:
        token = await principals.add(principal)
    finally:
        await close_redis(principals.redis)
    print(f"Token for {principal.role} {principal.name!r} (shown once; store it now):")
    print(token)
    return 0


async def _list(settings: Settings) -> int:
    principals = principals_for(settings)
    try:
        for p in await principals.all():
            print(
                f"{p.name}\t{p.role}\towner={p.owner or '-'}\tenv={','.join(p.environments)}"
                f"\tactions={','.join(p.actions)}\trate={p.rate_per_minute}/min"
                f"\tquestions={','.join(p.question_channels) or '-'}"
            )
    finally:
        await close_redis(principals.redis)
    return 0


async def _remove(args: argparse.Namespace, settings: Settings) -> int:
    principals = principals_for(settings)
    try:
        removed = await principals.remove(args.name)
    finally:
        await close_redis(principals.redis)
    print(f"removed {args.name}" if removed else f"no such agent: {args.name}", file=sys.stderr)
    return 0 if removed else 1
