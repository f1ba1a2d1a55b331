"""Reading a diff's configuration files for settings that weaken security: access opened to the
world, protection from deletion or encryption turned off, wildcards in IAM and RBAC, privileged
pods, and applications' TLS and authentication switched off."""

from __future__ import annotations

import pytest

from bot.reading.diffs import read_diff
from bot.reading.findings import Budget, OutOfTime
from tests.reading.test_diffs import destructive, git_diff, read

SG = 'resource "aws_security_group" "web" {'
DB = 'resource "aws_db_instance" "orders" {'


def reasons(diff: str) -> list[str]:
    """The destructive findings, less the `diff <path>: ` that places them."""
    return [text.split(": ", 1)[1] for text in destructive(diff)]


# What weakens, and what reading says about it.


@pytest.mark.parametrize(
    ("path", "kept", "removed", "added", "reason"),
    [
        (
            "infra/sg.tf", f"{SG}\n  ingress {{\n    from_port = 22",
            '    cidr_blocks = ["10.20.0.0/16"]', '    cidr_blocks = ["0.0.0.0/0"]',
            "opens access to the whole internet (0.0.0.0/0)",
        ),
        (
            "infra/sg.tf", f"{SG}\n  ingress {{",
            "", '    ipv6_cidr_blocks = ["::/0"]',
            "opens access to the whole internet (::/0)",
        ),
        (
            "infra/sg.tf", f"{SG}\n  ingress {{\n    cidr_blocks = [",
            '      "10.0.0.0/8",', '      "0.0.0.0/0",',
            "opens access to the whole internet (0.0.0.0/0)",
        ),
        (
            "infra/fw.tf", 'resource "google_compute_firewall" "ssh" {',
            "", '  source_ranges = ["0.0.0.0/0"]',
            "opens access to the whole internet (0.0.0.0/0)",
        ),
        (
            "env/qa.tfvars", "", "", 'ssh_allowed_cidrs = ["0.0.0.0/0"]',
            "opens access to the whole internet (0.0.0.0/0)",
        ),
        (
            "k8s/allow.yaml", "kind: NetworkPolicy\nspec:\n  ingress:\n  - from:\n    - ipBlock:",
            "", "        cidr: 0.0.0.0/0",
            "opens access to the whole internet (0.0.0.0/0)",
        ),
        (
            "infra/db.tf", DB, "  deletion_protection = true", "  deletion_protection = false",
            "turns off deletion protection (deletion_protection = false)",
        ),
        (
            "infra/db.tf", f"{DB}\n  lifecycle {{", "    prevent_destroy = true",
            "    prevent_destroy = false",
            "lets Terraform destroy what it kept safe (prevent_destroy = false)",
        ),
        (
            "infra/db.tf", DB, "", "  lifecycle { prevent_destroy = false }",
            "lets Terraform destroy what it kept safe (prevent_destroy = false)",
        ),
        (
            "infra/db.tf", DB, "", "  skip_final_snapshot = true",
            "deletes a database without a final snapshot (skip_final_snapshot = true)",
        ),
        (
            "infra/db.tf", DB, "  publicly_accessible = false", "  publicly_accessible = true",
            "makes a database reachable from the internet (publicly_accessible = true)",
        ),
        (
            "infra/db.tf", DB, "", "  storage_encrypted = false",
            "turns off encryption (storage_encrypted = false)",
        ),
        (
            "infra/disk.tf", 'resource "aws_ebs_volume" "data" {', "", "  encrypted = false",
            "turns off encryption (encrypted = false)",
        ),
        (
            "infra/s3.tf", 'resource "aws_s3_bucket" "logs" {', "", "  force_destroy = true",
            "lets destroying it delete everything it holds (force_destroy = true)",
        ),
        (
            "infra/s3.tf", 'resource "aws_s3_bucket_public_access_block" "logs" {',
            "  block_public_policy = true", "  block_public_policy = false",
            "turns off the block on public access to S3 (block_public_policy = false)",
        ),
        (
            "cfn/db.yaml", "Resources:\n  Orders:\n    Type: AWS::RDS::DBInstance\n    Properties:",
            "", "      DeletionProtection: false",
            "turns off deletion protection (DeletionProtection: false)",
        ),
    ],
)  # fmt: skip
def test_infrastructure_that_opens_up_or_loses_protection_is_destructive(
    path: str, kept: str, removed: str, added: str, reason: str
) -> None:
    found = destructive(git_diff(path, removed, added, kept=kept))
    assert found == [f"diff {path}: {reason}"]


