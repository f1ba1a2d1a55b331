"""Files that decide who gets in: an added line that opens them is destructive."""

from __future__ import annotations

import pytest

from bot.reading.diffs import read_diff
from bot.reading.findings import Effect, unlimited


def diff(path: str, removed: str, added: str) -> str:
    minus = "".join(f"-{line}\n" for line in removed.splitlines())
    plus = "".join(f"+{line}\n" for line in added.splitlines())
    return f"--- a/{path}\n+++ b/{path}\n@@ -1,2 +1,2 @@\n{minus}{plus}"


@pytest.mark.parametrize(
    ("path", "removed", "added", "says"),
    [
        ("etc/ssh/sshd_config", "PermitRootLogin no", "PermitRootLogin yes", "lets root log in"),
        ("sshd_config", "", "PasswordAuthentication yes", "SSH password logins on"),
        ("roles/pg/templates/pg_hba.conf.j2", "", "host all all 0.0.0.0/0 trust", "no password"),
        ("etc/sudoers.d/agent", "", "agent ALL=(ALL) NOPASSWD: ALL", "root with no password"),
        ("vault/policies/ci.hcl", "", 'path "*" {', "every path"),
        ("vault/policies/ci.hcl", "", 'capabilities = ["read", "sudo"]', "sudo capability"),
        ("k8s/kustomization.yaml", "  - postgres-pvc.yaml", "", "prunes them"),
        (
            "infra/main.bicep",
            "",
            "roleDefinitionId: '8e3af657-a8ff-443c-a75c-2fe8c4bcb635'",
            "Azure Owner role",
        ),
    ],
)
def test_opening_access_is_destructive(path: str, removed: str, added: str, says: str) -> None:
    [finding] = [f for f in read_diff(diff(path, removed, added), unlimited()) if says in f.text]
    assert finding.effect is Effect.destructive
    assert finding.where == f"diff {path}"


@pytest.mark.parametrize(
    ("path", "removed", "added"),
    [
        ("etc/ssh/sshd_config", "PermitRootLogin yes", "PermitRootLogin no"),
        ("pg_hba.conf", "", "host all all 10.0.0.0/8 scram-sha-256"),
        ("k8s/kustomization.yaml", "", "  - hpa.yaml"),
        ("README.md", "", "PermitRootLogin yes is a bad idea"),
    ],
)
def test_tightening_or_mentioning_it_is_not(path: str, removed: str, added: str) -> None:
    found = read_diff(diff(path, removed, added), unlimited())
    assert not [f for f in found if f.effect is Effect.destructive]
