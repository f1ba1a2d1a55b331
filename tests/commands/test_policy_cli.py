"""Policy as code from the command line: check's exit codes, test files, and replaying history
under a candidate policy against a real Redis. The CLI runs in-process through `bot.cli.main`,
with the environment an operator would set."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from redis.asyncio import Redis

from bot.cli import main
from bot.clock import ManualClock
from bot.models import ApprovalRequest, RequestIn, Status
from bot.principals import Principal
from bot.runtime import Runtime
from tests.conftest import RuntimeFactory
from tests.support.redis_server import RedisServer

ROOT = Path(__file__).resolve().parents[2]
SHIPPED_TESTS = ROOT / "config" / "policy.tests.yaml"
AGENT = Principal(name="deploy-bot", owner="U0OWNER01")
ALICE = "U0ALICE01"

DEPLOY = {"action": "deploy.service", "summary": "Deploy web", "environment": "staging"}
READ = {"action": "k8s.read", "summary": "List pods", "command": "kubectl get pods"}
DENIED = {"action": "iam.grant_admin", "summary": "Make me admin", "environment": "dev"}
RESTART = {"action": "service.restart", "summary": "Restart web", "environment": "staging"}
MIGRATE = {"action": "db.migrate", "summary": "Add an index", "environment": "staging"}
CONFIGURE = {"action": "service.configure", "summary": "Tune web", "environment": "staging"}


@dataclass(frozen=True)
class Run:
    code: int
    out: str
    err: str


Cli = Callable[..., Run]


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Cli:
    """`cli("policy", "test", REDIS_URL=...)`: run the command line, keyword arguments as
    environment variables; settings from the test's own environment are removed first."""
    for name in list(os.environ):
        if name.startswith(("SLACK_", "REDIS_", "COUNTERSIGN_")):
            monkeypatch.delenv(name)
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("COUNTERSIGN_CONFIG", str(ROOT / "config"))

    def run(*args: str, **env: str) -> Run:
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        try:
            code = main(list(args))
        except SystemExit as exc:  # argparse refusing the arguments
            code = int(exc.code or 0)
        out, err = capsys.readouterr()
        return Run(code, out, err)

    return run


def candidate(tmp_path: Path, change: Callable[[dict[str, Any]], None]) -> Path:
    """A copy of the shipped policy with `change` applied, as `<dir>/policy.yaml`."""
    raw = yaml.safe_load((ROOT / "config" / "policy.yaml").read_text(encoding="utf-8"))
    change(raw)
    path = tmp_path / "candidate" / "policy.yaml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return path


def rule(raw: dict[str, Any], name: str) -> dict[str, Any]:
    found: dict[str, Any] = next(r for r in raw["rules"] if r["name"] == name)
    return found


def stricter(raw: dict[str, Any]) -> None:
    """Deploys need two; reads are no longer approved alone; migrations are critical; and a
    new first rule forbids restarts."""
    rule(raw, "deploys")["approvals"] = 2
    rule(raw, "read-only")["auto_approve"] = False
    rule(raw, "database-migrations")["risk"] = "critical"
    raw["rules"].insert(0, {"name": "no-restarts", "match": {"action": "service.restart"}})
    raw["rules"][0]["deny"] = "Restarts go through the change calendar."


def write_json(tmp_path: Path, body: dict[str, Any]) -> str:
    path = tmp_path / "request.json"
    path.write_text(json.dumps(body), encoding="utf-8")
    return str(path)


# --- check ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "code", "outcome"),
    [
        (READ, 0, "approved by policy"),
        (DEPLOY, 10, "needs approval"),
        (DENIED, 20, "denied by policy"),
    ],
)
def test_check_exits_with_the_outcome_and_prints_the_decision(
    cli: Cli, tmp_path: Path, body: dict[str, Any], code: int, outcome: str
) -> None:
    result = cli("policy", "check", write_json(tmp_path, body))
    assert result.code == code, result.err
    report = json.loads(result.out)
    assert report["outcome"] == outcome
    assert report["action_hash"] == RequestIn.model_validate(body).action_hash()


