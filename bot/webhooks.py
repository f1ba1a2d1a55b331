"""Callback deliveries: the decided request, POSTed to the agent's `callback_url`.

Each body is signed: `X-Countersign-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of
"<t>.<body>">` with the deployment's webhook secret. Delivery runs from the durable outbox,
so restarts lose nothing and failures retry with backoff.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import ipaddress
import logging
import socket
import time

import httpx

from bot.outbox import Job, RetryLater
from bot.service import ApprovalService

SIGNATURE_HEADER = "X-Countersign-Signature"
TOLERANCE_SECONDS = 300

log = logging.getLogger(__name__)


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


class CallbackFailed(Exception):
    """The receiver refused the delivery, answered with a server error, or was not found."""


class EgressRefused(Exception):
    """The callback host resolves into a private network; nothing is sent."""


class WebhookSink:
    def __init__(self, service: ApprovalService, secret: str, client: httpx.AsyncClient) -> None:
        self.service = service
        self.secret = secret
        self.client = client

    async def __call__(self, job: Job) -> None:
        request = await self.service.get(job.request_id)
        if not request.callback_url:
            return
        url = httpx.URL(request.callback_url)
        try:
            address = await public_address(
                url.host, url.port or (443 if url.scheme == "https" else 80)
            )
        except EgressRefused as exc:
            log.error("callback for %s not sent: %s", request.id, exc)
            return  # a permanent refusal: retrying cannot make the address public
        body = request.model_dump_json().encode()
        headers = {
            "Content-Type": "application/json",
            "Host": url.netloc.decode("ascii"),
            SIGNATURE_HEADER: sign(self.secret, body, int(time.time())),
            "X-Countersign-Delivery": job.id,
        }
        # Connect to the address that was checked (no second DNS answer), reading no body.
        pinned = url.copy_with(host=address)
        async with self.client.stream(
            "POST",
            pinned,
            content=body,
            headers=headers,
            extensions={"sni_hostname": url.host},
            follow_redirects=False,
        ) as response:
            _raise_for(response, job)


def _raise_for(response: httpx.Response, job: Job) -> None:
    if response.status_code == 429:
        raise RetryLater(_retry_after(response) or 30.0, "callback answered 429")
    if response.status_code >= 400:
        raise CallbackFailed(f"callback answered {response.status_code}")


async def public_address(host: str, port: int) -> str:
    """The address to connect to: an IP literal as given (the operator allowlisted exactly it),
    or a name's address when every address it resolves to is public."""
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        pass
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise CallbackFailed(f"cannot resolve {host}: {exc}") from exc
    addresses = [ipaddress.ip_address(info[4][0]) for info in infos]
    private = [str(a) for a in addresses if not a.is_global]
    if private or not addresses:
        raise EgressRefused(f"{host} resolves to non-public address(es) {', '.join(private)}")
    return str(addresses[0])


def _retry_after(response: httpx.Response) -> float | None:
    """The receiver's Retry-After in seconds, when it sent a usable one."""
    try:
        return max(1.0, float(response.headers["Retry-After"]))
    except (KeyError, ValueError):
        return None
