"""Built-in risk detectors. They can only raise risk, and each says why."""

from __future__ import annotations

import re
from dataclasses import dataclass
from fnmatch import fnmatchcase

from bot.models import Risk

DESTRUCTIVE_ACTION = re.compile(
    r"(^|[._\-])(delete|destroy|drop|truncate|recreate|purge|wipe|terminate|remove|reset|"
    r"erase|revoke|force[_\-]?push|rollback)([._\-]|$)"
)

DESTRUCTIVE_COMMANDS: list[tuple[re.Pattern[str], str]] = [
    (
        re.compile(r"\brm\s+(-[a-zA-Z]*r[a-zA-Z]*f|-[a-zA-Z]*f[a-zA-Z]*r|--recursive\s+--force)"),
        "rm -rf",
    ),
    (re.compile(r"\bterraform\s+(destroy|apply\s+.*-destroy)\b"), "terraform destroy"),
    (re.compile(r"\bkubectl\s+(delete|drain)\b"), "kubectl delete"),
    (re.compile(r"\bhelm\s+(uninstall|delete)\b"), "helm uninstall"),
    (
        re.compile(r"\bgit\s+push\b.*(\s--force\b|\s-f\b|\s--force-with-lease\b|\s\+\S)"),
        "git force push",
    ),
    (re.compile(r"\bgit\s+(reset\s+--hard|clean\s+-[a-zA-Z]*f)"), "git reset/clean"),
    (
        re.compile(r"\b(drop\s+(table|database|schema|index)|truncate\s+table?)\b", re.I),
        "SQL DROP/TRUNCATE",
    ),
    (re.compile(r"\bdelete\s+from\b", re.I), "SQL DELETE"),
    (re.compile(r"\baws\s+\S+\s+(delete|terminate|remove|deregister)-[\w-]+"), "aws delete"),
    (re.compile(r"\bgcloud\s+.*\bdelete\b"), "gcloud delete"),
    (re.compile(r"\baz\s+.*\bdelete\b"), "az delete"),
    (re.compile(r"\b(mkfs(\.\w+)?|dd\s+if=|shred)\b"), "disk overwrite"),
    (re.compile(r"\bdocker\s+(system\s+prune|volume\s+rm|rm\s+-f)"), "docker removal"),
    (re.compile(r"\b(redis-cli\b.*\bflushall|flushdb)\b", re.I), "Redis FLUSH"),
]

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
    for pattern, label in DESTRUCTIVE_COMMANDS:
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