def test_check_exits_2_on_an_invalid_request(cli: Cli, tmp_path: Path) -> None:
    result = cli("policy", "check", write_json(tmp_path, {**DEPLOY, "bogus": 1}))
    assert (result.code, result.out) == (2, "")
    assert "bogus: Extra inputs are not permitted" in result.err


def test_check_rates_under_another_policy(cli: Cli, tmp_path: Path) -> None:
    policy = candidate(tmp_path, stricter)
    result = cli("policy", "check", "--policy", str(policy.parent), write_json(tmp_path, READ))
    assert result.code == 10
    assert json.loads(result.out)["rule"] == "read-only"


def test_check_documents_its_exit_codes(cli: Cli) -> None:
    result = cli("policy", "check", "--help")
    assert result.code == 0
    text = " ".join(result.out.split())
    assert "0 approved by policy, 10 needs approval, 20 denied by policy, 2 bad input" in text


# --- test ----------------------------------------------------------------------------------


def test_the_shipped_cases_pass_against_the_shipped_policy(cli: Cli) -> None:
    cases = yaml.safe_load(SHIPPED_TESTS.read_text(encoding="utf-8"))["cases"]
    result = cli("policy", "test")
    assert result.code == 0, result.out + result.err
    *lines, summary = result.out.strip().splitlines()
    assert summary == f"{len(cases)} passed, 0 failed"
    assert lines == [f"ok  {case['name']}" for case in cases]
    assert 15 <= len(cases) <= 20


def test_a_file_and_a_policy_file_can_be_named(cli: Cli) -> None:
    policy = ROOT / "config" / "policy.yaml"
    result = cli("policy", "test", str(SHIPPED_TESTS), "--policy", str(policy))
    assert result.code == 0, result.out


def test_a_wrong_expectation_fails_naming_the_field(cli: Cli, tmp_path: Path) -> None:
    cases = [
        {"name": "migrations are medium", "request": MIGRATE, "expect": {"risk": "medium"}},
        {"name": "deploys need one", "request": DEPLOY, "expect": {"approvals": 1}},
        {
            "name": "restarts are approved alone",
            "agent": "deploy-bot",
            "request": RESTART,
            "expect": {"rule": "read-only", "approvals": 1, "outcome": "approved"},
        },
    ]
    path = tmp_path / "cases.yaml"
    path.write_text(yaml.safe_dump(cases), encoding="utf-8")
    result = cli("policy", "test", str(path))
    assert result.code == 1
    lines = result.out.strip().splitlines()
    assert "FAIL migrations are medium: risk high, expected medium" in lines
    assert "ok  deploys need one" in lines
    assert (
        "FAIL restarts are approved alone: rule everything-else, expected read-only; "
        "outcome needs approval, expected approved"
    ) in lines
    assert lines[-1] == "1 passed, 2 failed"


def test_a_candidate_policy_fails_the_shipped_cases_it_changes(cli: Cli, tmp_path: Path) -> None:
    policy = candidate(tmp_path, stricter)
    result = cli("policy", "test", "--policy", str(policy.parent))
    assert result.code == 1
    lines = result.out.splitlines()
    assert "FAIL a deploy to staging is medium with one approval: approvals 2, expected 1" in lines
    assert (
        "FAIL kubectl get pods is approved by policy: outcome needs approval, expected approved"
    ) in lines
    assert "ok  a deploy to production is high, so the two-person floor applies" in lines


