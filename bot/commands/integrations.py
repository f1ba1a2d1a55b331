"""Agent-side commands: `countersign exec`, `request`, `mcp` and `hook claude`.

They talk to a running Countersign at COUNTERSIGN_URL with the agent token in
COUNTERSIGN_TOKEN; they need no Redis and no server configuration.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path

from pydantic import ValidationError

from bot.client import ClientError, Countersign
from bot.client.flows import POLL_SECONDS, RECONNECT_PATIENCE
from bot.commands import Commands, read_text
from bot.integrations import claude_hook, exec_gate
from bot.models import RequestIn
from bot.policy import describe
from bot.settings import Settings

LIVE_POLL_SECONDS = 5.0  # how often a terminal's progress line is refreshed


def register(commands: Commands) -> None:
    _register_exec(commands)
    request = commands.add_parser(
        "request", help="submit a request (JSON) and print the decision (JSON)"
    )
    request.add_argument("file", nargs="?", default="-", help="request JSON; default stdin")
    request.add_argument("--no-wait", action="store_true", help="print the request at once")
    request.add_argument(
        "--max-wait", type=float, default=None, help="seconds; default until decided"
    )
    request.set_defaults(run=_request)
    mcp = commands.add_parser("mcp", help="serve the MCP tools on stdio (for MCP clients)")
    mcp.set_defaults(run=_mcp)
    hook = commands.add_parser("hook", help="hooks for coding agents")
    hooks = hook.add_subparsers(dest="hook_command", required=True)
    claude = hooks.add_parser("claude", help="Claude Code PreToolUse hook (event JSON on stdin)")
    claude.add_argument(
        "--config", type=Path, default=None, help="default $COUNTERSIGN_CONFIG/hooks.yaml"
    )
    claude.add_argument(
        "--patience",
        type=float,
        default=RECONNECT_PATIENCE,
        help="seconds to retry when unreachable",
    )
    claude.set_defaults(run=_hook_claude)


def _register_exec(commands: Commands) -> None:
    gate = commands.add_parser(
        "exec",
        help="run a command only after it is approved",
        usage="countersign exec --action ACTION [options] -- CMD [ARGS...]",
    )
    gate.add_argument("--action", required=True, help="dotted verb, e.g. db.migrate")
    gate.add_argument("--resource", default="")
    gate.add_argument("--env", dest="environment", default="")
    gate.add_argument("--summary", default=None, help="default: the command line")
    gate.add_argument("--diff-file", type=Path, default=None, help="a diff to show approvers")
    gate.add_argument(
        "--scope", action="append", default=[], metavar="PERMISSION", help="repeatable"
    )
    gate.add_argument("--justification", default="")
    gate.add_argument("--on-behalf-of", default=None, help="Slack user ID of the human")
    gate.add_argument("--ttl", type=int, default=None, help="seconds before it expires")
    gate.add_argument(
        "--patience",
        type=float,
        default=RECONNECT_PATIENCE,
        help="seconds to retry when unreachable",
    )
    gate.add_argument("argv", nargs=argparse.REMAINDER, help="-- then the command")
    gate.set_defaults(run=_exec)


def _exec(args: argparse.Namespace, settings: Settings) -> int:
    argv = args.argv[1:] if args.argv[:1] == ["--"] else args.argv
    if not argv:
        print("countersign exec: give the command after --", file=sys.stderr)
        return exec_gate.EXIT_INVALID
    try:
        body = _exec_request(args, argv)
    except ValidationError as exc:
        print(f"countersign exec: {describe(exc)}", file=sys.stderr)
        return exec_gate.EXIT_INVALID
    poll = LIVE_POLL_SECONDS if sys.stderr.isatty() else POLL_SECONDS
    with Countersign.from_env(poll=poll, patience=args.patience) as client:
        return exec_gate.gate(client, body, argv, sys.stderr)


def _exec_request(args: argparse.Namespace, argv: list[str]) -> RequestIn:
    diff = read_text(args.diff_file) if args.diff_file else ""
    return RequestIn(
        action=args.action,
        summary=args.summary or exec_gate.default_summary(argv),
        resource=args.resource,
        environment=args.environment,
        command=argv,
        diff=diff,
        scope={"permissions": args.scope},
        justification=args.justification,
        on_behalf_of=args.on_behalf_of,
        ttl_seconds=args.ttl,
    )


def _request(args: argparse.Namespace, settings: Settings) -> int:
    text = sys.stdin.read() if args.file == "-" else read_text(Path(args.file))
    try:
        body = RequestIn.model_validate_json(text)
    except ValidationError as exc:
        print(f"countersign request: {describe(exc)}", file=sys.stderr)
        return exec_gate.EXIT_INVALID
    with Countersign.from_env() as client:
        try:
            found = client.create(body)
            if not (args.no_wait or found.status.terminal):
                found = client.wait(found.id, max_wait=args.max_wait)
        except ClientError as exc:
            print(f"countersign request: {exc.message}", file=sys.stderr)
            return exec_gate.exit_code_of(exc)
    print(found.model_dump_json(indent=2))
    return exec_gate.EXIT_BY_STATUS[found.status]


def _mcp(args: argparse.Namespace, settings: Settings) -> int:
    from bot.integrations import mcp_server  # the MCP SDK is only loaded when asked for

    asyncio.run(mcp_server.serve_stdio())
    return 0


def _hook_claude(args: argparse.Namespace, settings: Settings) -> int:
    hooks = claude_hook.load_hooks(args.config or settings.config_dir / "hooks.yaml")
    try:
        event = claude_hook.PreToolUse.model_validate_json(sys.stdin.read())
    except ValidationError as exc:  # exit 2 makes Claude Code block the call: fail closed
        print(f"countersign hook: not a PreToolUse event: {describe(exc)}", file=sys.stderr)
        return 2
    rule = claude_hook.rule_for(event, hooks)
    if event.hook_event_name != "PreToolUse" or rule is None:
        return 0  # no output: Claude Code's own permission rules decide
    with Countersign.from_env(patience=args.patience) as client:
        print(json.dumps(claude_hook.decide(event, rule, hooks, client)))
    return 0