POLICY = """\
{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Effect": "Allow",
"""


@pytest.mark.parametrize(
    ("removed", "added", "reason"),
    [
        ('      "Action": "s3:GetObject",', '      "Action": "*",',
         "grants every action (Action: *)"),
        ('      "Action": ["s3:GetObject"],', '      "Action": ["iam:*"],',
         "grants every action of a service (Action: iam:*)"),
        ('      "Action": [\n        "s3:GetObject",', '      "Action": [\n        "s3:*",',
         "grants every action of a service (Action: s3:*)"),
        ('      "Principal": {"AWS": "arn:aws:iam::1:root"},', '      "Principal": {"AWS": "*"},',
         "lets anyone use it (Principal.AWS: *)"),
        ('      "Principal": {\n        "AWS": "arn:aws:iam::1:root"',
         '      "Principal": {\n        "AWS": "*"', "lets anyone use it (Principal.AWS: *)"),
        ("", '      "Principal": "*",', "lets anyone use it (Principal: *)"),
    ],
)  # fmt: skip
def test_an_iam_policy_that_gains_a_wildcard_is_destructive(
    removed: str, added: str, reason: str
) -> None:
    assert reasons(git_diff("iam/ci.json", removed, added, kept=POLICY)) == [reason]


def test_every_resource_counts_with_a_wildcard_action() -> None:
    kept = f'{POLICY}      "Action": "s3:*",'
    diff = git_diff(
        "iam/ci.json", '      "Resource": "arn:aws:s3:::qa/*"', '      "Resource": "*"', kept=kept
    )
    assert reasons(diff) == ["applies a wildcard action to every resource (Resource: *)"]


def test_a_policy_on_one_line_is_read_statement_by_statement() -> None:
    policy = (
        '{"Statement": [{"Effect": "Deny", "Action": "*", "Resource": "*"},'
        ' {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}'
    )
    assert read(git_diff("iam/guard.json", added=policy, created=True)) == []
    widened = policy.replace('"s3:GetObject"', '"*"')
    assert "grants every action (Action: *)" in reasons(git_diff("iam/ci.json", added=widened))


def test_a_terraform_policy_document_that_gains_wildcards_is_destructive() -> None:
    document = (
        'data "aws_iam_policy_document" "ci" {\n  statement {\n    actions   = ["iam:*"]\n'
        '    resources = ["*"]\n  }\n  statement {\n    actions = ["sts:AssumeRole"]\n'
        '    principals {\n      type        = "AWS"\n      identifiers = ["*"]\n    }\n  }\n}'
    )
    assert reasons(git_diff("iam.tf", added=document, created=True)) == [
        "grants every action of a service (actions = iam:*)",
        "applies a wildcard action to every resource (resources = *)",
        "lets anyone use it (principals.identifiers = *)",
    ]


def test_a_kubernetes_role_that_gains_wildcards_is_destructive() -> None:
    flow = '  - apiGroups: ["*"]\n    resources: ["*"]\n    verbs: ["*"]'
    diff = git_diff("k8s/agent-role.yaml", "  - apiGroups: [apps]", flow, kept="kind: Role\nrules:")
    assert reasons(diff) == [
        "gives a Kubernetes role a wildcard in apiGroups (apiGroups: *)",
        "gives a Kubernetes role a wildcard in resources (resources: *)",
        "gives a Kubernetes role a wildcard in verbs (verbs: *)",
    ]


def test_a_wildcard_in_a_block_list_counts_too() -> None:
    kept = (
        "kind: ClusterRole\nrules:\n- apiGroups:\n  - ''\n  resources:\n  - pods\n  verbs:\n  - get"
    )
    diff = git_diff("k8s/role.yaml", added="  - '*'", kept=kept)
    assert reasons(diff) == ["gives a Kubernetes role a wildcard in verbs (verbs: *)"]