MALFORMED = [
    (
        [{"name": "reads", "request": READ, "expect": {"outcome": "approve"}}],
        "cases[0] (reads).expect.outcome: Input should be 'approved', 'needs approval' or 'denied'",
    ),
    (
        {
            "cases": [
                {"name": "first", "request": READ, "expect": {"risk": "low"}},
                {"name": "second", "request": {**READ, "bogus": 1}, "expect": {"risk": "low"}},
            ]
        },
        "cases[1] (second).request.bogus: Extra inputs are not permitted",
    ),
    (
        [{"name": "empty", "request": READ, "expect": {}}],
        "cases[0] (empty).expect: Value error, name at least one of risk, rule, approvals, outcome",
    ),
    (
        [{"name": "typo", "request": READ, "expect": {"approval": 1}}],
        "cases[0] (typo).expect.approval: Extra inputs are not permitted",
    ),
    ([{"request": READ, "expect": {"risk": "low"}}], "cases[0].name: Field required"),
    (
        [{"name": "a", "request": READ, "expect": {"risk": "low"}}] * 2,
        "cases: Value error, case names must be unique; 'a' is used twice",
    ),
    ("just some text", "expected a list of cases, or a mapping with cases:"),
    ({"cases": []}, "cases: List should have at least 1 item"),
]


@pytest.mark.parametrize(("content", "problem"), MALFORMED)
def test_a_malformed_file_exits_2_naming_the_case_and_field(
    cli: Cli, tmp_path: Path, content: Any, problem: str
) -> None:
    path = tmp_path / "cases.yaml"
    path.write_text(yaml.safe_dump(content), encoding="utf-8")
    result = cli("policy", "test", str(path))
    assert (result.code, result.out) == (2, "")
    [line] = result.err.strip().splitlines()
    assert line.startswith(f"countersign: {path}: ")
    assert problem in line


def test_unreadable_or_invalid_yaml_exits_2(cli: Cli, tmp_path: Path) -> None:
    missing = cli("policy", "test", str(tmp_path / "nope.yaml"))
    assert missing.code == 2
    assert "nope.yaml: cannot read (No such file or directory)" in missing.err
    broken = tmp_path / "broken.yaml"
    broken.write_text("- name: [unclosed\n", encoding="utf-8")
    result = cli("policy", "test", str(broken))
    assert result.code == 2
    assert f"{broken}: not valid YAML" in result.err


# --- replay --------------------------------------------------------------------------------


@dataclass
class Stored:
    """Requests made through the service: an old one, and one per kind within 30 days."""

    old: ApprovalRequest
    deploys: list[ApprovalRequest]
    read: ApprovalRequest
    restart: ApprovalRequest
    migrate: ApprovalRequest
    configure: ApprovalRequest


async def submit(runtime: Runtime, clock: ManualClock, body: dict[str, Any]) -> ApprovalRequest:
    clock.advance(60)  # distinct creation times: replay goes newest first
    return (await runtime.service.submit(AGENT, RequestIn.model_validate(body))).request


@pytest.fixture
async def stored(make_runtime: RuntimeFactory) -> Stored:
    clock = ManualClock(datetime.now(UTC) - timedelta(days=40))
    runtime = make_runtime(clock=clock)
    old = await submit(runtime, clock, DEPLOY)
    clock.now = datetime.now(UTC) - timedelta(days=3)
    deploys = [await submit(runtime, clock, DEPLOY) for _ in range(4)]
    voted = await runtime.service.vote(deploys[-1].id, ALICE, approve=True)
    assert (voted.status, voted.decided_by) == (Status.approved, ALICE)
    read = await submit(runtime, clock, READ)
    assert (read.status, read.decided_by) == (Status.approved, "policy")
    return Stored(
        old,
        deploys,
        read,
        await submit(runtime, clock, RESTART),
        await submit(runtime, clock, MIGRATE),
        await submit(runtime, clock, CONFIGURE),
    )


async def snapshot(redis: Redis) -> dict[Any, Any]:
    """Every key with its type and contents: equal snapshots mean nothing was written. (Not
    DUMP: a read may advance a hash table's rehashing, which reorders DUMP's bytes.)"""
    readers: dict[Any, Callable[[Any], Any]] = {
        b"string": redis.get,
        b"hash": redis.hgetall,
        b"set": redis.smembers,
        b"zset": lambda key: redis.zrange(key, 0, -1, withscores=True),
        b"list": lambda key: redis.lrange(key, 0, -1),
        b"stream": redis.xrange,
    }
    found = {}
    for key in await redis.keys("*"):
        kind = await redis.type(key)
        found[key] = (kind, await readers[kind](key), await redis.ttl(key))
    return found


