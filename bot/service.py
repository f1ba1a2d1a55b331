"""The approval service: the one place every adapter (HTTP, Slack, CLI, console) calls.

It applies policy, enforces who may vote, and hands each state change to the store's atomic
scripts. It imports neither Slack nor FastAPI.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from bot.clock import Clock
from bot.directory import Directory, DirectoryUnavailable
from bot.errors import Forbidden, IdempotencyConflict, NotFound, vote_refusal
from bot.grants import GrantSigner
from bot.models import ApprovalRequest, PolicyDecision, RequestIn, Status, canonical_json
from bot.outcomes import Outcome, outcome_of
from bot.policy import Policy
from bot.principals import Principal
from bot.store import NewRequest, Store
from bot.waiters import Waiters

log = logging.getLogger(__name__)

MAX_WAIT_SECONDS = 55


@dataclass(frozen=True)
class Submitted:
    request: ApprovalRequest
    created: bool  # False when an Idempotency-Key returned an existing request


@dataclass
class ApprovalService:
    store: Store
    policy: Policy
    clock: Clock
    signer: GrantSigner
    directory: Directory
    waiters: Waiters | None = None
    sinks: list[str] = field(default_factory=list)
    on_decided: list[Callable[[ApprovalRequest], None]] = field(default_factory=list)

    async def submit(
        self, agent: Principal, body: RequestIn, idempotency_key: str | None = None
    ) -> Submitted:
        """Rate and store a new request; policy may approve or deny it at once."""
        self._check_allowed(agent, body)
        decision = await self.policy.rate(body, agent.name)
        now = self.clock()
        ttl = body.ttl_seconds or decision.ttl_seconds
        decision = decision.model_copy(update={"ttl_seconds": ttl})
        new = NewRequest(
            id=f"req_{uuid.uuid4().hex[:20]}",
            agent=agent.name,
            owner=agent.owner,
            body=body,
            decision=decision,
            created_at=now,
            expires_at=now + timedelta(seconds=ttl),
            outcome=_immediate_outcome(decision),
            idempotency_key=idempotency_key,
            fingerprint=hashlib.sha256(
                canonical_json(body.model_dump(mode="json")).encode()
            ).hexdigest(),
        )
        result = await self.store.create(new, self.sinks)
        if result.outcome == "conflict":
            raise IdempotencyConflict(idempotency_key or "")
        if result.outcome == "created" and new.outcome is Status.pending:
            return Submitted(self.store.as_created(new), created=True)  # saves a round trip
        request = await self.get(result.request_id, agent=agent.name)
        return Submitted(request, created=result.outcome == "created")

    def _check_allowed(self, agent: Principal, body: RequestIn) -> None:
        if not agent.may_request(body.action, body.environment):
            raise Forbidden(
                f"Agent {agent.name!r} may not request {body.action!r} "
                f"in environment {body.environment!r}."
            )
        if body.callback_url is not None:
            host = body.callback_url.host or ""
            if not agent.may_call_back(host):
                raise Forbidden(
                    f"callback_url host {host!r} is not in agent "
                    f"{agent.name!r}'s allowed callback hosts."
                )

    async def get(self, request_id: str, *, agent: str | None = None) -> ApprovalRequest:
        """A request with its grant; `agent` limits visibility to that agent's own."""
        request = await self.store.get(request_id)
        if request is None or (agent is not None and request.agent != agent):
            raise NotFound(request_id)
        return request.model_copy(update={"grant": self.signer.grant_for(request)})

    async def wait(self, request_id: str, *, agent: str | None, seconds: float) -> ApprovalRequest:
        """Return as soon as the request is decided, or after `seconds` with it pending."""
        seconds = max(0.0, min(seconds, MAX_WAIT_SECONDS))
        if self.waiters is None or seconds == 0:
            return await self.get(request_id, agent=agent)
        with self.waiters.watch(request_id) as event:
            request = await self.get(request_id, agent=agent)
            if request.status.terminal:
                return request
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(seconds):
                    await event.wait()
        return await self.get(request_id, agent=agent)

    async def vote(
        self, request_id: str, user: str, *, approve: bool, comment: str = ""
    ) -> ApprovalRequest:
        """Record a human's vote; raises a VoteRefused subclass when the rules say no."""
        decision = await self.store.policy_of(request_id)
        if decision is None:
            raise NotFound(request_id)
        request = await self.get(request_id)
        if request.status is Status.pending:
            await self._check_voter(request, user, decision)
        result = await self.store.vote(
            request_id, user, approve, comment[:2000], self.clock(), self.sinks
        )
        if result.code == "not_found":
            raise NotFound(request_id)
        if result.code != "ok":
            raise vote_refusal(
                result.code,
                user=user,
                request_id=request_id,
                status=result.status.value if result.status else "",
            )
        log.info(
            "vote %s on %s by %s -> %s",
            "approve" if approve else "deny",
            request_id,
            user,
            result.status,
        )
        return self._decided(await self.get(request_id))

    def _decided(self, request: ApprovalRequest) -> ApprovalRequest:
        if request.status.terminal:
            for observer in self.on_decided:
                observer(request)
        return request

    async def _check_voter(
        self, request: ApprovalRequest, user: str, decision: PolicyDecision
    ) -> None:
        """Refuse early with the most specific reason; the vote script enforces it again."""
        if user in (request.on_behalf_of, request.agent_owner):
            raise vote_refusal("self_approval", user=user, request_id=request.id)
        if not await self.is_eligible(user, decision):
            raise vote_refusal("not_eligible", user=user, request_id=request.id)

    async def is_eligible(self, user: str, decision: PolicyDecision) -> bool:
        """In a named group, directly or through a Slack user group. Unknown means no."""
        if user in decision.approvers:
            return True
        for usergroup in decision.approver_usergroups:
            try:
                if user in await self.directory.members(usergroup):
                    return True
            except DirectoryUnavailable as exc:
                log.warning("eligibility of %s via %s unknown: %s", user, usergroup, exc)
        return False

    async def cancel(
        self, request_id: str, *, agent: str | None, actor: str, reason: str = ""
    ) -> ApprovalRequest:
        await self.get(request_id, agent=agent)
        result = await self.store.cancel(request_id, actor, reason[:2000], self.clock(), self.sinks)
        if result.code == "already_decided":
            raise vote_refusal(
                "already_decided",
                user=actor,
                request_id=request_id,
                status=result.status.value if result.status else "",
            )
        return self._decided(await self.get(request_id, agent=agent))

    async def sweep(self) -> tuple[int, int]:
        """Expire overdue requests and fire due follow-ups; safe on every replica at once."""
        total_expired = total_fired = 0
        while True:
            expired, fired = await self.store.sweep(self.clock(), self.sinks)
            total_expired, total_fired = total_expired + expired, total_fired + fired
            if expired + fired == 0:
                return total_expired, total_fired


_STATUS = {
    Outcome.denied: Status.denied,
    Outcome.approved: Status.approved,
    Outcome.needs_approval: Status.pending,
}


def _immediate_outcome(decision: PolicyDecision) -> Status:
    return _STATUS[outcome_of(decision)]
