"""The approval domain's data: what an agent asks for and what Countersign answers."""

from __future__ import annotations

import hashlib
import json
import math
import unicodedata
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    AnyHttpUrl,
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
)

MAX_DIFF_BYTES = 1024 * 1024
MAX_METADATA_BYTES = 16 * 1024
MAX_PARAMS_BYTES = 64 * 1024
MAX_COMMAND_BYTES = 64 * 1024
MAX_ACTION_LENGTH = 128
MAX_JSON_DEPTH = 32  # params and metadata; deeper is no real call, and breaks serializers


class Risk(StrEnum):
    low = "low"
    medium = "medium"
    high = "high"
    critical = "critical"

    @property
    def rank(self) -> int:
        return list(Risk).index(self)

    def at_least(self, other: Risk) -> Risk:
        return self if self.rank >= other.rank else other


class Status(StrEnum):
    pending = "pending"
    approved = "approved"
    denied = "denied"
    expired = "expired"
    cancelled = "cancelled"

    @property
    def terminal(self) -> bool:
        return self is not Status.pending


def _json_size(limit: int, name: str) -> AfterValidator:
    def check(value: dict[str, Any]) -> dict[str, Any]:
        if problem := _json_problem(value):
            raise ValueError(f"{name} {problem}")
        size = len(json.dumps(value, ensure_ascii=False).encode())
        if size > limit:
            raise ValueError(f"{name} is {size} bytes as JSON; the limit is {limit}")
        return value

    return AfterValidator(check)


def _json_problem(value: Any) -> str | None:
    """Why a JSON value cannot be hashed the same way everywhere, if it cannot (a loop, not
    recursion, so that no depth of nesting can exhaust the stack)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, float) and not math.isfinite(item):
            return "holds NaN or Infinity, which JSON has no numbers for"
        if isinstance(item, dict | list | tuple):
            if depth > MAX_JSON_DEPTH:
                return f"nests deeper than {MAX_JSON_DEPTH} levels of objects and arrays"
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
    return None


def _utf8_size(limit: int) -> AfterValidator:
    def check(value: str) -> str:
        if len(value.encode()) > limit:
            raise ValueError(f"must be at most {limit} bytes")
        return value

    return AfterValidator(check)


def _visible(multiline: bool) -> AfterValidator:
    """Refuse control and invisible characters: an approver must see exactly what is there."""
    allowed = {"\n", "\t"} if multiline else set()

    def check(value: str) -> str:
        for char in value:
            if unicodedata.category(char) in ("Cc", "Cf") and char not in allowed:
                raise ValueError(f"contains a control or invisible character (U+{ord(char):04X})")
        return value

    return AfterValidator(check)


SlackUserId = Annotated[str, Field(pattern=r"^[UW][A-Z0-9]{2,20}$")]
ShortText = Annotated[str, Field(max_length=500), _visible(multiline=False)]
Permission = Annotated[str, Field(min_length=1, max_length=256)]


class Scope(BaseModel):
    """The permissions the action uses and the resources it touches."""

    model_config = ConfigDict(extra="forbid")

    permissions: list[Permission] = Field(default_factory=list, max_length=500)
    resources: list[Annotated[str, Field(min_length=1, max_length=1024)]] = Field(
        default_factory=list, max_length=500
    )


class RequestIn(BaseModel):
    """What an agent submits to `POST /v1/requests`."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)

    action: str = Field(
        pattern=r"^[a-z0-9][a-z0-9_\-]*(\.[a-z0-9_\-]+)*$",
        max_length=MAX_ACTION_LENGTH,
        description="Dotted verb such as `environment.recreate`.",
    )
    summary: Annotated[str, _visible(multiline=False)] = Field(min_length=1, max_length=300)
    resource: ShortText = ""
    environment: str = Field(
        default="",
        max_length=64,
        pattern=r"^([a-z0-9][a-z0-9_.\-]*)?$",
        description="Lower-case name such as `prod` or `prod-cn-north-1`.",
    )
    command: (
        Annotated[str, _utf8_size(MAX_COMMAND_BYTES)]
        | list[Annotated[str, Field(max_length=MAX_COMMAND_BYTES)]]
    ) = Field(
        default="",
        description="The exact command: a shell string or an argv list. Policy parses it "
        "(every program, nested shells, SQL, inline code) to rate the request.",
    )
    diff: Annotated[str, _utf8_size(MAX_DIFF_BYTES)] = Field(
        default="",
        description="What changes: a unified diff, a Terraform plan (JSON or text), a "
        "migration. Policy reads it for what it destroys.",
    )
    scope: Scope = Field(default_factory=Scope)
    justification: Annotated[str, Field(max_length=4000), _visible(multiline=True)] = ""
    on_behalf_of: SlackUserId | None = None
    ttl_seconds: int | None = Field(default=None, ge=30, le=7 * 24 * 3600)
    callback_url: AnyHttpUrl | None = None
    params: Annotated[dict[str, Any], _json_size(MAX_PARAMS_BYTES, "params")] = Field(
        default_factory=dict,
        description="The tool call's arguments. Policy reads SQL, commands and code in them "
        "(`query`, `sql`, `command`, `cmd`, `code`, argv lists, JSON strings).",
    )
    metadata: Annotated[dict[str, Any], _json_size(MAX_METADATA_BYTES, "metadata")] = Field(
        default_factory=dict
    )
    risk_hint: Risk | None = Field(
        default=None, description="The agent's own rating. It can raise risk, never lower it."
    )

    @field_validator("command")
    @classmethod
    def _argv_size(cls, value: str | list[str]) -> str | list[str]:
        if isinstance(value, list):
            if len(value) > 1000:
                raise ValueError("argv has more than 1000 elements")
            if sum(len(a.encode()) for a in value) > MAX_COMMAND_BYTES:
                raise ValueError(f"argv must be at most {MAX_COMMAND_BYTES} bytes in all")
        return value

    def action_hash(self) -> str:
        """SHA-256 of the canonical JSON of exactly what will run."""
        return action_hash(self.executable())

    def executable(self) -> dict[str, Any]:
        """The parts of the request that define what will run."""
        return executable(self)


