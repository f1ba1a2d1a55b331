"""`countersign policy check|test|replay`: policy as code, tried before it is deployed.

- `check FILE` rates one request JSON without storing it and prints the decision as JSON. Its
  exit code says what policy alone decides, so a script can branch on it: 0 approved by
  policy, 10 needs approval, 20 denied by policy, 2 bad input.
- `test [FILE]` runs the cases in a test file (default `<config dir>/policy.tests.yaml`; the
  format is in `bot/policy_cases.py`) and exits 1 when any fails, 2 when the file is invalid.
- `replay [POLICY]` re-rates the requests stored in Redis within `--since` under a candidate
  policy and prints what would change (see `bot/replay.py`). It writes nothing.

Each takes a policy as a policy.yaml file or a config directory; the default is the configured
one (COUNTERSIGN_CONFIG).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from datetime import timedelta
from pathlib import Path

from pydantic import ValidationError

from bot import replay
from bot.clock import system_clock
from bot.commands import Commands, read_text
from bot.errors import ConfigError
from bot.keys import Keys
from bot.models import RequestIn
from bot.outcomes import Outcome, outcome_of
from bot.policy import Policy, describe, load_config, parse_duration
from bot.policy_cases import Verdict, judge, load_cases
from bot.runtime import close_redis, connect_redis
from bot.settings import Settings
from bot.store import Store

CHECK_EXIT = {Outcome.approved: 0, Outcome.needs_approval: 10, Outcome.denied: 20}
BAD_INPUT = 2
TESTS_FILE = "policy.tests.yaml"
POLICY_HELP = "a policy.yaml file or a config directory (default: COUNTERSIGN_CONFIG)"
CHECK_EPILOG = (
    "exit codes: 0 approved by policy, 10 needs approval, 20 denied by policy, 2 bad input"
)


def register(commands: Commands) -> None:
    policy = commands.add_parser("policy", help="policy tools: check, test, replay")
    sub = policy.add_subparsers(dest="policy_command", required=True)
    _register_check(sub)
    _register_test(sub)
    _register_replay(sub)


def _register_check(sub: Commands) -> None:
    check = sub.add_parser(
        "check",
        help="rate a request JSON without storing it; the exit code gives the outcome",
        description="Rate a request JSON without storing it and print the decision as JSON.",
        epilog=CHECK_EPILOG,
    )
    check.add_argument("file", type=Path, help="request JSON as for POST /v1/requests; - = stdin")
    check.add_argument("--agent", default="cli", help="agent name to match rules against")
    check.add_argument("--policy", type=Path, help=POLICY_HELP)
    check.set_defaults(run=check_request)


def _register_test(sub: Commands) -> None:
    test = sub.add_parser(
        "test",
        help="run policy test cases; exit 1 when any fails",
        epilog="exit codes: 0 every case passed, 1 a case failed, 2 bad input",
    )
    test.add_argument(
        "file", nargs="?", type=Path, help=f"test cases (default <config>/{TESTS_FILE})"
    )
    test.add_argument("--policy", type=Path, help=POLICY_HELP)
    test.set_defaults(run=run_cases)


def _register_replay(sub: Commands) -> None:
    replay_ = sub.add_parser(
        "replay",
        help="re-rate stored requests under a candidate policy and show what would change",
        description="Reads requests from Redis (REDIS_URL); writes nothing.",
    )
    replay_.add_argument("policy", nargs="?", type=Path, help=f"candidate: {POLICY_HELP}")
    replay_.add_argument(
        "--since", type=_age, default="30d", help="requests created within this age (default 30d)"
    )
    replay_.add_argument(
        "--limit", type=_positive, default=10000, help="at most this many, newest first"
    )
    replay_.add_argument("--json", action="store_true", help="print the report as JSON")
    replay_.set_defaults(run=replay_history)


def _age(text: str) -> timedelta:
    try:
        seconds = parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    if seconds <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} is no age; use e.g. 30d, 12h, 90m")
    return timedelta(seconds=seconds)


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive whole number")
    return int(text)


def policy_file(path: Path | None, settings: Settings) -> Path:
    """The policy.yaml a command means: a file, a config directory's, or the configured one."""
    where = path or settings.config_dir
    return where / "policy.yaml" if where.is_dir() else where


