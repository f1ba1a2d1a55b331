"""Server-side policy: which rule applies to a request, how risky it is, who must agree.

Policy lives in `<config dir>/policy.yaml` (documented in the README). Rules are matched in
order; the first match wins. Built-in detectors then raise risk (never lower it), and the
two-person rule is enforced as a floor for high and critical risk.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from fnmatch import fnmatchcase
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from bot import detectors
from bot.errors import ConfigError
from bot.models import PolicyDecision, RequestIn, Risk
from bot.reading import Budget, Reading, read_request, warm
from bot.reading.patterns import CommandPattern

log = logging.getLogger(__name__)

TWO_PERSON_FLOOR = 2
READING_SECONDS = 2.0  # a request whose reading takes longer is rated too large to read
INLINE_READING_BYTES = 8 * 1024  # larger commands, params and diffs are read off the loop
_DURATION = re.compile(r"^\s*(\d+)\s*(s|m|h|d)?\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, None: 1}


def parse_duration(value: Any) -> int:
    """'90s', '10m', '2h', '1d' or a number of seconds -> seconds."""
    if isinstance(value, bool):
        raise ValueError(f"invalid duration {value!r}")
    if isinstance(value, int):
        return value
    match = _DURATION.match(str(value))
    if not match:
        raise ValueError(f"invalid duration {value!r}; use e.g. 30s, 10m, 2h, 1d")
    return int(match.group(1)) * _UNITS[match.group(2)]


Duration = Annotated[int, BeforeValidator(parse_duration), Field(gt=0)]
Globs = Annotated[list[str], BeforeValidator(lambda v: [v] if isinstance(v, str) else v)]
SlackUser = Annotated[str, Field(pattern=r"^[UW][A-Z0-9]{2,20}$")]
SlackUserGroup = Annotated[str, Field(pattern=r"^S[A-Z0-9]{2,20}$")]
Email = Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", max_length=254)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Group(_Strict):
    """Approvers named by Slack user ID and by Slack user-group ID."""

    users: list[SlackUser] = Field(default_factory=list)
    usergroups: list[SlackUserGroup] = Field(default_factory=list)


class Auditors(Group):
    """Who may read history: in Slack by user and user group, in the console by the e-mail an
    SSO proxy vouches for."""

    emails: list[Email] = Field(default_factory=list)


class Match(_Strict):
    action: Globs = Field(default_factory=lambda: ["*"])
    environment: Globs = Field(default_factory=lambda: ["*"])
    resource: Globs = Field(default_factory=lambda: ["*"])
    agent: Globs = Field(default_factory=lambda: ["*"])

    def matches(self, request: RequestIn, agent: str) -> bool:
        """Globs compare case-insensitively: `PROD` is no way around a rule for `prod`."""
        pairs = [
            (request.action, self.action),
            (request.environment, self.environment),
            (request.resource, self.resource),
            (agent, self.agent),
        ]
        return all(
            any(fnmatchcase(value.lower(), g.lower()) for g in globs) for value, globs in pairs
        )


class Defaults(_Strict):
    channel: str = "#approvals"
    timeout: Duration = 600
    reminders: list[Duration] = Field(default_factory=lambda: [300])
    escalate_after: Duration | None = None
    escalation_channel: str | None = None
    groups: list[str] = Field(default_factory=list)


class Rule(_Strict):
    name: str = Field(min_length=1, max_length=100)
    match: Match = Field(default_factory=Match)
    risk: Risk = Risk.medium
    approvals: int = Field(default=1, ge=1, le=10)
    groups: list[str] | None = None
    channel: str | None = None
    timeout: Duration | None = None
    reminders: list[Duration] | None = None
    escalate_after: Duration | None = None
    escalation_channel: str | None = None
    auto_approve: bool = False
    commands: list[str] = Field(
        default_factory=list,
        description="patterns of the only commands auto_approve may approve, matched against "
        "the parsed command (e.g. 'kubectl get *', 'aws * describe-*')",
    )
    deny: str | None = Field(default=None, description="Forbid the action, with this reason")

    @field_validator("commands")
    @classmethod
    def _patterns_parse(cls, commands: list[str]) -> list[str]:
        for text in commands:
            CommandPattern.parse(text)
        return commands

    @cached_property
    def patterns(self) -> list[CommandPattern]:
        """The `commands` patterns, parsed once (the validator has checked them)."""
        return [CommandPattern.parse(text) for text in self.commands]

    @model_validator(mode="after")
    def _auto_approve_low_only(self) -> Rule:
        if self.auto_approve and self.risk is not Risk.low:
            raise ValueError("auto_approve is allowed only for rules with risk: low")
        if self.auto_approve and self.deny:
            raise ValueError("a rule cannot both auto_approve and deny")
        return self


class PolicyConfig(_Strict):
    defaults: Defaults = Field(default_factory=Defaults)
    production_environments: list[str] = Field(
        default_factory=lambda: ["prod", "prod-*", "prod_*", "production*", "live", "*-prod"]
    )
    groups: dict[str, Group] = Field(default_factory=dict)
    auditors: Auditors = Field(default_factory=Auditors)
    rules: list[Rule] = Field(default_factory=list)

    @model_validator(mode="after")
    def _groups_exist(self) -> PolicyConfig:
        named = [("defaults.groups", g) for g in self.defaults.groups]
        for index, rule in enumerate(self.rules):
            named += [(f"rules[{index}] ({rule.name}).groups", g) for g in rule.groups or []]
        for place, group in named:
            if group not in self.groups:
                raise ValueError(f"{place}: unknown group {group!r}; define it under groups:")
        if not self.defaults.groups:
            raise ValueError("defaults.groups: name at least one approver group")
        return self


class Policy:
    """Evaluates requests against a validated `PolicyConfig`."""

    def __init__(self, config: PolicyConfig, source: str = "<memory>") -> None:
        self.config = config
        self.source = source
        warm()

    @classmethod
    def load(cls, directory: Path) -> Policy:
        return cls(load_config(directory / "policy.yaml"), str(directory / "policy.yaml"))

    def evaluate(
        self, request: RequestIn, agent: str, budget: Budget | None = None
    ) -> PolicyDecision:
        """Rate a request. An error while evaluating fails closed: the request is critical."""
        try:
            return self._evaluate(request, agent, budget or Budget(READING_SECONDS))
        except Exception:
            log.exception("policy evaluation failed; treating request as critical")
            return self._fail_closed()

    async def rate(self, request: RequestIn, agent: str) -> PolicyDecision:
        """`evaluate` for the event loop: a request too large to read in well under a
        millisecond is read in a worker thread, still bounded by its reading budget."""
        if _reading_size(request) <= INLINE_READING_BYTES:
            return self.evaluate(request, agent)
        return await asyncio.to_thread(self.evaluate, request, agent)

    def is_auditor(self, user: str, usergroups: set[str]) -> bool:
        return user in self.config.auditors.users or bool(
            usergroups & set(self.config.auditors.usergroups)
        )

    def is_auditor_email(self, email: str) -> bool:
        """E-mail addresses compare case-insensitively, as mail systems treat them."""
        return email.strip().lower() in {e.lower() for e in self.config.auditors.emails}

    def _evaluate(self, request: RequestIn, agent: str, budget: Budget) -> PolicyDecision:
        rule = self._match(request, agent)
        reading = read_request(request, budget)
        findings = self._findings(request, reading)
        risk = rule.risk if rule else Risk.high
        reasons = [f"rule {rule.name}: {rule.risk}" if rule else "no rule matched: high"]
        for finding in findings:
            risk = risk.at_least(finding.risk)
            reasons.append(finding.reason)
        if request.risk_hint and request.risk_hint.rank > risk.rank:
            risk = request.risk_hint
            reasons.append(f"agent rated it {request.risk_hint}")
        decision = self._decision(rule, risk, reasons)
        if decision.auto_approve and not _auto_approvable(rule, request, reading):
            why = "not approved automatically: its command or diff is not allowlisted"
            update = {"auto_approve": False, "risk_reasons": [*decision.risk_reasons, why]}
            decision = decision.model_copy(update=update)
        return decision

    def _match(self, request: RequestIn, agent: str) -> Rule | None:
        return next((r for r in self.config.rules if r.match.matches(request, agent)), None)

    def _findings(self, request: RequestIn, reading: Reading) -> list[detectors.Finding]:
        command = detectors.command_text(request.command)
        production = self.config.production_environments
        found = [
            *detectors.action_findings(request.action),
            *detectors.reading_findings(reading),
            *detectors.scope_findings(request.scope.permissions, request.scope.resources),
            *detectors.environment_findings(request.environment, production),
            *detectors.hidden_text_findings(command, request.diff),
        ]
        is_prod = bool(detectors.environment_findings(request.environment, production))
        return detectors.combine(found, production=is_prod)

    def _decision(self, rule: Rule | None, risk: Risk, reasons: list[str]) -> PolicyDecision:
        d = self.config.defaults
        group_names = (rule.groups if rule and rule.groups else None) or d.groups
        required = rule.approvals if rule else TWO_PERSON_FLOOR
        if risk.rank >= Risk.high.rank and required < TWO_PERSON_FLOOR:
            required = TWO_PERSON_FLOOR
            reasons.append("two-person rule: high and critical risk need two approvers")
        users, usergroups = self._members(group_names)
        return PolicyDecision(
            risk=risk,
            risk_reasons=reasons,
            rule=rule.name if rule else "(none)",
            required_approvals=required,
            eligible_groups=list(group_names),
            approvers=users,
            approver_usergroups=usergroups,
            channel=(rule.channel if rule and rule.channel else None) or d.channel,
            ttl_seconds=(rule.timeout if rule and rule.timeout else None) or d.timeout,
            reminders=(rule.reminders if rule and rule.reminders is not None else d.reminders),
            escalate_after=(rule.escalate_after if rule else None) or d.escalate_after,
            escalation_channel=(rule.escalation_channel if rule else None) or d.escalation_channel,
            auto_approve=bool(rule and rule.auto_approve and risk is Risk.low),
            deny=bool(rule and rule.deny),
            deny_reason=(rule.deny or "") if rule else "",
        )

    def _members(self, group_names: list[str]) -> tuple[list[str], list[str]]:
        users: list[str] = []
        usergroups: list[str] = []
        for name in group_names:
            group = self.config.groups[name]
            users += [u for u in group.users if u not in users]
            usergroups += [g for g in group.usergroups if g not in usergroups]
        return users, usergroups

    def _fail_closed(self) -> PolicyDecision:
        decision = self._decision(None, Risk.critical, ["policy evaluation failed: critical"])
        return decision.model_copy(update={"rule": "(error)"})


def _auto_approvable(rule: Rule | None, request: RequestIn, reading: Reading) -> bool:
    """Policy approves alone only what it can read whole: no diff, nothing found in the
    command or params, and either no command or one simple read that a pattern allows."""
    if rule is None or request.diff or reading.findings:
        return False
    if not request.command:
        return True
    if not reading.simple_command:
        return False
    [step] = reading.steps
    return step.effect == "read" and any(p.matches(step) for p in rule.patterns)


def _reading_size(request: RequestIn) -> int:
    params = len(json.dumps(request.params)) if request.params else 0
    return len(detectors.command_text(request.command)) + len(request.diff) + params


def load_config(path: Path) -> PolicyConfig:
    """Read and validate a policy file; any problem raises ConfigError naming the place."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: policy file is missing") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level")
    try:
        return PolicyConfig.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(f"{path}: {describe(exc)}") from None


def describe(exc: ValidationError) -> str:
    """The first validation problem as 'place: message'."""
    problems = []
    for error in exc.errors():
        place = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error["loc"])
        problems.append(f"{place.lstrip('.') or '(top)'}: {error['msg']}")
    return "; ".join(problems)
