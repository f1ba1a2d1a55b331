"""Callback deliveries: the decided request, POSTed to the agent's `callback_url`.

Each body is signed: `X-Countersign-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of
"<t>.<body>">` with the deployment's webhook secret. Delivery runs from the durable outbox,
so restarts lose nothing and failures retry with backoff.
"""

from __future__ import annotations

import hashlib
import hmac
import time

import httpx

from bot.outbox import Job, RetryLater, backoff
from bot.service import ApprovalService

SIGNATURE_HEADER = "X-Countersign-Signature"
TOLERANCE_SECONDS = 300


def sign(secret: str, body: bytes, timestamp: int) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify(
    secret: str,
    body: bytes,
    header: str,
    *,
    now: float | None = None,
    tolerance: int = TOLERANCE_SECONDS,
) -> bool:
    """Check a delivery's signature and freshness."""
    try:
        parts = dict(item.split("=", 1) for item in header.split(","))
        timestamp = int(parts["t"])
    except (ValueError, KeyError):
        return False
    if abs((now if now is not None else time.time()) - timestamp) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, body, timestamp), header)


class WebhookSink:
    def __init__(self, service: ApprovalService, secret: str, client: httpx.AsyncClient) -> None:
        self.service = service
        self.secret = secret
        self.client = client

    async def __call__(self, job: Job) -> None:
        request = await self.service.get(job.request_id)
        if not request.callback_url:
            return
        body = request.model_dump_json().encode()
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign(self.secret, body, int(time.time())),
            "X-Countersign-Delivery": job.id,
        }
        response = await self.client.post(
            request.callback_url, content=body, headers=headers, follow_redirects=False
        )
        if response.status_code == 429 or response.status_code >= 500:
            wait = _retry_after(response) or backoff(job.attempts)
            raise RetryLater(wait, f"callback answered {response.status_code}")
        if response.status_code >= 400:
            raise RuntimeError(f"callback refused the delivery: {response.status_code}")


def _retry_after(response: httpx.Response) -> float | None:
    """The receiver's Retry-After in seconds, when it sent a usable one."""
    try:
        return max(1.0, float(response.headers["Retry-After"]))
    except (KeyError, ValueError):
        return None
