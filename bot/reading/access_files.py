"""Files that decide who gets in: sshd_config, pg_hba.conf, sudoers, Vault policies, role
assignments, kustomizations. Their lines are not `key = value` settings that `weakening` reads,
so each has a rule of its own, as data: which file, which added (or removed) line, and why.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import PurePosixPath

from bot.reading.findings import Effect, Finding
from bot.reading.patches import FileDiff

# Azure's built-in role definitions that grant everything (their IDs are the same everywhere).
AZURE_ADMIN_ROLES = {
    "8e3af657-a8ff-443c-a75c-2fe8c4bcb635": "Owner",
    "b24988ac-6180-42a0-ab88-20f7382dd24c": "Contributor",
    "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9": "User Access Administrator",
}


@dataclass(frozen=True)
class _LineRule:
    files: tuple[str, ...]  # globs on the file's name
    line: re.Pattern[str]
    says: str
    removed: bool = False  # the rule is about a removed line, not an added one


def _rule(files: tuple[str, ...], line: str, says: str, removed: bool = False) -> _LineRule:
    return _LineRule(files, re.compile(line, re.IGNORECASE), says, removed)


_SSHD = ("sshd_config*", "*.sshd_config", "sshd_config.d*")
_SUDOERS = ("sudoers*", "*.sudoers", "*sudoers.d/*")
_RULES = (
    _rule(_SSHD, r"^\s*PermitRootLogin\s+yes\b", "lets root log in over SSH"),
    _rule(_SSHD, r"^\s*PasswordAuthentication\s+yes\b", "turns SSH password logins on"),
    _rule(_SSHD, r"^\s*PermitEmptyPasswords\s+yes\b", "lets SSH accept empty passwords"),
    _rule(("pg_hba.conf*",), r"^\s*host\S*\s.*\btrust\s*$", "lets clients in with no password"),
    _rule(_SUDOERS, r"NOPASSWD:\s*ALL", "grants root with no password"),
    _rule(("*.hcl",), r'^\s*path\s+"\*"', "grants a Vault policy on every path"),
    _rule(("*.hcl",), r'capabilities\s*=.*"sudo"', "grants Vault sudo capability"),
    _rule(("kustomization.yaml", "kustomization.yml"), r"^\s*-\s*\S+\.ya?ml\s*$",
          "removes resources from the kustomization, so a sync prunes them", removed=True),
)  # fmt: skip


def read_access_files(file: FileDiff) -> list[Finding]:
    """Findings for lines that open who may get in, in the files that say it."""
    name = PurePosixPath(file.path).name
    found: list[Finding] = []
    for rule in _RULES:
        if not any(fnmatchcase(name, g) or fnmatchcase(file.path, g) for g in rule.files):
            continue
        lines = file.removed_lines if rule.removed else file.added
        hits = [line.strip() for line in lines if rule.line.search(line)]
        if hits:
            found.append(_finding(rule.says, hits))
    return found + _azure_roles(file)


def _azure_roles(file: FileDiff) -> list[Finding]:
    added = "\n".join(file.added).lower()
    names = [role for guid, role in AZURE_ADMIN_ROLES.items() if guid in added]
    return [Finding(Effect.destructive, f"assigns the Azure {role} role") for role in names]


def _finding(says: str, hits: list[str]) -> Finding:
    shown = hits[0] if len(hits) == 1 else f"{hits[0]} and {len(hits) - 1} more"
    return Finding(Effect.destructive, f"{says} ({shown[:80]})")
