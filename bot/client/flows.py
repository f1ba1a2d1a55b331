"""The client's HTTP conversations, written once as generators (sans-I/O).

A flow yields `Call` (send this, give me the response) and `Sleep` steps; the sync and async
clients drive the same flows with httpx's two clients. Network errors are thrown into the
flow, which decides whether to retry.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from bot.client.errors import ApiError, ClientError, GrantMismatch, Unreachable, require_approved
from bot.grants import GrantCheck, verify_grant
from bot.models import ApprovalRequest, RequestIn

POLL_SECONDS = 25.0  # below the server's 55 s cap and most proxies' idle timeouts
RECONNECT_PATIENCE = 60.0  # seconds of failed attempts before giving up as Unreachable
RETRY_STATUSES = {429, 502, 503, 504}

Progress = Callable[[ApprovalRequest], None]


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    json: Any = None
    params: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    timeout: float | None = None


@dataclass(frozen=True)
class Sleep:
    seconds: float


Flow = Generator[Call | Sleep, httpx.Response | None, Any]


def _error_of(response: httpx.Response) -> ApiError:
    try:
        error = response.json()["error"]
        return ApiError(response.status_code, error["code"], error["message"])
    except (ValueError, KeyError, TypeError):
        return ApiError(response.status_code, "error", response.text[:500])


def _retry_delay(attempt: int, response: httpx.Response | None) -> float:
    if response is not None and response.headers.get("Retry-After", "").isdigit():
        return float(response.headers["Retry-After"])
    return min(0.2 * 2.0**attempt, 5.0)


def send(call: Call, patience: float = RECONNECT_PATIENCE) -> Flow:
    """One call, retried through network errors and 429/5xx until `patience` runs out."""
    give_up = time.monotonic() + patience
    attempt = 0
    while True:
        response: httpx.Response | None = None
        problem = ""
        try:
            response = yield call
        except httpx.TransportError as exc:
            problem = f"{type(exc).__name__}: {exc}"
        if response is not None and response.status_code not in RETRY_STATUSES:
            if response.status_code >= 400:
                raise _error_of(response)
            return response
        problem = problem or f"HTTP {response.status_code if response else '?'}"
        delay = _retry_delay(attempt, response)
        if time.monotonic() + delay > give_up:
            raise Unreachable(f"Countersign is unreachable ({problem}).")
        attempt += 1
        yield Sleep(delay)


def request(call: Call, patience: float = RECONNECT_PATIENCE) -> Flow:
    response = yield from send(call, patience)
    return ApprovalRequest.model_validate_json(response.content)


def create(body: RequestIn, idempotency_key: str | None, patience: float) -> Flow:
    # The key makes a retry after a lost response return the same request, not a second one.
    headers = {"Idempotency-Key": idempotency_key or f"cs-client-{uuid.uuid4().hex}"}
    payload = body.model_dump(mode="json", exclude_unset=True)
    return (yield from request(Call("POST", "/v1/requests", payload, headers=headers), patience))


def get(request_id: str) -> Flow:
    return (yield from request(Call("GET", f"/v1/requests/{request_id}")))


def wait(
    request_id: str,
    timeout: float | None,
    poll: float,
    on_update: Progress | None,
    patience: float = RECONNECT_PATIENCE,
) -> Flow:
    """Long-poll until decided (or `timeout` passes); reconnects through dropped connections."""
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        left = poll if deadline is None else max(0.0, min(poll, deadline - time.monotonic()))
        call = Call(
            "GET",
            f"/v1/requests/{request_id}",
            params={"wait": round(left, 1)},
            timeout=left + 15,
        )
        found = yield from request(call, patience)
        if found.status.terminal or (deadline is not None and time.monotonic() >= deadline):
            return found
        if on_update is not None:
            on_update(found)


def cancel(request_id: str, reason: str) -> Flow:
    call = Call("POST", f"/v1/requests/{request_id}/cancel", {"reason": reason})
    return (yield from request(call))


def public_key() -> Flow:
    response = yield from send(Call("GET", "/v1/keys"))
    key = serialization.load_pem_public_key(response.json()["pem"].encode())
    if not isinstance(key, Ed25519PublicKey):
        raise ClientError("Countersign's /v1/keys did not return an Ed25519 key.")
    return key


def verify_remote(grant: str, action_hash: str | None) -> Flow:
    body = {"grant": grant, "action_hash": action_hash}
    response = yield from send(Call("POST", "/v1/grants/verify", body))
    found = response.json()
    return GrantCheck(found["valid"], found.get("reason", ""), found.get("claims"))


def approval(
    body: RequestIn, timeout: float | None, poll: float, on_update: Progress | None, patience: float
) -> Flow:
    """Create, wait and check: ends only with an approved request whose grant covers `body`."""
    found = yield from create(body, None, patience)
    if not found.status.terminal and on_update is not None:
        on_update(found)  # callers learn the id at once, e.g. to cancel on Ctrl-C
    if not found.status.terminal:
        found = yield from wait(found.id, timeout, poll, on_update, patience)
    if not found.status.terminal:
        found = yield from _give_up(found.id)
    require_approved(found)
    key = yield from public_key()
    check_grant(key, found, body.action_hash())
    return found


def _give_up(request_id: str) -> Flow:
    """Withdraw a request nobody decided within the caller's timeout."""
    try:
        return (yield from cancel(request_id, "the agent stopped waiting"))
    except ApiError as exc:
        if exc.code != "already_decided":
            raise
    return (yield from get(request_id))


def check_grant(key: Ed25519PublicKey, approved: ApprovalRequest, expected_hash: str) -> None:
    """Raise GrantMismatch unless the grant is valid, for this request, and for `expected_hash`."""
    if approved.grant is None:
        raise GrantMismatch(approved, "the approved request carries no grant")
    check = verify_grant(key, approved.grant, action_hash=expected_hash, now=datetime.now(UTC))
    if not check.valid:
        raise GrantMismatch(approved, check.reason)
    if check.claims is None or check.claims.get("request_id") != approved.id:
        raise GrantMismatch(approved, "the grant names a different request")
