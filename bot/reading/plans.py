"""Infrastructure plans: which resources they destroy, replace, create or change.

Terraform's (and OpenTofu's) as `terraform show -json` writes them or as `plan` prints them, and
Pulumi's as `pulumi preview` prints them.
"""

from __future__ import annotations

import json
import re
from typing import Any

from bot.reading.findings import Budget, Effect, Finding, opaque

_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_PLAN_TEXT = re.compile(
    r"^(?:Terraform|OpenTofu) will perform the following actions|^Plan: \d+ to |"
    r"^No changes\. Your infrastructure matches|^[ \t]*# .+ (?:will be|must be) ",
    re.M,
)
_TEXT_ACTION = re.compile(
    r"^[ \t]*# (?P<address>.+?) (?P<action>will be destroyed|must be replaced|will be created|"
    r"will be updated in-place|will no longer be managed by)",
    re.M,
)
_RESOURCE_LINE = re.compile(
    r'^[ \t]*(?P<sign>-/\+|\+/-|-)[ \t]+resource[ \t]+"(?P<type>[^"]+)"[ \t]+"(?P<name>[^"]+)"',
    re.M,
)
_SUMMARY = re.compile(r"^Plan: .*?(?P<destroy>\d+) to destroy", re.M)

_TEXT_VERBS = {
    "will be destroyed": "destroys",
    "must be replaced": "replaces",
    "will be created": "creates",
    "will be updated in-place": "changes",
    "will no longer be managed by": "forgets",
    "-": "destroys",
    "-/+": "replaces",
    "+/-": "replaces",
}
_FINDINGS = {
    "destroys": (Effect.destructive, "plan destroys {}"),
    "replaces": (Effect.destructive, "plan replaces {}"),
    "creates": (Effect.mutating, "plan creates {}"),
    "changes": (Effect.mutating, "plan changes {} in place"),
    "forgets": (Effect.mutating, "plan stops managing {}"),
}
_PULUMI = re.compile(
    r"^Previewing (?:update|destroy|refresh)\b|^[ \t]+Type[ \t]+Name[ \t]+Plan\b", re.M
)
_PULUMI_STEP = re.compile(
    r"^[ \t]*(?:\+-|-\+|[-+~])[ \t]+[└├│─ \t]*(?P<type>[\w-]+:[\w/:.-]+)[ \t]+(?P<name>\S+)[ \t]+"
    r"(?P<step>delete-replaced|create-replacement|delete|replace|create|update|discard)\b",
    re.M,
)
_PULUMI_VERBS = {
    "delete": "destroys",
    "delete-replaced": "replaces",
    "replace": "replaces",
    "create-replacement": "replaces",
    "create": "creates",
    "update": "changes",
    "discard": "forgets",
}
_PULUMI_SUMMARY = re.compile(
    r"^[ \t]*(?:\+-[ \t]*(?P<replace>\d+) to replace|-[ \t]*(?P<delete>\d+) to delete)", re.M
)
_NAMED = 5


def read_plan(text: str, budget: Budget) -> list[Finding] | None:
    """What a Terraform, OpenTofu or Pulumi plan does to its resources; None when `text` is
    not a plan."""
    if text.lstrip().startswith("{"):
        return _read_json(text, budget)
    plain = _ANSI.sub("", text)
    if _PLAN_TEXT.search(plain):
        return _read_text(plain)
    return _read_pulumi(plain) if _PULUMI.search(plain) else None


def _read_json(text: str, budget: Budget) -> list[Finding] | None:
    try:
        plan = json.loads(text)
    except (ValueError, RecursionError):
        return [opaque("plan JSON that does not parse")] if "resource_changes" in text else None
    if not isinstance(plan, dict) or "resource_changes" not in plan:
        return None
    changes = plan["resource_changes"]
    if not isinstance(changes, list):
        return [opaque("plan JSON whose resource_changes is not a list")]
    by_verb: dict[str, list[str]] = {}
    for change in changes:
        budget.check()
        verb = _json_verb(change)
        if verb:
            by_verb.setdefault(verb, []).append(str(change.get("address", "?")))
    return _findings(by_verb)


def _json_verb(change: Any) -> str | None:
    details = change.get("change") if isinstance(change, dict) else None
    actions = details.get("actions") if isinstance(details, dict) else None
    if not isinstance(actions, list):
        return None
    if "delete" in actions:
        return "replaces" if "create" in actions else "destroys"
    for action, verb in (("create", "creates"), ("update", "changes"), ("forget", "forgets")):
        if action in actions:
            return verb
    return None


def _read_text(text: str) -> list[Finding]:
    by_verb: dict[str, list[str]] = {}
    for action in _TEXT_ACTION.finditer(text):
        by_verb.setdefault(_TEXT_VERBS[action["action"]], []).append(action["address"])
    if not by_verb:
        for line in _RESOURCE_LINE.finditer(text):
            address = f"{line['type']}.{line['name']}"
            by_verb.setdefault(_TEXT_VERBS[line["sign"]], []).append(address)
    found = _findings(by_verb)
    summary = _SUMMARY.search(text)
    destroyed = int(summary["destroy"]) if summary else 0
    if destroyed and not {"destroys", "replaces"} & by_verb.keys():
        found.append(Finding(Effect.destructive, f"plan destroys {destroyed} resources"))
    return found


def _read_pulumi(text: str) -> list[Finding]:
    by_verb: dict[str, list[str]] = {}
    for step in _PULUMI_STEP.finditer(text):
        by_verb.setdefault(_PULUMI_VERBS[step["step"]], []).append(f"{step['type']} {step['name']}")
    found = _findings(by_verb)
    for summary in _PULUMI_SUMMARY.finditer(text):
        verb = "replaces" if summary["replace"] else "destroys"
        if verb not in by_verb:
            count = summary["replace"] or summary["delete"]
            found.append(Finding(Effect.destructive, f"plan {verb} {count} resources"))
    return found


def _findings(by_verb: dict[str, list[str]]) -> list[Finding]:
    return [
        Finding(effect, template.format(_listed(by_verb[verb])))
        for verb, (effect, template) in _FINDINGS.items()
        if verb in by_verb
    ]


def _listed(addresses: list[str]) -> str:
    unique = list(dict.fromkeys(addresses))
    named = ", ".join(unique[:_NAMED])
    return named if len(unique) <= _NAMED else f"{named} and {len(unique) - _NAMED} more"
