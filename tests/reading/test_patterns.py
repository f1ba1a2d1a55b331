"""Auto-approval patterns match the parsed command, never its text."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.errors import ConfigError
from bot.policy import load_config
from bot.reading.commands import Reader
from bot.reading.findings import unlimited
from bot.reading.patterns import CommandPattern


def step(command: str) -> Reader:
    reader = Reader(unlimited())
    reader.script(command)
    return reader


@pytest.mark.parametrize(
    ("pattern", "command", "matches"),
    [
        ("aws * describe-*", "aws ec2 describe-instances", True),
        ("aws * describe-*", "aws --region eu-west-1 ec2 describe-instances", False),
        ("aws * describe-* *", "aws --region eu-west-1 ec2 describe-instances", True),
        ("git log *", "git --shallow-file log branch -D victim", False),
        ("kubectl get *", "kubectl --insecure-flag get delete ns x", False),
        ("aws * describe-*", "aws iam put-user-policy --policy-name describe-all", False),
        ("aws * describe-*", "aws iam attach-user-policy --cli-input-yaml describe-x", False),
        ("kubectl get *", "k -n web get pods -o wide", True),
        ("kubectl get *", "kubectl delete pods", False),
        ("git status", "git status", True),
        ("git status", "git status extra", False),
        ("git log *", "git log --oneline -n 5", True),
        ("cat *", "tail -f app.log", False),
        ("mytool lint", "mytool lint", True),
        ("mytool lint", "mytool -f evil.mk lint", False),  # unknown program: no extra options
        ("mytool lint *", "mytool --verbose lint now", True),
        ("mytool lint *", "mytool -f evil.mk lint", False),  # its value is a word: evil.mk
    ],
)
def test_pattern_matches_structure(pattern: str, command: str, matches: bool) -> None:
    [found] = step(command).steps
    assert CommandPattern.parse(pattern).matches(found) is matches


@pytest.mark.parametrize("pattern", ["", "* get pods", "-n kubectl", "'unbalanced"])
def test_a_pattern_without_a_program_stops_policy_loading(pattern: str, tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(
        "defaults: {groups: [g]}\ngroups: {g: {users: [U0AAA1]}}\n"
        f"rules: [{{name: r, risk: low, auto_approve: true, commands: [{pattern!r}]}}]\n"
    )
    with pytest.raises(ConfigError, match=r"rules\[0\]\.commands"):
        load_config(path)
