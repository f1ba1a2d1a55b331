"""`countersign policy check`: rate a request without storing anything."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from pydantic import ValidationError

from bot.commands import Commands, read_text
from bot.models import RequestIn
from bot.policy import Policy, describe
from bot.settings import Settings


def register(commands: Commands) -> None:
    policy = commands.add_parser("policy", help="policy tools")
    sub = policy.add_subparsers(dest="policy_command", required=True)
    check = sub.add_parser("check", help="rate a request JSON without storing it")
    check.add_argument("file", type=Path, help="request JSON as for POST /v1/requests; - = stdin")
    check.add_argument("--agent", default="cli", help="agent name to match rules against")
    check.set_defaults(run=check_request)


def check_request(args: argparse.Namespace, settings: Settings) -> int:
    policy = Policy.load(settings.config_dir)
    text = sys.stdin.read() if str(args.file) == "-" else read_text(args.file)
    try:
        request = RequestIn.model_validate_json(text)
    except ValidationError as exc:
        print(f"countersign: {args.file}: {describe(exc)}", file=sys.stderr)
        return 2
    decision = policy.evaluate(request, args.agent)
    outcome = "needs approval"
    if decision.deny:
        outcome = "denied by policy"
    elif decision.auto_approve:
        outcome = "approved by policy"
    report = {
        "outcome": outcome,
        **decision.model_dump(mode="json", exclude={"auto_approve", "deny"}),
        "action_hash": request.action_hash(),
    }
    print(json.dumps(report, indent=2))
    return 0
