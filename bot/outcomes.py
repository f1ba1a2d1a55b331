"""What policy alone decides about a request: approve it, deny it, or ask people."""

from __future__ import annotations

from enum import StrEnum

from bot.models import ApprovalRequest, PolicyDecision, Status


class Outcome(StrEnum):
    approved = "approved"
    needs_approval = "needs approval"
    denied = "denied"

    @property
    def label(self) -> str:
        """As `countersign policy check` reports it: 'approved by policy', 'needs approval'."""
        return self.value if self is Outcome.needs_approval else f"{self.value} by policy"


def outcome_of(decision: PolicyDecision) -> Outcome:
    """A forbidding rule wins over auto-approval, as when a request is submitted."""
    if decision.deny:
        return Outcome.denied
    if decision.auto_approve:
        return Outcome.approved
    return Outcome.needs_approval


def stored_outcome(request: ApprovalRequest) -> Outcome:
    """What policy decided when the request was made: only a decision by `policy` was its own;
    anything people (or expiry) decided later had needed approval."""
    if request.decided_by != "policy":
        return Outcome.needs_approval
    return Outcome.denied if request.status is Status.denied else Outcome.approved
