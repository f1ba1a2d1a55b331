"""Replaying history under a candidate policy: what would it have decided differently?

`countersign policy replay` reads the requests created within a window (newest first, through
`bot.history`, so only reads), rates each again under the candidate policy as the agent that
made it, and compares with what was stored: risk, required approvals and policy's own outcome
(approved or denied at once, or asked people). Nothing is written.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from bot import history
from bot.history import HistoryFilter
from bot.models import ApprovalRequest, PolicyDecision, RequestIn, Risk
from bot.outcomes import Outcome, outcome_of, stored_outcome
from bot.policy import Policy, describe
from bot.store import Store

# The stored document leaves out the agent's own risk_hint; the reason policy recorded for it
# gives it back, so a replay does not report a drop in risk that only the hint's absence made.
_AGENT_RATING = re.compile(r"^agent rated it (low|medium|high|critical)$")
# What RequestIn takes back from a stored request. ttl_seconds (stored as policy's, not the
# agent's) and callback_url have no bearing on a rating.
_REQUEST_FIELDS = {
    "action",
    "summary",
    "resource",
    "environment",
    "command",
    "diff",
    "scope",
    "justification",
    "on_behalf_of",
    "params",
    "metadata",
}
_BEFORE = {
    Outcome.approved: "auto-approved",
    Outcome.needs_approval: "that waited for approval",
    Outcome.denied: "denied by policy",
}
_AFTER = {
    Outcome.approved: "be auto-approved",
    Outcome.needs_approval: "wait for approval",
    Outcome.denied: "be denied",
}


@dataclass(frozen=True)
class Rating:
    """What policy concluded about one request: the part a replay compares."""

    risk: Risk
    approvals: int
    outcome: Outcome
    rule: str

    @classmethod
    def of(cls, decision: PolicyDecision) -> Rating:
        return cls(decision.risk, decision.required_approvals, outcome_of(decision), decision.rule)

    @classmethod
    def stored(cls, request: ApprovalRequest) -> Rating:
        outcome = stored_outcome(request)
        return cls(request.risk, request.required_approvals, outcome, request.rule)

    def as_json(self) -> dict[str, Any]:
        return {
            "risk": self.risk.value,
            "approvals": self.approvals,
            "outcome": self.outcome.value,
            "rule": self.rule,
        }


@dataclass(frozen=True)
class Change:
    """One stored request, as stored and as the candidate policy rates it. It keeps only what
    the report names, not the request (whose diff alone may be a MiB)."""

    id: str
    agent: str
    action: str
    created_at: datetime
    old: Rating
    new: Rating

    @classmethod
    def of(cls, stored: ApprovalRequest, new: Rating) -> Change:
        old = Rating.stored(stored)
        return cls(stored.id, stored.agent, stored.action, stored.created_at, old, new)

    @property
    def approvals_changed(self) -> bool:
        """Counted only while people are asked both times: approved or denied by policy, the
        number of approvals is moot (and an outcome change is reported instead)."""
        asked = self.old.outcome is self.new.outcome is Outcome.needs_approval
        return asked and self.old.approvals != self.new.approvals

    @property
    def changed(self) -> bool:
        old, new = self.old, self.new
        return old.risk is not new.risk or old.outcome is not new.outcome or self.approvals_changed

    def __str__(self) -> str:
        old, new = self.old, self.new
        parts = []
        if old.risk is not new.risk:
            parts.append(f"risk {old.risk} -> {new.risk}")
        if self.approvals_changed:
            parts.append(f"approvals {old.approvals} -> {new.approvals}")
        if old.outcome is not new.outcome:
            needs = (
                f" ({_approvals(new.approvals)})" if new.outcome is Outcome.needs_approval else ""
            )
            parts.append(f"outcome {old.outcome} -> {new.outcome}{needs}")
        if old.rule != new.rule:
            parts.append(f"rule {old.rule} -> {new.rule}")
        return f"{self.id}  {self.action}  " + "; ".join(parts)

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "agent": self.agent,
            "action": self.action,
            "created_at": self.created_at.isoformat(),
            "old": self.old.as_json(),
            "new": self.new.as_json(),
        }


@dataclass(frozen=True)
class Shift:
    """How many requests move from one value to another of risk, approvals or outcome."""

    what: str  # risk | approvals | outcome
    before: str
    after: str
    count: int

    def __str__(self) -> str:
        if self.what == "approvals":
            need = _approvals(int(self.after))
            return f"{self.count} would now need {need} instead of {self.before}"
        if self.what == "risk":
            return f"{self.count} would now be rated {self.after} instead of {self.before}"
        before, after = _BEFORE[Outcome(self.before)], _AFTER[Outcome(self.after)]
        return f"{self.count} {before} would now {after}"

    def as_json(self) -> dict[str, Any]:
        return {**self.__dict__, "text": str(self)}


@dataclass(frozen=True)
class Skipped:
    """A stored request that is no longer a valid request body, so it cannot be re-rated."""

    id: str
    reason: str


@dataclass
class Report:
    """What a replay found; `policy` names the candidate (its file)."""

    policy: str
    since: datetime
    limit: int
    replayed: int = 0
    changes: list[Change] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    truncated: bool = False  # stopped at `limit`; older requests were not read

    def shifts(self) -> list[Shift]:
        """Counts of each change: approvals first, then outcomes, then risk."""
        changes = self.changes
        approvals = Counter(
            (str(c.old.approvals), str(c.new.approvals)) for c in changes if c.approvals_changed
        )
        outcomes = Counter((c.old.outcome.value, c.new.outcome.value) for c in changes)
        risks = Counter((c.old.risk.value, c.new.risk.value) for c in changes)
        return [
            Shift(what, before, after, count)
            for what, counter in (("approvals", approvals), ("outcome", outcomes), ("risk", risks))
            for (before, after), count in sorted(counter.items(), key=_most_first)
            if before != after
        ]

    def as_json(self) -> dict[str, Any]:
        return {
            "policy": self.policy,
            "since": self.since.isoformat(),
            "limit": self.limit,
            "replayed": self.replayed,
            "changed": len(self.changes),
            "truncated": self.truncated,
            "summary": [shift.as_json() for shift in self.shifts()],
            "changes": [change.as_json() for change in self.changes],
            "skipped": [skipped.__dict__ for skipped in self.skipped],
        }


async def replay(store: Store, policy: Policy, label: str, since: datetime, limit: int) -> Report:
    """Re-rate up to `limit` requests created at or after `since`, newest first."""
    report = Report(label, since, limit)
    async for stored in history.iterate(store, HistoryFilter(since=since)):
        if report.replayed + len(report.skipped) >= limit:
            report.truncated = True
            break
        _rerate(report, stored, policy)
    return report


def _rerate(report: Report, stored: ApprovalRequest, policy: Policy) -> None:
    try:
        body = request_of(stored)
    except ValidationError as exc:
        report.skipped.append(Skipped(stored.id, describe(exc)))
        return
    report.replayed += 1
    change = Change.of(stored, Rating.of(policy.evaluate(body, stored.agent)))
    if change.changed:
        report.changes.append(change)


def request_of(stored: ApprovalRequest) -> RequestIn:
    """The request body as the agent sent it, near enough to rate it again."""
    fields = stored.model_dump(mode="json", include=_REQUEST_FIELDS)
    return RequestIn.model_validate({**fields, "risk_hint": _agent_rating(stored)})


def _agent_rating(stored: ApprovalRequest) -> Risk | None:
    for reason in stored.risk_reasons:
        if match := _AGENT_RATING.match(reason):
            return Risk(match.group(1))
    return None


def _most_first(item: tuple[tuple[str, str], int]) -> tuple[int, str, str]:
    """Most common first; ties in a fixed order, whatever order the requests came in."""
    (before, after), count = item
    return -count, before, after


def _approvals(count: int) -> str:
    return f"{count} approval{'' if count == 1 else 's'}"