def test_binding_cluster_admin_is_destructive() -> None:
    kept = "kind: ClusterRoleBinding\nroleRef:\n  apiGroup: rbac.authorization.k8s.io\n"
    kept += "  kind: ClusterRole"
    diff = git_diff("k8s/agent.yaml", "  name: view", "  name: cluster-admin", kept=kept)
    assert reasons(diff) == ["binds the cluster-admin role (name: cluster-admin)"]


def test_a_pod_that_gains_the_host_or_root_is_destructive() -> None:
    pod = (
        "  hostNetwork: true\n  hostPID: true\n  containers:\n  - name: agent\n"
        "    securityContext:\n      privileged: true\n      allowPrivilegeEscalation: true\n"
        "      runAsUser: 0"
    )
    assert reasons(git_diff("k8s/agent.yml", added=pod, kept="spec:")) == [
        "shares a namespace of the host (hostNetwork: true)",
        "shares a namespace of the host (hostPID: true)",
        "runs a privileged container (privileged: true)",
        "lets a container gain privileges (allowPrivilegeEscalation: true)",
        "runs a container as root (runAsUser: 0)",
    ]


def test_a_second_privileged_container_counts_though_the_first_is_shown() -> None:
    kept = "spec:\n  containers:\n  - name: a\n    securityContext:\n      privileged: true"
    added = "  - name: b\n    securityContext:\n      privileged: true"
    assert reasons(git_diff("k8s/pod.yaml", added=added, kept=kept)) == [
        "runs a privileged container (privileged: true)"
    ]


@pytest.mark.parametrize(
    ("kept", "removed", "added", "reason"),
    [
        ("networkPolicy:", "  enabled: true", "  enabled: false",
         "turns off networkPolicy (networkPolicy.enabled: false)"),
        ("redis:\n  auth:", "    enabled: true", "    enabled: false",
         "turns off auth (auth.enabled: false)"),
        ("server:", "", "  authentication: {enabled: false}",
         "turns off authentication (authentication.enabled: false)"),
        ("securityContext:", "  runAsNonRoot: true", "  runAsNonRoot: false",
         "lets a container run as root (runAsNonRoot: false)"),
        ("", "", "securityContext.runAsNonRoot: false",
         "lets a container run as root (runAsNonRoot: false)"),
        ("api:", "  tls: true", "  tls: false", "turns off tls (tls: false)"),
        ("registry:", "", "  insecure: true", "turns off TLS checks (insecure: true)"),
        ("grpc:", "  auth: true", "  auth: false", "turns off auth (auth: false)"),
    ],
)  # fmt: skip
def test_values_that_turn_security_off_are_destructive(
    kept: str, removed: str, added: str, reason: str
) -> None:
    assert reasons(git_diff("charts/api/values-qa.yaml", removed, added, kept=kept)) == [reason]


def test_the_hunk_heading_says_which_block_a_hunk_starts_in() -> None:
    diff = (
        "--- a/charts/api/values.yaml\n+++ b/charts/api/values.yaml\n"
        "@@ -20,3 +20,3 @@ networkPolicy:\n   # who may reach the pods\n"
        "-  enabled: true\n+  enabled: false\n"
    )
    assert reasons(diff) == ["turns off networkPolicy (networkPolicy.enabled: false)"]


# What does not weaken, though it looks alike.


