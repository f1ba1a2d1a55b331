"""The command line, run as a real subprocess like an operator would."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.redis_server import RedisServer

ROOT = Path(__file__).resolve().parents[2]


def countersign(
    *args: str, env: dict[str, str] | None = None, stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SLACK_", "REDIS_", "COUNTERSIGN_"))
    }
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env={**clean, **(env or {})},
        cwd=ROOT,
        timeout=120,
        check=False,
    )


def test_policy_check_prints_the_decision_without_storing() -> None:
    request = {
        "action": "environment.recreate",
        "summary": "Recreate prod",
        "environment": "prod",
        "command": "terraform destroy",
        "scope": {"permissions": ["iam:*"]},
    }
    result = countersign("policy", "check", "-", stdin=json.dumps(request))
    assert result.returncode == 10, result.stderr  # 10: needs approval
    report = json.loads(result.stdout)
    assert report["outcome"] == "needs approval"
    assert report["risk"] == "critical"
    assert report["rule"] == "production-environment-changes"
    assert report["required_approvals"] == 2
    assert "U0ERIN005" in report["approvers"]


def test_policy_check_names_the_invalid_field(tmp_path: Path) -> None:
    path = tmp_path / "req.json"
    path.write_text(json.dumps({"action": "x.y", "summary": "s", "bogus": 1}))
    result = countersign("policy", "check", str(path))
    assert result.returncode == 2
    assert "bogus: Extra inputs are not permitted" in result.stderr


def test_invalid_policy_stops_with_one_line(tmp_path: Path) -> None:
    (tmp_path / "policy.yaml").write_text("defaults: {groups: [nope]}\n")
    result = countersign(
        "policy", "check", "-", stdin="{}", env={"COUNTERSIGN_CONFIG": str(tmp_path)}
    )
    assert result.returncode == 2
    [line] = result.stderr.strip().splitlines()
    assert str(tmp_path / "policy.yaml") in line and "unknown group 'nope'" in line


@pytest.mark.parametrize(
    ("env", "missing"),
    [
        ({}, "REDIS_URL"),
        ({"REDIS_URL": "redis://127.0.0.1:1"}, "SLACK_BOT_TOKEN"),
        ({"REDIS_URL": "redis://127.0.0.1:1", "SLACK_BOT_TOKEN": "xoxb-1"}, "SLACK_SIGNING_SECRET"),
    ],
)
def test_serve_names_the_missing_setting(env: dict[str, str], missing: str) -> None:
    result = countersign("serve", env=env)
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"countersign: Config '{missing}' is missing, and has no default."
    )


def test_invalid_port_is_named() -> None:
    result = countersign("serve", env={"PORT": "eighty"})
    assert result.returncode == 2
    assert "Config 'PORT' is invalid" in result.stderr


def test_agents_add_list_remove(redis_server: RedisServer) -> None:
    env = {"REDIS_URL": redis_server.url}
    added = countersign(
        "agents",
        "add",
        "cli-bot",
        "--owner",
        "U0OWNER01",
        "--env",
        "staging",
        "--question-channel",
        "C0OPS0001",
        "--question-channel",
        "#platform",
        env=env,
    )
    assert added.returncode == 0, added.stderr
    token = added.stdout.strip().splitlines()[-1]
    assert token.startswith("cs_") and len(token) > 30
    listed = countersign("agents", "list", env=env)
    assert "cli-bot\tagent\towner=U0OWNER01\tenv=staging" in listed.stdout
    assert "\tquestions=C0OPS0001,#platform" in listed.stdout
    assert token not in listed.stdout
    assert countersign("agents", "remove", "cli-bot", env=env).returncode == 0
    assert countersign("agents", "remove", "cli-bot", env=env).returncode == 1


def test_agents_add_rejects_a_bad_name(redis_server: RedisServer) -> None:
    result = countersign("agents", "add", "bad name!", env={"REDIS_URL": redis_server.url})
    assert result.returncode == 2
    assert "name" in result.stderr


def test_unknown_command_is_a_usage_error() -> None:
    result = countersign("frobnicate")
    assert result.returncode == 2
    assert "invalid choice" in result.stderr