def load_policy(path: Path | None, settings: Settings) -> tuple[Policy, Path]:
    """The policy and the file it came from; an invalid policy raises ConfigError."""
    file = policy_file(path, settings)
    return Policy(load_config(file), str(file)), file


def check_request(args: argparse.Namespace, settings: Settings) -> int:
    """Print the decision for one request; exit 0, 10 or 20 by outcome (2: bad input)."""
    policy, _ = load_policy(args.policy, settings)
    text = sys.stdin.read() if str(args.file) == "-" else read_text(args.file)
    try:
        request = RequestIn.model_validate_json(text)
    except ValidationError as exc:
        print(f"countersign: {args.file}: {describe(exc)}", file=sys.stderr)
        return BAD_INPUT
    decision = policy.evaluate(request, args.agent)
    outcome = outcome_of(decision)
    report = {
        "outcome": outcome.label,
        **decision.model_dump(mode="json", exclude={"auto_approve", "deny"}),
        "action_hash": request.action_hash(),
    }
    print(json.dumps(report, indent=2))
    return CHECK_EXIT[outcome]


def run_cases(args: argparse.Namespace, settings: Settings) -> int:
    """Judge every case, one line each, then `N passed, M failed`; exit 1 on any failure."""
    cases = load_cases(args.file or settings.config_dir / TESTS_FILE)
    policy, _ = load_policy(args.policy, settings)
    verdicts = [judge(case, policy) for case in cases]
    print_verdicts(verdicts)
    failed = sum(not v.passed for v in verdicts)
    print(f"{len(verdicts) - failed} passed, {failed} failed")
    return 1 if failed else 0


def print_verdicts(verdicts: list[Verdict]) -> None:
    """One line per case: `ok  name`, or `FAIL name: ...` and the reasons behind the rating."""
    for verdict in verdicts:
        print(verdict)
        if not verdict.passed:
            print(f"     why: {'; '.join(verdict.decision.risk_reasons)}")


def replay_history(args: argparse.Namespace, settings: Settings) -> int:
    """Print what the candidate policy would change about stored requests; exit 0."""
    policy, file = load_policy(args.policy, settings)
    report = asyncio.run(_replay(settings, policy, str(file), args.since, args.limit))
    if args.json:
        print(json.dumps(report.as_json(), indent=2))
    else:
        print(replay_text(report, args.since))
    return 0


async def _replay(
    settings: Settings, policy: Policy, label: str, age: timedelta, limit: int
) -> replay.Report:
    if not settings.redis_url:
        raise ConfigError("Config 'REDIS_URL' is missing, and has no default.")
    store = Store(connect_redis(settings.redis_url), Keys(settings.key_prefix))
    try:
        return await replay.replay(store, policy, label, system_clock() - age, limit)
    finally:
        await close_redis(store.redis)


def replay_text(report: replay.Report, age: timedelta) -> str:
    """A headline, the counts of each change on one line, then one line per changed request."""
    changed = f"{len(report.changes)} would change" if report.changes else "none would change"
    lines = [
        f"Replayed {report.replayed} request(s) created in the last {_age_text(age)} "
        f"under {report.policy}: {changed}."
    ]
    if report.changes:
        lines += ["; ".join(map(str, report.shifts())), "", *map(str, report.changes)]
    lines += [f"skipped {s.id}: {s.reason}" for s in report.skipped]
    if report.truncated:
        lines.append(f"Stopped at --limit {report.limit}; older requests were not replayed.")
    return "\n".join(lines)


def _age_text(age: timedelta) -> str:
    seconds = int(age.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"
