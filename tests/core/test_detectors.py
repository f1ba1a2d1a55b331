"""Built-in detectors: each raises risk with a readable reason, none lowers it."""

from __future__ import annotations

import pytest

from bot import detectors
from bot.models import RequestIn, Risk
from bot.reading import read_request
from bot.reading.findings import unlimited


@pytest.mark.parametrize(
    "action", ["environment.recreate", "db.drop_table", "bucket.delete", "cluster.destroy"]
)
def test_destructive_verbs_in_action(action: str) -> None:
    [finding] = detectors.action_findings(action)
    assert finding.reason.startswith("destructive verb in action")
    assert finding.destructive


def test_harmless_actions_find_nothing() -> None:
    assert detectors.action_findings("deploy.rollout") == []
    assert detectors.action_findings("docs.update") == []


def test_reading_becomes_risk() -> None:
    reading = read_request(
        RequestIn(action="infra.apply", summary="s", command="terraform destroy"), unlimited()
    )
    [finding] = detectors.reading_findings(reading)
    assert finding.risk is Risk.high and finding.destructive
    assert finding.reason == "command: destroys infrastructure (terraform destroy)"


@pytest.mark.parametrize(
    ("permission", "risk"),
    [
        ("*", Risk.critical),
        ("iam:*", Risk.critical),
        ("arn:aws:iam::aws:policy/AdministratorAccess", Risk.critical),
        ("roles/owner", Risk.critical),
        ("s3:*", Risk.high),
        ("ec2:Describe*", Risk.medium),
        ("ec2:TerminateInstances", None),
    ],
)
def test_permission_levels(permission: str, risk: Risk | None) -> None:
    assert detectors.permission_level(permission) is risk


def test_scope_findings_flag_wildcards_and_star_resource() -> None:
    found = detectors.scope_findings(["iam:*", "s3:GetObject"], ["*"])
    assert [f.reason for f in found] == ["wildcard permission: iam:*", "wildcard resource: *"]


def test_production_plus_destructive_is_critical() -> None:
    found = detectors.action_findings("environment.recreate")
    combined = detectors.combine(found, production=True)
    assert combined[-1].risk is Risk.critical
    assert combined[-1].reason == "destructive change in production"
    assert detectors.combine(found, production=False) == found


def test_hidden_characters_raise_risk() -> None:
    [finding] = detectors.hidden_text_findings("ls \u202eFDP.exe", "")
    assert finding.risk is Risk.high
    assert detectors.hidden_text_findings("ls -la", "+ plain diff") == []
