"""Python client for agents: ask Countersign, wait for the decision, act only on a matching grant.

    from bot.client import Countersign, Denied, require_approval

    with Countersign.from_env() as cs:                 # COUNTERSIGN_URL, COUNTERSIGN_TOKEN
        approved = cs.request_approval({"action": "deploy.web", "summary": "Deploy web 1.4"})

Errors are drawn in `bot.client.errors`; the HTTP conversations live in `bot.client.flows`.
"""

from __future__ import annotations

from bot import webhooks
from bot.client.clients import AsyncCountersign, Countersign, settings_from_env
from bot.client.decorator import require_approval
from bot.client.errors import (
    ApiError,
    BadSignature,
    Cancelled,
    ClientError,
    Denied,
    Expired,
    GrantMismatch,
    NotApproved,
    Unreachable,
    require_approved,
)
from bot.models import ApprovalRequest


def verify_webhook(
    body: bytes, signature: str, secret: str, *, now: float | None = None
) -> ApprovalRequest:
    """Check a callback's `X-Countersign-Signature` header and return the request it carries."""
    if not webhooks.verify(secret, body, signature, now=now):
        raise BadSignature("Webhook signature is invalid or too old.")
    return ApprovalRequest.model_validate_json(body)


__all__ = [
    "ApiError",
    "AsyncCountersign",
    "BadSignature",
    "Cancelled",
    "ClientError",
    "Countersign",
    "Denied",
    "Expired",
    "GrantMismatch",
    "NotApproved",
    "Unreachable",
    "require_approval",
    "require_approved",
    "settings_from_env",
    "verify_webhook",
]
