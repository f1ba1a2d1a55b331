"""Built-in risk detectors. They can only raise risk, and each says why."""

from __future__ import annotations

import re
from dataclasses import dataclass
from fnmatch import fnmatchcase

from bot import shell
from bot.models import Risk

DESTRUCTIVE_ACTION = re.compile(
    r"(^|[._\-])(delete|destroy|drop|truncate|recreate|purge|wipe|terminate|remove|reset|"
    r"erase|revoke|force[_\-]?push|rollback)([._\-]|$)"
)

# Text patterns for what is not a program's argv: SQL inside a client call, Redis commands.
DESTRUCTIVE_TEXT: list[tuple[re.Pattern[str], str]] = [
    (
        re.compile(r"\b(drop\s+(table|database|schema|index)|truncate\s+table?)\b", re.I),
        "SQL DROP/TRUNCATE",
    ),
    (re.compile(r"\bdelete\s+from\b", re.I), "SQL DELETE"),
    (re.compile(r"\b(flushall|flushdb)\b", re.I), "Redis FLUSH"),
]

# Characters that make text display differently from what runs (bidi overrides, zero-width).
HIDDEN = re.compile("[\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")

DESTRUCTIVE_DIFF: list[tuple[re.Pattern[str], str]] = [
    (
        re.compile(r"will be destroyed|must be replaced|destroy and then create", re.I),
        "the plan destroys or replaces resources",
    ),
    (
        re.compile(r"^\+.*\b(drop\s+(table|database|schema)|truncate\s+table)\b", re.I | re.M),
        "the diff adds a DROP/TRUNCATE",
    ),
]

ADMIN_PERMISSIONS = ("administratoraccess", "roles/owner", "roles/editor", "cluster-admin")


@dataclass(frozen=True)
class Finding:
    risk: Risk
    reason: str


def command_text(command: str | list[str]) -> str:
    return command if isinstance(command, str) else " ".join(command)


def destructive_findings(action: str, command: str, diff: str) -> list[Finding]:
    found: list[Finding] = []
    verb = DESTRUCTIVE_ACTION.search(action)
    if verb:
        found.append(Finding(Risk.high, f"destructive verb in action: {verb.group(2)}"))
    for label in shell.destructive_tools(command):
        found.append(Finding(Risk.high, f"destructive command: {label}"))
    for pattern, label in DESTRUCTIVE_TEXT:
        if pattern.search(command):
            found.append(Finding(Risk.high, f"destructive command: {label}"))
    for pattern, label in DESTRUCTIVE_DIFF:
        if pattern.search(diff):
            found.append(Finding(Risk.high, label))
    return found


def permission_level(permission: str) -> Risk | None:
    """How dangerous one permission string is, or None when unremarkable."""
    lowered = permission.lower()
    if lowered in ("*", "*:*") or any(a in lowered for a in ADMIN_PERMISSIONS):
        return Risk.critical
    if lowered.endswith(":*") or lowered.endswith(".*") or lowered.endswith("/*"):
        return Risk.high if not lowered.startswith("iam") else Risk.critical
    if "*" in lowered:
        return Risk.medium
    return None


def scope_findings(permissions: list[str], resources: list[str]) -> list[Finding]:
    found: list[Finding] = []
    for permission in permissions:
        level = permission_level(permission)
        if level is not None and level.rank >= Risk.high.rank:
            kind = "admin" if level is Risk.critical and "*" not in permission else "wildcard"
            found.append(Finding(level, f"{kind} permission: {permission}"))
    if any(r.strip() == "*" for r in resources):
        found.append(Finding(Risk.high, "wildcard resource: *"))
    return found


def environment_findings(environment: str, production: list[str]) -> list[Finding]:
    if environment and any(fnmatchcase(environment.lower(), p) for p in production):
        return [Finding(Risk.high, f"production environment: {environment}")]
    return []


def combine(findings: list[Finding], *, production: bool) -> list[Finding]:
    """Production plus a destructive change is critical, whatever each part says alone."""
    destructive = any("destructive" in f.reason or "destroys" in f.reason for f in findings)
    if production and destructive:
        return [*findings, Finding(Risk.critical, "destructive change in production")]
    return findings


def hidden_text_findings(*texts: str) -> list[Finding]:
    """Invisible or direction-changing characters: what approvers read may not be what runs."""
    if any(HIDDEN.search(t) for t in texts):
        return [Finding(Risk.high, "hidden or direction-changing characters in command or diff")]
    return []