def executable(request: RequestIn | ApprovalRequest) -> dict[str, Any]:
    """What will run: action, resource, environment, command, diff, scope and params."""
    return {
        "action": request.action,
        "resource": request.resource,
        "environment": request.environment,
        "command": request.command,
        "diff": request.diff,
        "scope": request.scope.model_dump(),
        "params": request.params,
    }


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def action_hash(executable: dict[str, Any]) -> str:
    return hashlib.sha256(canonical_json(executable).encode()).hexdigest()


class Approval(BaseModel):
    user: str
    at: datetime
    comment: str = ""


class Denial(BaseModel):
    user: str
    at: datetime
    reason: str = ""


class PolicyDecision(BaseModel):
    """What policy concluded about a request, before any human looked at it."""

    risk: Risk
    risk_reasons: list[str]
    rule: str
    required_approvals: int
    eligible_groups: list[str]
    approvers: list[str] = Field(description="Slack user IDs allowed to vote")
    approver_usergroups: list[str] = Field(description="Slack user-group IDs allowed to vote")
    channel: str
    ttl_seconds: int
    reminders: list[int] = Field(description="Seconds after creation")
    escalate_after: int | None = None
    escalation_channel: str | None = None
    auto_approve: bool = False
    deny: bool = False
    deny_reason: str = ""


class ApprovalRequest(BaseModel):
    """A stored request with its current state, as agents and adapters see it."""

    id: str
    agent: str
    agent_owner: str | None = None
    status: Status
    risk: Risk
    risk_reasons: list[str]
    rule: str
    required_approvals: int
    eligible_groups: list[str]
    channel: str
    approvals: list[Approval] = Field(default_factory=list)
    denial: Denial | None = None
    decided_by: str | None = Field(
        default=None, description="`policy`, `system` (expiry), an agent or a Slack user ID"
    )
    cancel_reason: str = ""
    created_at: datetime
    expires_at: datetime
    decided_at: datetime | None = None
    action_hash: str
    grant: str | None = None

    action: str
    summary: str
    resource: str = ""
    environment: str = ""
    command: str | list[str] = ""
    diff: str = ""
    scope: Scope = Field(default_factory=Scope)
    justification: str = ""
    on_behalf_of: str | None = None
    ttl_seconds: int
    callback_url: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    metadata: dict[str, Any] = Field(default_factory=dict)

    def executable(self) -> dict[str, Any]:
        """The parts of the request that define what will run (what `action_hash` covers)."""
        return executable(self)


class RequestEvent(StrEnum):
    """What happened to a request; adapters (Slack, webhooks) act on these."""

    created = "created"
    voted = "voted"
    decided = "decided"
    reminder = "reminder"
    escalation = "escalation"


def to_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def from_ms(ms: int | float | str) -> datetime:
    return datetime.fromtimestamp(int(ms) / 1000, tz=UTC)
