"""`Countersign` (blocking) and `AsyncCountersign`: thin drivers of the flows in `flows.py`."""

from __future__ import annotations

import asyncio
import os
import time
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from bot.client import flows
from bot.client.flows import POLL_SECONDS, RECONNECT_PATIENCE, Call, Flow, Progress, Sleep
from bot.errors import ConfigError
from bot.grants import GrantCheck, verify_grant
from bot.models import ApprovalRequest, RequestIn

Body = RequestIn | dict[str, Any]


def settings_from_env() -> tuple[str, str]:
    """COUNTERSIGN_URL and COUNTERSIGN_TOKEN, or a ConfigError naming the missing one."""
    found = []
    for name in ("COUNTERSIGN_URL", "COUNTERSIGN_TOKEN"):
        value = os.environ.get(name, "").strip()
        if not value:
            raise ConfigError(f"Config '{name}' is missing, and has no default.")
        found.append(value)
    return found[0], found[1]


def as_request(body: Body) -> RequestIn:
    return body if isinstance(body, RequestIn) else RequestIn.model_validate(body)


def _client_options(url: str, token: str, timeout: float) -> dict[str, Any]:
    return {
        "base_url": url.rstrip("/"),
        "headers": {"Authorization": f"Bearer {token}", "User-Agent": "countersign-client"},
        "timeout": timeout,
    }


def _build(http: httpx.Client | httpx.AsyncClient, call: Call) -> httpx.Request:
    timeout = httpx.USE_CLIENT_DEFAULT if call.timeout is None else call.timeout
    return http.build_request(
        call.method,
        call.path,
        json=call.json,
        params=call.params,
        headers=call.headers,
        timeout=timeout,
    )


def _verify_offline(key: Ed25519PublicKey, grant: str, action_hash: str | None) -> GrantCheck:
    return verify_grant(key, grant, action_hash=action_hash, now=datetime.now(UTC))


HttpT = TypeVar("HttpT", httpx.Client, httpx.AsyncClient)
ClientT = TypeVar("ClientT", bound="_Base[Any]")


class _Base(Generic[HttpT]):
    """Settings both clients share; each subclass says how to make its httpx client."""

    def __init__(
        self,
        url: str,
        token: str,
        *,
        http_timeout: float = 30.0,
        poll: float = POLL_SECONDS,
        patience: float = RECONNECT_PATIENCE,
        http: HttpT | None = None,
    ) -> None:
        self.http: HttpT = http or self._new_http(_client_options(url, token, http_timeout))
        self.poll = poll
        self.patience = patience

    @staticmethod
    def _new_http(options: dict[str, Any]) -> HttpT:
        raise NotImplementedError

    @classmethod
    def from_env(cls: type[ClientT], **options: Any) -> ClientT:
        """A client for COUNTERSIGN_URL with COUNTERSIGN_TOKEN."""
        return cls(*settings_from_env(), **options)


