"""Built-in risk detectors. They can only raise risk, and each says why.

What a request runs is read by `bot.reading`; this module turns that reading into findings
next to those about the request itself: its action verb, scope, environment and hidden text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fnmatch import fnmatchcase

from bot.models import Risk
from bot.reading import Effect, Reading

DESTRUCTIVE_ACTION = re.compile(
    r"(^|[._\-])(delete|destroy|drop|truncate|recreate|purge|wipe|terminate|remove|reset|"
    r"erase|revoke|force[_\-]?push|rollback)([._\-]|$)"
)

# Characters that make text display differently from what runs (bidi overrides, zero-width).
HIDDEN = re.compile("[\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")

ADMIN_PERMISSIONS = ("administratoraccess", "roles/owner", "roles/editor", "cluster-admin")


@dataclass(frozen=True)
class Finding:
    risk: Risk
    reason: str
    destructive: bool = False  # with a production environment, this makes a request critical


def command_text(command: str | list[str]) -> str:
    return command if isinstance(command, str) else " ".join(command)


def action_findings(action: str) -> list[Finding]:
    """A destructive verb in the action's name (`environment.recreate`) is high on its own."""
    verb = DESTRUCTIVE_ACTION.search(action)
    if verb is None:
        return []
    return [Finding(Risk.high, f"destructive verb in action: {verb.group(2)}", destructive=True)]


def reading_findings(reading: Reading) -> list[Finding]:
    """What reading the command, params and diff found, as risk."""
    return [
        Finding(f.effect.risk, f.text, destructive=f.effect is Effect.destructive)
        for f in reading.findings
    ]


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
    if production and any(f.destructive for f in findings):
        return [*findings, Finding(Risk.critical, "destructive change in production")]
    return findings


def hidden_text_findings(*texts: str) -> list[Finding]:
    """Invisible or direction-changing characters: what approvers read may not be what runs."""
    if any(HIDDEN.search(t) for t in texts):
        return [Finding(Risk.high, "hidden or direction-changing characters in command or diff")]
    return []
