"""Built-in detectors: each raises risk with a readable reason, none lowers it."""

from __future__ import annotations

import pytest

from bot import detectors
from bot.models import Risk


@pytest.mark.parametrize(
    ("command", "label"),
    [
        ("rm -rf /var/lib/data", "rm -rf"),
        ("rm -fr build", "rm -rf"),
        ("terraform destroy -auto-approve", "terraform destroy"),
        ("kubectl delete namespace payments", "kubectl delete"),
        ("helm uninstall api", "helm uninstall"),
        ("git push --force origin main", "git force push"),
        ("git push -f origin main", "git force push"),
        ("psql -c 'DROP TABLE users'", "SQL DROP/TRUNCATE"),
        ("aws ec2 terminate-instances --instance-ids i-1", "aws delete"),
        ("aws cloudformation delete-stack --stack-name prod", "aws delete"),
        ("redis-cli FLUSHALL", "Redis FLUSH"),
    ],
)
def test_destructive_commands_are_named(command: str, label: str) -> None:
    found = detectors.destructive_findings("ops.run", command, "")
    assert f"destructive command: {label}" in [f.reason for f in found]
    assert all(f.risk is Risk.high for f in found)


@pytest.mark.parametrize(
    "action", ["environment.recreate", "db.drop_table", "bucket.delete", "cluster.destroy"]
)
def test_destructive_verbs_in_action(action: str) -> None:
    [finding] = detectors.destructive_findings(action, "", "")
    assert finding.reason.startswith("destructive verb in action")


def test_harmless_commands_find_nothing() -> None:
    assert detectors.destructive_findings("deploy.rollout", "kubectl apply -f app.yaml", "") == []
    assert detectors.destructive_findings("docs.update", "git push origin main", "") == []


def test_diff_that_destroys_resources() -> None:
    diff = '  # aws_instance.web will be destroyed\n-resource "aws_instance" "web" {}'
    reasons = [f.reason for f in detectors.destructive_findings("infra.apply", "", diff)]
    assert "the plan destroys or replaces resources" in reasons


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
    found = detectors.destructive_findings("environment.recreate", "", "")
    combined = detectors.combine(found, production=True)
    assert combined[-1] == detectors.Finding(Risk.critical, "destructive change in production")
    assert detectors.combine(found, production=False) == found


@pytest.mark.parametrize(
    ("command", "label"),
    [
        ("rm -r -f /", "rm -rf"),
        ("rm --force --recursive /srv", "rm -rf"),
        ("sudo rm -Rf /srv", "rm -rf"),
        ("kubectl -n prod delete deployment api", "kubectl delete"),
        ("helm -n prod uninstall api", "helm uninstall"),
        ("aws --region us-east-1 ec2 terminate-instances --instance-ids i-1", "aws delete"),
        ("env AWS_PROFILE=prod aws s3 rm s3://bucket --recursive", "aws delete"),
        ("cd infra && terraform destroy -auto-approve", "terraform destroy"),
        ("bash -c 'kubectl delete ns payments'", "kubectl delete"),
        ("echo $(git push origin +main)", "git force push"),
        ("git reset --hard HEAD~3", "git reset --hard / clean -f"),
        ("mkfs.ext4 /dev/sdb1", "disk overwrite"),
        ("dd if=/dev/zero of=/dev/sda", "disk overwrite"),
    ],
)
def test_spelling_does_not_hide_a_destructive_command(command: str, label: str) -> None:
    reasons = [f.reason for f in detectors.destructive_findings("files.read", command, "")]
    assert f"destructive command: {label}" in reasons


@pytest.mark.parametrize(
    "command", ["rm -r build/", "kubectl get pods", "git push origin main", "ls -la", "dd --help"]
)
def test_similar_harmless_commands(command: str) -> None:
    assert detectors.destructive_findings("files.read", command, "") == []


def test_hidden_characters_raise_risk() -> None:
    [finding] = detectors.hidden_text_findings("ls \u202eFDP.exe", "")
    assert finding.risk is Risk.high
    assert detectors.hidden_text_findings("ls -la", "+ plain diff") == []
