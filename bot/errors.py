"""Errors of the approval domain.

Every error carries its data and a human message; adapters translate them at the edge
(HTTP status codes in `bot.api.errors`, Slack ephemeral messages in the Slack package).

    CountersignError
    ├── ConfigError              invalid settings or policy; start-up stops
    ├── NotFound                 no such request (or not visible to this agent)
    ├── ContactNotFound          no such question to humans (HumanLayer contact request)
    ├── IdempotencyConflict      same Idempotency-Key, different body
    ├── Forbidden                the agent may not ask for this action / environment
    ├── PolicyDenied             policy forbids the action (the request is still recorded)
    └── VoteRefused              a vote the rules do not allow; `code` says which rule
        ├── NotEligible          not_eligible
        ├── SelfApproval         self_approval
        ├── AlreadyVoted         already_voted
        ├── AlreadyDecided       already_decided
        └── RequestExpired       expired
"""

from __future__ import annotations


class CountersignError(Exception):
    """Base of every error Countersign raises on purpose."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ConfigError(CountersignError):
    """Configuration is missing or invalid; names the file, the place and the problem."""


class NotFound(CountersignError):
    def __init__(self, request_id: str) -> None:
        super().__init__(f"Request {request_id!r} was not found.")
        self.request_id = request_id


class ContactNotFound(CountersignError):
    code = "not_found"

    def __init__(self, contact_id: str) -> None:
        super().__init__(f"Contact request {contact_id!r} was not found.")
        self.contact_id = contact_id


class IdempotencyConflict(CountersignError):
    def __init__(self, key: str) -> None:
        super().__init__(f"Idempotency-Key {key!r} was already used with a different request body.")
        self.key = key


class Forbidden(CountersignError):
    """The caller is authenticated but not allowed to do this."""


class VoteRefused(CountersignError):
    """A vote the rules do not allow. Nothing changed."""

    code = "refused"

    def __init__(self, message: str, *, user: str, request_id: str, status: str = "") -> None:
        super().__init__(message)
        self.user = user
        self.request_id = request_id
        self.status = status


class NotEligible(VoteRefused):
    code = "not_eligible"


class SelfApproval(VoteRefused):
    code = "self_approval"


class AlreadyVoted(VoteRefused):
    code = "already_voted"


class AlreadyDecided(VoteRefused):
    code = "already_decided"


class RequestExpired(VoteRefused):
    code = "expired"


def vote_refusal(code: str, *, user: str, request_id: str, status: str = "") -> VoteRefused:
    """Build the refusal for a code returned by the vote script."""
    messages = {
        "not_eligible": "You are not in a group that may approve this request.",
        "self_approval": "You cannot vote on a request made on your behalf or by your own agent.",
        "already_voted": "You have already voted on this request.",
        "already_decided": f"This request is already {status or 'decided'}; votes are closed.",
        "expired": "This request has expired; votes are closed.",
    }
    cls = {c.code: c for c in VoteRefused.__subclasses__()}[code]
    return cls(messages[code], user=user, request_id=request_id, status=status)