class Countersign(_Base[httpx.Client]):
    """Blocking client. `Countersign.from_env()` reads COUNTERSIGN_URL and COUNTERSIGN_TOKEN."""

    @staticmethod
    def _new_http(options: dict[str, Any]) -> httpx.Client:
        return httpx.Client(**options)

    def _drive(self, flow: Flow) -> Any:
        step = next(flow)
        try:
            while True:
                if isinstance(step, Sleep):
                    time.sleep(step.seconds)
                    step = flow.send(None)
                    continue
                try:
                    response = self.http.send(_build(self.http, step))
                except httpx.TransportError as exc:
                    step = flow.throw(exc)
                    continue
                step = flow.send(response)
        except StopIteration as done:
            return done.value

    def create(self, body: Body, *, idempotency_key: str | None = None) -> ApprovalRequest:
        """Submit a request; policy may already have decided it."""
        flow = flows.create(as_request(body), idempotency_key, self.patience)
        result: ApprovalRequest = self._drive(flow)
        return result

    def get(self, request_id: str) -> ApprovalRequest:
        result: ApprovalRequest = self._drive(flows.get(request_id))
        return result

    def wait(
        self, request_id: str, *, max_wait: float | None = None, on_update: Progress | None = None
    ) -> ApprovalRequest:
        """The request once decided, or as it stands after `max_wait` seconds."""
        result: ApprovalRequest = self._drive(
            flows.wait(request_id, max_wait, self.poll, on_update, self.patience)
        )
        return result

    def cancel(self, request_id: str, reason: str = "") -> ApprovalRequest:
        result: ApprovalRequest = self._drive(flows.cancel(request_id, reason))
        return result

    def request_approval(
        self, body: Body, *, max_wait: float | None = None, on_update: Progress | None = None
    ) -> ApprovalRequest:
        """Approved with a grant for exactly `body`, else raises a NotApproved or GrantMismatch."""
        flow = flows.approval(as_request(body), max_wait, self.poll, on_update, self.patience)
        result: ApprovalRequest = self._drive(flow)
        return result

    def public_key(self) -> Ed25519PublicKey:
        """The key that signs grants, from /v1/keys."""
        key: Ed25519PublicKey = self._drive(flows.public_key())
        return key

    def verify_grant(self, grant: str, action_hash: str | None = None) -> GrantCheck:
        """Check a grant offline with the server's public key."""
        return _verify_offline(self.public_key(), grant, action_hash)

    def verify_grant_remote(self, grant: str, action_hash: str | None = None) -> GrantCheck:
        """Check a grant with `POST /v1/grants/verify`."""
        result: GrantCheck = self._drive(flows.verify_remote(grant, action_hash))
        return result

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> Countersign:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsyncCountersign(_Base[httpx.AsyncClient]):
    """The asyncio client: the same methods as `Countersign`, awaited."""

    @staticmethod
    def _new_http(options: dict[str, Any]) -> httpx.AsyncClient:
        return httpx.AsyncClient(**options)

    async def _drive(self, flow: Flow) -> Any:
        step = next(flow)
        try:
            while True:
                if isinstance(step, Sleep):
                    await asyncio.sleep(step.seconds)
                    step = flow.send(None)
                    continue
                try:
                    response = await self.http.send(_build(self.http, step))
                except httpx.TransportError as exc:
                    step = flow.throw(exc)
                    continue
                step = flow.send(response)
        except StopIteration as done:
            return done.value

    async def create(self, body: Body, *, idempotency_key: str | None = None) -> ApprovalRequest:
        flow = flows.create(as_request(body), idempotency_key, self.patience)
        result: ApprovalRequest = await self._drive(flow)
        return result

    async def get(self, request_id: str) -> ApprovalRequest:
        result: ApprovalRequest = await self._drive(flows.get(request_id))
        return result

    async def wait(
        self, request_id: str, *, max_wait: float | None = None, on_update: Progress | None = None
    ) -> ApprovalRequest:
        flow = flows.wait(request_id, max_wait, self.poll, on_update, self.patience)
        result: ApprovalRequest = await self._drive(flow)
        return result

    async def cancel(self, request_id: str, reason: str = "") -> ApprovalRequest:
        result: ApprovalRequest = await self._drive(flows.cancel(request_id, reason))
        return result

    async def request_approval(
        self, body: Body, *, max_wait: float | None = None, on_update: Progress | None = None
    ) -> ApprovalRequest:
        flow = flows.approval(as_request(body), max_wait, self.poll, on_update, self.patience)
        result: ApprovalRequest = await self._drive(flow)
        return result

    async def public_key(self) -> Ed25519PublicKey:
        key: Ed25519PublicKey = await self._drive(flows.public_key())
        return key

    async def verify_grant(self, grant: str, action_hash: str | None = None) -> GrantCheck:
        return _verify_offline(await self.public_key(), grant, action_hash)

    async def verify_grant_remote(self, grant: str, action_hash: str | None = None) -> GrantCheck:
        result: GrantCheck = await self._drive(flows.verify_remote(grant, action_hash))
        return result

    async def aclose(self) -> None:
        await self.http.aclose()

    async def __aenter__(self) -> AsyncCountersign:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
