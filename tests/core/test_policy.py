"""Policy: rules in order, detectors raise risk, the two-person floor, and fail-closed config."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from bot.errors import ConfigError
from bot.models import RequestIn, Risk
from bot.policy import Policy, PolicyConfig, load_config, parse_duration


def request(**fields: Any) -> RequestIn:
    return RequestIn.model_validate({"action": "service.restart", "summary": "s", **fields})


def make_policy(rules: list[dict[str, Any]], **extra: Any) -> Policy:
    raw = {
        "defaults": {"groups": ["oncall"], "channel": "#approvals"},
        "groups": {
            "oncall": {"users": ["U0ALICE01", "U0BOB0002"], "usergroups": ["S0ONCALL1"]},
            "dba": {"users": ["U0DAVE004"]},
        },
        "rules": rules,
        **extra,
    }
    return Policy(PolicyConfig.model_validate(raw))


def test_first_matching_rule_wins(policy: Policy) -> None:
    decision = policy.evaluate(request(action="db.migrate", environment="staging"), "infra-bot")
    assert decision.rule == "database-migrations"
    assert decision.channel == "#db-approvals"
    assert decision.eligible_groups == ["dba", "oncall"]
    assert decision.ttl_seconds == 1800


def test_rule_matches_on_environment_resource_and_agent() -> None:
    policy = make_policy(
        [
            {
                "name": "bot-a-prod-db",
                "match": {"agent": "bot-a", "environment": "prod*", "resource": "db/*"},
                "risk": "high",
                "groups": ["dba"],
            },
            {"name": "rest", "risk": "medium"},
        ]
    )
    hit = policy.evaluate(request(environment="prod-eu", resource="db/users"), "bot-a")
    assert hit.rule == "bot-a-prod-db"
    assert hit.approvers == ["U0DAVE004"]
    assert (
        policy.evaluate(request(environment="prod-eu", resource="db/users"), "bot-b").rule == "rest"
    )
    assert policy.evaluate(request(environment="prod-eu", resource="web/x"), "bot-a").rule == "rest"


def test_story_request_is_critical_with_every_reason(policy: Policy) -> None:
    decision = policy.evaluate(
        request(
            action="environment.recreate",
            environment="prod",
            resource="prod-cn-north-1",
            command="terraform destroy",
            scope={"permissions": ["ec2:TerminateInstances", "iam:*"]},
        ),
        "infra-bot",
    )
    assert decision.risk is Risk.critical
    assert decision.rule == "production-environment-changes"
    assert decision.required_approvals == 2
    assert "wildcard permission: iam:*" in decision.risk_reasons
    assert "production environment: prod" in decision.risk_reasons
    assert "destructive change in production" in decision.risk_reasons


def test_detectors_raise_risk_but_never_lower_it(policy: Policy) -> None:
    raised = policy.evaluate(request(action="deploy.api", command="rm -rf /srv"), "bot")
    assert raised.rule == "deploys" and raised.risk is Risk.high
    critical_rule = policy.evaluate(request(action="environment.resize", environment="prod"), "bot")
    assert critical_rule.risk is Risk.critical


def test_agent_hint_can_raise_but_not_lower() -> None:
    policy = make_policy([{"name": "all", "risk": "high", "approvals": 2}])
    assert policy.evaluate(request(risk_hint="critical"), "b").risk is Risk.critical
    assert policy.evaluate(request(risk_hint="low"), "b").risk is Risk.high


def test_two_person_floor_overrides_config() -> None:
    policy = make_policy([{"name": "lenient", "risk": "high", "approvals": 1}])
    decision = policy.evaluate(request(), "b")
    assert decision.required_approvals == 2
    assert any("two-person rule" in r for r in decision.risk_reasons)


def test_floor_applies_when_detectors_raise_a_medium_rule() -> None:
    policy = make_policy([{"name": "medium", "risk": "medium", "approvals": 1}])
    assert policy.evaluate(request(command="kubectl delete ns x"), "b").required_approvals == 2
    assert policy.evaluate(request(), "b").required_approvals == 1


def test_config_may_ask_for_more_approvals() -> None:
    policy = make_policy([{"name": "strict", "risk": "critical", "approvals": 3}])
    assert policy.evaluate(request(), "b").required_approvals == 3


def test_auto_approve_only_while_risk_stays_low(policy: Policy) -> None:
    assert policy.evaluate(request(action="logs.read"), "b").auto_approve is True
    prod_read = policy.evaluate(request(action="logs.read", environment="prod"), "b")
    assert prod_read.auto_approve is False
    assert prod_read.required_approvals == 2


def test_deny_rule(policy: Policy) -> None:
    decision = policy.evaluate(request(action="iam.grant_admin"), "b")
    assert decision.deny is True
    assert "never done by an agent" in decision.deny_reason


def test_no_matching_rule_is_high_with_default_groups() -> None:
    policy = make_policy([{"name": "only-db", "match": {"action": "db.*"}}])
    decision = policy.evaluate(request(), "b")
    assert decision.rule == "(none)"
    assert decision.risk is Risk.high
    assert decision.required_approvals == 2
    assert decision.eligible_groups == ["oncall"]


def test_evaluation_error_fails_closed() -> None:
    class Broken(Policy):
        def _evaluate(self, request: RequestIn, agent: str) -> Any:
            raise RuntimeError("boom")

    decision = Broken(make_policy([]).config).evaluate(request(), "b")
    assert decision.risk is Risk.critical
    assert decision.required_approvals == 2
    assert decision.rule == "(error)"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("rules: [", "not valid YAML"),
        ("- a list", "expected a mapping"),
        ("defaults: {groups: [oncall]}\ngroups: {}\n", "unknown group 'oncall'"),
        ("defaults: {groups: [g]}\ngroups: {g: {users: [bad]}}\n", "groups.g.users[0]"),
        (
            "defaults: {groups: [g]}\ngroups: {g: {}}\nrules: [{name: r, timeout: 10x}]\n",
            "rules[0].timeout",
        ),
        (
            "defaults: {groups: [g]}\ngroups: {g: {}}\nrules: [{name: r, risk: high, "
            "auto_approve: true}]\n",
            "auto_approve is allowed only",
        ),
        ("defaults: {groups: [g]}\ngroups: {g: {}}\nrulez: []\n", "rulez"),
    ],
)
def test_invalid_config_names_file_place_and_problem(
    tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert str(path) in caught.value.message
    assert message in caught.value.message


def test_missing_policy_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="policy file is missing"):
        Policy.load(tmp_path)


@pytest.mark.parametrize(
    ("value", "seconds"),
    [("90s", 90), ("10m", 600), ("2h", 7200), ("1d", 86400), (45, 45), ("30", 30)],
)
def test_durations(value: object, seconds: int) -> None:
    assert parse_duration(value) == seconds


@pytest.mark.parametrize(
    "command",
    [
        "rm -r -f /",
        "kubectl -n prod delete deployment api",
        "cat a; rm x",
        "cat $(whoami)",
        "tail -f app.log",
        "kubectl get pods > /tmp/x",
    ],
)
def test_auto_approve_only_allowlisted_plain_commands(command: str) -> None:
    policy = make_policy(
        [
            {
                "name": "reads",
                "match": {"action": "*.read"},
                "risk": "low",
                "auto_approve": True,
                "commands": ["kubectl get *", "cat *"],
            }
        ]
    )
    decision = policy.evaluate(request(action="files.read", command=command), "b")
    assert decision.auto_approve is False
    assert decision.required_approvals >= 1


def test_auto_approve_allowlisted_command_and_no_command() -> None:
    policy = make_policy(
        [
            {
                "name": "reads",
                "match": {"action": "*.read"},
                "risk": "low",
                "auto_approve": True,
                "commands": ["kubectl get *"],
            }
        ]
    )
    assert policy.evaluate(
        request(action="pods.read", command="kubectl get pods"), "b"
    ).auto_approve
    assert policy.evaluate(request(action="pods.read"), "b").auto_approve
    with_diff = policy.evaluate(request(action="pods.read", diff="+x"), "b")
    assert with_diff.auto_approve is False
    assert "not approved automatically" in with_diff.risk_reasons[-1]


def test_rule_globs_ignore_case(policy: Policy) -> None:
    rule = make_policy(
        [{"name": "prod-db", "match": {"resource": "db/*"}, "risk": "high"}, {"name": "rest"}]
    )
    assert rule.evaluate(request(resource="DB/users"), "b").rule == "prod-db"


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"environment": "PROD"}, "environment"),
        ({"environment": "prod "}, "environment"),
        ({"environment": "prod\u200b"}, "environment"),
        ({"resource": "db/users\u202e"}, "resource"),
        ({"summary": "Deploy\u200b api"}, "summary"),
        ({"summary": "line\nbreak"}, "summary"),
    ],
)
def test_look_alike_values_are_refused(fields: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as refused:
        request(**fields)
    assert refused.value.errors()[0]["loc"][0] == field
