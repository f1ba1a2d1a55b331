"""The `countersign` command line."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from pydantic import ValidationError

from bot.errors import ConfigError
from bot.models import RequestIn
from bot.policy import Policy, describe
from bot.principals import Principal, Role
from bot.settings import Settings, load_settings


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="countersign", description="Slack approval gateway for AI agents."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("serve", help="run the production server on $PORT")
    dev = commands.add_parser("dev", help="run on embedded defaults (no Slack, no Redis)")
    dev.add_argument("--port", type=int, default=None)
    _agents_parser(commands)
    policy = commands.add_parser("policy", help="policy tools")
    policy_cmds = policy.add_subparsers(dest="policy_command", required=True)
    check = policy_cmds.add_parser("check", help="rate a request JSON without storing it")
    check.add_argument(
        "file", type=Path, help="request JSON (as for POST /v1/requests), - for stdin"
    )
    check.add_argument("--agent", default="cli", help="agent name to match rules against")
    audit = commands.add_parser("audit", help="audit log tools")
    audit_cmds = audit.add_subparsers(dest="audit_command", required=True)
    audit_cmds.add_parser("verify", help="walk the hash chain and report tampering")
    return parser


def _agents_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    agents = commands.add_parser("agents", help="manage agent and auditor tokens")
    cmds = agents.add_subparsers(dest="agents_command", required=True)
    add = cmds.add_parser("add", help="register a token holder; prints its token once")
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
        help="host glob callback_url may point at (repeatable)",
    )
    add.add_argument("--rate", type=int, default=120, help="requests per minute")
    cmds.add_parser("list", help="list token holders")
    remove = cmds.add_parser("remove", help="revoke a token holder")
    remove.add_argument("name")


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
        logging.basicConfig(
            level=settings.log_level.upper(),
            format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        )
        return _dispatch(args, settings)
    except ConfigError as exc:
        print(f"countersign: {exc.message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _dispatch(args: argparse.Namespace, settings: Settings) -> int:
    from bot import server  # imported late: the CLI's cheap commands stay fast

    if args.command == "serve":
        return server.serve(settings)
    if args.command == "dev":
        return server.dev(settings, port=args.port)
    if args.command == "policy":
        return policy_check(settings, args.file, args.agent)
    if args.command == "agents":
        return asyncio.run(_agents(settings, args))
    return asyncio.run(_audit_verify(settings))


def policy_check(settings: Settings, file: Path, agent: str) -> int:
    policy = Policy.load(settings.config_dir)
    text = sys.stdin.read() if str(file) == "-" else _read(file)
    try:
        request = RequestIn.model_validate_json(text)
    except ValidationError as exc:
        print(f"countersign: {file}: {describe(exc)}", file=sys.stderr)
        return 2
    decision = policy.evaluate(request, agent)
    outcome = (
        "denied by policy"
        if decision.deny
        else ("approved by policy" if decision.auto_approve else "needs approval")
    )
    print(
        json.dumps(
            {
                "outcome": outcome,
                "risk": decision.risk,
                "risk_reasons": decision.risk_reasons,
                "rule": decision.rule,
                "required_approvals": decision.required_approvals,
                "eligible_groups": decision.eligible_groups,
                "approvers": decision.approvers,
                "approver_usergroups": decision.approver_usergroups,
                "channel": decision.channel,
                "timeout_seconds": decision.ttl_seconds,
                "action_hash": request.action_hash(),
            },
            indent=2,
        )
    )
    return 0


def _read(file: Path) -> str:
    try:
        return file.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{file}: cannot read ({exc.strerror})") from None


async def _agents(settings: Settings, args: argparse.Namespace) -> int:
    from bot.keys import Keys
    from bot.principals import Principals
    from bot.server import redis_for_cli

    redis = redis_for_cli(settings)
    principals = Principals(redis, Keys(settings.key_prefix))
    try:
        if args.agents_command == "add":
            return await _add_principal(principals, args)
        if args.agents_command == "list":
            for p in await principals.all():
                print(
                    f"{p.name}\t{p.role}\towner={p.owner or '-'}\tenv={','.join(p.environments)}"
                    f"\tactions={','.join(p.actions)}"
                )
            return 0
        removed = await principals.remove(args.name)
        print(f"removed {args.name}" if removed else f"no such agent: {args.name}")
        return 0 if removed else 1
    finally:
        await redis.aclose()


async def _add_principal(principals: object, args: argparse.Namespace) -> int:
    from bot.principals import Principals

    assert isinstance(principals, Principals)
    try:
        principal = Principal(
            name=args.name,
            role=Role(args.role),
            owner=args.owner,
            environments=args.environments or ["*"],
            actions=args.actions or ["*"],
            callback_hosts=args.callback_hosts,
            rate_per_minute=args.rate,
        )
    except ValidationError as exc:
        print(f"countersign: {describe(exc)}", file=sys.stderr)
        return 2
    token = await principals.add(principal)
    print(f"Token for {principal.role} {principal.name!r} (shown once, store it now):\n{token}")
    return 0


async def _audit_verify(settings: Settings) -> int:
    from bot.audit import AuditLog
    from bot.keys import Keys
    from bot.server import redis_for_cli

    redis = redis_for_cli(settings)
    try:
        verdict = await AuditLog(redis, Keys(settings.key_prefix)).verify()
    finally:
        await redis.aclose()
    print(verdict)
    return 0 if verdict.intact else 1