@pytest.mark.parametrize(
    ("path", "kept", "removed", "added"),
    [
        ("infra/sg.tf", SG, "",
         '  egress {\n    protocol    = "-1"\n    cidr_blocks = ["0.0.0.0/0"]\n  }'),
        ("infra/sg.tf", 'module "sg" {', "", '  egress_cidr_blocks = ["0.0.0.0/0"]'),
        ("infra/vpc.tf", 'resource "aws_route_table" "public" {', "",
         '  route {\n    cidr_block = "0.0.0.0/0"\n    gateway_id = aws_internet_gateway.gw.id\n'
         "  }"),
        ("infra/sg.tf", 'resource "aws_security_group_rule" "out" {\n  type = "egress"', "",
         '  cidr_blocks = ["0.0.0.0/0"]'),
        ("infra/fw.tf", 'resource "google_compute_firewall" "block" {', "",
         '  source_ranges = ["0.0.0.0/0"]\n  deny {\n    protocol = "all"\n  }'),
        ("k8s/np.yaml", "kind: NetworkPolicy\nspec:\n  egress:\n  - to:\n    - ipBlock:", "",
         "        cidr: 0.0.0.0/0"),
        ("cfn/sg.yaml", "Resources:\n  Web:\n    Properties:\n      SecurityGroupEgress:", "",
         "        - IpProtocol: -1\n          CidrIp: 0.0.0.0/0"),
        ("infra/sg.tf", f"{SG}\n  ingress {{", "", '    # cidr_blocks = ["0.0.0.0/0"]'),
        ("infra/db.tf", DB, "  deletion_protection = false", "  deletion_protection = true"),
        ("infra/db.tf", DB, "", "  deletion_protection = true\n  storage_encrypted = true"),
        ("k8s/ds.yaml", "spec:\n  template:\n    spec:",
         "      hostNetwork: true\n      dnsPolicy: ClusterFirstWithHostNet",
         "      dnsPolicy: ClusterFirstWithHostNet\n      hostNetwork: true"),
        ("k8s/pod.yaml", "spec:\n  securityContext:", "",
         "    runAsNonRoot: true\n    runAsUser: 1000\n    privileged: false"),
        ("charts/x/values.yaml", "metrics:", "  enabled: true", "  enabled: false"),
        ("k8s/hook.yaml", "kind: ValidatingWebhookConfiguration\nwebhooks:\n- name: x\n  rules:",
         "",
         '  - apiGroups: ["*"]\n    operations: ["CREATE"]\n    resources: ["*"]'),
        ("k8s/crb.yaml", "kind: ClusterRoleBinding\nsubjects:\n- kind: User", "  name: bob",
         "  name: cluster-admin"),
        ("docs/hardening.md", "", "",
         'Never set `privileged: true` or cidr_blocks = ["0.0.0.0/0"].'),
        ("app/settings.py", "", "", "privileged = True\nAUTH = False"),
        ("charts/x/templates/dep.yaml", "", "",
         "{{- if .Values.securityContext.enabled }}\n  privileged: {{ .Values.privileged }}"),
    ],
    ids=[
        "egress", "egress-variable", "route", "egress-rule", "deny-firewall", "egress-policy",
        "cloudformation-egress", "commented-out", "protection-restored", "protection-added",
        "moved-line", "hardened-pod", "metrics-off", "webhook-wildcards", "subject-name",
        "markdown", "python", "helm-template",
    ],
)  # fmt: skip
def test_settings_that_do_not_weaken_are_not_destructive(
    path: str, kept: str, removed: str, added: str
) -> None:
    assert destructive(git_diff(path, removed, added, kept=kept)) == []


@pytest.mark.parametrize(
    "statement",
    [
        # A bucket policy that refuses requests without TLS, as AWS recommends.
        '{"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "*",'
        ' "Condition": {"Bool": {"aws:SecureTransport": "false"}}}',
        # Describe calls take no resource but `*`.
        '{"Effect": "Allow", "Action": ["ec2:DescribeInstances"], "Resource": "*"}',
    ],
)
def test_policies_that_deny_or_name_their_actions_are_not_destructive(statement: str) -> None:
    policy = f'{{\n  "Statement": [\n    {statement}\n  ]\n}}'
    assert read(git_diff("iam/bucket.json", added=policy, created=True)) == []


def test_a_deleted_policy_file_widens_nothing() -> None:
    policy = f'{POLICY}      "Action": "*",\n      "Resource": "*"\n    }}\n  ]\n}}'
    assert destructive(git_diff("iam/old.json", removed=policy, deleted=True)) == []


def test_a_budget_that_ran_out_stops_reading_configuration() -> None:
    diff = git_diff("k8s/app.yaml", added="spec:\n  replicas: 2", created=True)
    with pytest.raises(OutOfTime):
        read_diff(diff, Budget(-1))
