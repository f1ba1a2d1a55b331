"""`countersign hook claude`: a Claude Code PreToolUse hook that asks Countersign first.

It reads the event JSON on stdin. When a rule in `hooks.yaml` matches the tool call, it asks
for approval (the tool input becomes `params`, so the grant is bound to exactly that call) and
prints the hook decision: `allow` once approved, `deny` with the reason otherwise, including
when Countersign cannot be reached. A call no rule matches gets no output, so Claude Code's own
permission rules apply to it.
"""

from __future__ import annotations

import json
import re
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from bot.client import ClientError, Countersign
from bot.errors import ConfigError
from bot.models import RequestIn
from bot.policy import Duration, describe

PATH_TOOLS = {"Write", "Edit", "MultiEdit", "Read", "NotebookEdit"}
Globs = Annotated[list[str], BeforeValidator(lambda v: [v] if isinstance(v, str) else v)]


class Rule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    tool: Globs = Field(default_factory=lambda: ["*"])
    match: re.Pattern[str] | None = None
    action: str
    resource: str = ""
    environment: str = ""
    permissions: list[str] = Field(default_factory=list)

    def matches(self, tool: str, subject: str) -> bool:
        named = any(fnmatchcase(tool, glob) for glob in self.tool)
        return named and (self.match is None or self.match.search(subject) is not None)


class ClaudeHooks(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ttl: Duration | None = None
    on_behalf_of: str | None = None
    rules: list[Rule] = Field(default_factory=list)


class PreToolUse(BaseModel):
    """The parts of Claude Code's PreToolUse event the hook reads; others are ignored."""

    hook_event_name: str = "PreToolUse"
    tool_name: str
    tool_input: dict[str, Any] = Field(default_factory=dict)
    session_id: str = ""
    cwd: str = ""
    tool_use_id: str = ""


def load_hooks(path: Path) -> ClaudeHooks:
    """The `claude:` section of a hooks file; a bad file stops with one line naming it."""
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        return ClaudeHooks.model_validate(document.get("claude") or {})
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read ({exc.strerror})") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({exc})") from None
    except ValidationError as exc:
        raise ConfigError(f"{path}: claude: {describe(exc)}") from None


def subject_of(event: PreToolUse) -> str:
    """What `match` is searched in: the command, the file path, or the input as JSON."""
    if event.tool_name == "Bash":
        return str(event.tool_input.get("command", ""))
    if event.tool_name in PATH_TOOLS:
        return str(event.tool_input.get("file_path") or event.tool_input.get("notebook_path", ""))
    return json.dumps(event.tool_input, sort_keys=True, ensure_ascii=False)


def request_for(event: PreToolUse, rule: Rule, hooks: ClaudeHooks) -> RequestIn:
    subject = subject_of(event)
    summary = f"Claude Code {event.tool_name}: {subject}"
    return RequestIn(
        action=rule.action,
        summary=summary if len(summary) <= 300 else summary[:297] + "...",
        resource=rule.resource,
        environment=rule.environment,
        command=subject if event.tool_name == "Bash" else "",
        scope={"permissions": rule.permissions},
        params=event.tool_input,
        metadata={
            "claude_code": {
                "session_id": event.session_id,
                "cwd": event.cwd,
                "tool_use_id": event.tool_use_id,
                "rule": rule.name,
            }
        },
        on_behalf_of=hooks.on_behalf_of,
        ttl_seconds=hooks.ttl,
    )


def decision(allow: bool, reason: str) -> dict[str, Any]:
    """The hook output Claude Code reads from stdout."""
    return {
        "hookSpecificOutput": {
            "hookEventName": "PreToolUse",
            "permissionDecision": "allow" if allow else "deny",
            "permissionDecisionReason": reason,
        }
    }


def rule_for(event: PreToolUse, hooks: ClaudeHooks) -> Rule | None:
    """The first rule that asks for approval of this call, if any."""
    subject = subject_of(event)
    return next((r for r in hooks.rules if r.matches(event.tool_name, subject)), None)


def decide(
    event: PreToolUse, rule: Rule, hooks: ClaudeHooks, client: Countersign
) -> dict[str, Any]:
    """Ask Countersign and turn its answer into the hook's decision."""
    try:
        approved = client.request_approval(request_for(event, rule, hooks))
    except ValidationError as exc:
        return decision(False, f"Countersign hook rule {rule.name!r}: {describe(exc)}")
    except ClientError as exc:
        return decision(False, f"Countersign: {exc.message} Do not retry this without asking.")
    who = ", ".join(a.user for a in approved.approvals) or approved.decided_by or "policy"
    return decision(True, f"Countersign: approved by {who} ({approved.id}).")
