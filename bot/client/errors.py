"""What the client raises on purpose.

ClientError                  base of everything the client raises on purpose
├── Unreachable              Countersign could not be reached (network, 5xx) in time
├── ApiError                 the server refused the call (`status_code`, `code`, `message`)
├── GrantMismatch            approved, but the grant does not cover what is about to run
├── BadSignature             a webhook delivery whose signature or age is wrong
└── NotApproved              the request ended without approval (`request` says how)
    ├── Denied               `approver` and `reason`
    ├── Expired              nobody decided in time; never an approval
    └── Cancelled
"""

from __future__ import annotations

from collections.abc import Callable

from bot.models import ApprovalRequest, Status


class ClientError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Unreachable(ClientError):
    pass


class ApiError(ClientError):
    def __init__(self, status_code: int, code: str, message: str) -> None:
        super().__init__(f"{status_code} {code}: {message}")
        self.status_code = status_code
        self.code = code


class GrantMismatch(ClientError):
    def __init__(self, request: ApprovalRequest, reason: str) -> None:
        super().__init__(f"Request {request.id} was approved, but its grant is refused: {reason}")
        self.request = request
        self.reason = reason


class BadSignature(ClientError):
    pass


class NotApproved(ClientError):
    def __init__(self, request: ApprovalRequest, message: str) -> None:
        super().__init__(message)
        self.request = request


class Denied(NotApproved):
    def __init__(self, request: ApprovalRequest) -> None:
        denial = request.denial
        self.approver = denial.user if denial else request.decided_by or ""
        self.reason = denial.reason if denial else ""
        super().__init__(request, f"Denied by {self.approver}: {self.reason or '(no reason)'}")


class Expired(NotApproved):
    def __init__(self, request: ApprovalRequest) -> None:
        super().__init__(request, f"Request {request.id} expired before anyone approved it.")


class Cancelled(NotApproved):
    def __init__(self, request: ApprovalRequest) -> None:
        reason = request.cancel_reason or "(no reason)"
        super().__init__(request, f"Request {request.id} was cancelled: {reason}")


_NOT_APPROVED: dict[Status, Callable[[ApprovalRequest], NotApproved]] = {
    Status.denied: Denied,
    Status.expired: Expired,
    Status.cancelled: Cancelled,
}


def require_approved(request: ApprovalRequest) -> ApprovalRequest:
    """Return an approved request; raise the matching NotApproved for any other final state."""
    if request.status in _NOT_APPROVED:
        raise _NOT_APPROVED[request.status](request)
    if request.status is not Status.approved:
        raise ValueError(f"request {request.id} is still {request.status}")
    return request