async def test_replay_reports_what_a_stricter_policy_would_change_and_writes_nothing(
    cli: Cli, redis: Redis, redis_server: RedisServer, stored: Stored, tmp_path: Path
) -> None:
    policy = candidate(tmp_path, stricter)
    before = await snapshot(redis)
    result = await asyncio.to_thread(
        cli, "policy", "replay", "--since", "30d", str(policy), REDIS_URL=redis_server.url
    )
    assert result.code == 0, result.err
    assert await snapshot(redis) == before
    headline, summary, blank, *changes = result.out.strip().splitlines()
    assert headline == (
        f"Replayed 8 request(s) created in the last 30d under {policy}: 7 would change."
    )
    assert summary == (
        "4 would now need 2 approvals instead of 1; 1 auto-approved would now wait for approval; "
        "1 that waited for approval would now be denied; "
        "1 would now be rated critical instead of high"
    )
    assert blank == ""
    assert sorted(changes) == sorted(
        [
            *(f"{d.id}  deploy.service  approvals 1 -> 2" for d in stored.deploys),
            f"{stored.read.id}  k8s.read  outcome approved -> needs approval (1 approval)",
            f"{stored.restart.id}  service.restart  outcome needs approval -> denied; "
            "rule everything-else -> no-restarts",
            f"{stored.migrate.id}  db.migrate  risk high -> critical",
        ]
    )
    assert stored.old.id not in result.out and stored.configure.id not in result.out


async def test_replay_json_is_bounded_by_limit_newest_first(
    cli: Cli, redis_server: RedisServer, stored: Stored, tmp_path: Path
) -> None:
    policy = candidate(tmp_path, stricter)
    args = ("policy", "replay", str(policy.parent), "--json", "--limit", "3")
    result = await asyncio.to_thread(cli, *args, REDIS_URL=redis_server.url)
    assert result.code == 0, result.err
    report = json.loads(result.out)
    assert (report["replayed"], report["changed"], report["truncated"]) == (3, 2, True)
    assert [c["id"] for c in report["changes"]] == [stored.migrate.id, stored.restart.id]
    assert report["changes"][1]["old"] == {
        "risk": "medium",
        "approvals": 1,
        "outcome": "needs approval",
        "rule": "everything-else",
    }
    assert report["changes"][1]["new"]["outcome"] == "denied"
    assert [s["text"] for s in report["summary"]] == [
        "1 that waited for approval would now be denied",
        "1 would now be rated critical instead of high",
    ]


async def test_replay_under_the_same_policy_changes_nothing(
    cli: Cli, redis_server: RedisServer, stored: Stored
) -> None:
    result = await asyncio.to_thread(cli, "policy", "replay", REDIS_URL=redis_server.url)
    assert result.code == 0, result.err
    policy = ROOT / "config" / "policy.yaml"
    assert result.out.strip() == (
        f"Replayed 8 request(s) created in the last 30d under {policy}: none would change."
    )


async def test_replay_keeps_the_agents_own_rating(
    cli: Cli, make_runtime: RuntimeFactory, redis_server: RedisServer
) -> None:
    runtime = make_runtime()
    hinted = RequestIn.model_validate({**DEPLOY, "risk_hint": "high"})
    await runtime.service.submit(AGENT, hinted)
    args = ("policy", "replay", "--since", "36500d", "--json")
    result = await asyncio.to_thread(cli, *args, REDIS_URL=redis_server.url)
    assert json.loads(result.out)["replayed"] == 1
    assert json.loads(result.out)["changes"] == []


def test_replay_refuses_bad_arguments(cli: Cli) -> None:
    missing = cli("policy", "replay")
    assert missing.code == 2
    assert missing.err.strip() == "countersign: Config 'REDIS_URL' is missing, and has no default."
    bad = cli("policy", "replay", "--since", "soon")
    assert bad.code == 2 and "invalid duration 'soon'" in bad.err
    assert cli("policy", "replay", "--limit", "0").code == 2
