"""The Redis store: the only module that reads or writes request state.

Every state change is one Lua script (see `bot/lua/`), which also updates the indexes,
appends the hash-chained audit entry and queues outbox jobs, so nothing is half-done.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from typing import Any

from redis.asyncio import Redis
from redis.commands.core import AsyncScript

from bot.keys import Keys
from bot.models import (
    Approval,
    ApprovalRequest,
    Denial,
    PolicyDecision,
    RequestIn,
    Status,
    from_ms,
    to_ms,
)

IDEMPOTENCY_TTL = 24 * 3600
_STATE_FIELDS = (
    "doc",
    "status",
    "approvals",
    "denial",
    "decided_at",
    "decided_by",
    "cancel_reason",
    "created_at",
    "expires_at",
)

# Light fields for `ballots`: enough to tell who may vote, without the (up to MiBs) document.
_BALLOT_FIELDS = ("status", "owner", "on_behalf_of", "approvals", "policy")


def _lua(name: str) -> str:
    return (resources.files("bot") / "lua" / f"{name}.lua").read_text(encoding="utf-8")


@dataclass(frozen=True)
class CreateResult:
    outcome: str  # created | existing | conflict
    request_id: str


@dataclass(frozen=True)
class VoteResult:
    code: str  # ok or a refusal code
    status: Status | None
    approvals: int = 0


@dataclass(frozen=True)
class Ballot:
    """What deciding who may still vote on a request needs, read without its document."""

    id: str
    status: Status
    requester: str  # on_behalf_of; "" when none
    owner: str  # the agent's owner; "" when none
    approved_by: frozenset[str]
    policy: PolicyDecision | None


@dataclass(frozen=True)
class NewRequest:
    """Everything the create script needs, decided before it runs."""

    id: str
    agent: str
    owner: str
    body: RequestIn
    decision: PolicyDecision
    created_at: datetime
    expires_at: datetime
    outcome: Status  # pending, or approved/denied when policy decides at once
    idempotency_key: str | None = None
    fingerprint: str = ""


class Store:
    def __init__(self, redis: Redis, keys: Keys | None = None) -> None:
        self.redis = redis
        self.keys = keys or Keys()
        prelude = self.keys.lua_prelude() + _lua("sha256") + _lua("common")
        self._create = self._script(prelude, "create")
        self._vote = self._script(prelude, "vote")
        self._cancel = self._script(prelude, "cancel")
        self._sweep = self._script(prelude, "sweep")
        self._claim = self._script(prelude, "claim")

    def _script(self, prelude: str, name: str) -> AsyncScript:
        return self.redis.register_script(prelude + _lua(name))

    async def create(self, new: NewRequest, sinks: list[str]) -> CreateResult:
        result = await self._create(args=[json.dumps(self._create_spec(new, sinks))])
        return CreateResult(_text(result[0]), _text(result[1]))

    def _create_spec(self, new: NewRequest, sinks: list[str]) -> dict[str, Any]:
        body, decision = new.body, new.decision
        created = to_ms(new.created_at)
        followups = [
            [created + s * 1000, "reminder", n]
            for n, s in enumerate(decision.reminders)
            if s < decision.ttl_seconds
        ]
        if decision.escalate_after and decision.escalate_after < decision.ttl_seconds:
            followups.append([created + decision.escalate_after * 1000, "escalation", 0])
        return {
            "id": new.id,
            "agent": new.agent,
            "owner": new.owner,
            "on_behalf_of": body.on_behalf_of or "",
            "doc": json.dumps(self._document(new)),
            "required": decision.required_approvals,
            "created_at": created,
            "expires_at": to_ms(new.expires_at),
            "callback": body.callback_url is not None,
            "idem_key": new.idempotency_key,
            "fingerprint": new.fingerprint,
            "idem_ttl": IDEMPOTENCY_TTL,
            "action": body.action,
            "action_hash": body.action_hash(),
            "risk": decision.risk.value,
            "rule": decision.rule,
            "policy": decision.model_dump_json(),  # who may vote, without parsing `doc`
            "outcome": new.outcome.value,
            "reason": decision.deny_reason,
            "followups": followups,
            "sinks": sinks if new.outcome is Status.pending else [],
        }

    @staticmethod
    def _document(new: NewRequest) -> dict[str, Any]:
        """The immutable part of a request, stored once as JSON."""
        body = new.body.model_dump(mode="json", exclude={"risk_hint", "ttl_seconds"})
        decision = new.decision.model_dump(mode="json")
        return {
            **body,
            "id": new.id,
            "agent": new.agent,
            "agent_owner": new.owner or None,
            "ttl_seconds": decision["ttl_seconds"],
            "action_hash": new.body.action_hash(),
            "policy": decision,
        }

    def as_created(self, new: NewRequest) -> ApprovalRequest:
        """A pending request exactly as `create` stored it, without reading it back."""
        fields: dict[str, Any] = dict.fromkeys(_STATE_FIELDS)
        fields.update(
            doc=json.dumps(self._document(new)),
            status="pending",
            approvals="[]",
            created_at=to_ms(new.created_at),
            expires_at=to_ms(new.expires_at),
        )
        request = _to_request(fields)
        assert request is not None
        return request

    async def get(self, request_id: str) -> ApprovalRequest | None:
        raw = await self.redis.hmget(self.keys.request(request_id), _STATE_FIELDS)
        return _to_request(dict(zip(_STATE_FIELDS, raw, strict=True)))

    async def get_many(self, request_ids: list[str]) -> list[ApprovalRequest]:
        async with self.redis.pipeline(transaction=False) as pipe:
            for request_id in request_ids:
                pipe.hmget(self.keys.request(request_id), _STATE_FIELDS)
            rows = await pipe.execute()
        found = (_to_request(dict(zip(_STATE_FIELDS, r, strict=True))) for r in rows)
        return [r for r in found if r is not None]

    async def policy_of(self, request_id: str) -> PolicyDecision | None:
        policy = await self.redis.hget(self.keys.request(request_id), "policy")
        if policy:
            return PolicyDecision.model_validate_json(policy)
        doc = await self.redis.hget(self.keys.request(request_id), "doc")  # created before 'policy'
        return PolicyDecision.model_validate(json.loads(doc)["policy"]) if doc else None

    async def ballots(self, request_ids: list[str]) -> list[Ballot]:
        """Light data on who may vote on each request (missing ones left out), in order."""
        async with self.redis.pipeline(transaction=False) as pipe:
            for request_id in request_ids:
                pipe.hmget(self.keys.request(request_id), _BALLOT_FIELDS)
            rows = await pipe.execute()
        return [
            await self._ballot(request_id, *row)
            for request_id, row in zip(request_ids, rows, strict=True)
            if row[0] is not None
        ]

    async def _ballot(
        self,
        request_id: str,
        status: bytes,
        owner: Any,
        requester: Any,
        approvals: Any,
        policy: Any,
    ) -> Ballot:
        return Ballot(
            id=request_id,
            status=Status(_text(status)),
            requester=_text(requester or ""),
            owner=_text(owner or ""),
            approved_by=frozenset(a["user"] for a in json.loads(approvals or "[]")),
            policy=PolicyDecision.model_validate_json(policy)
            if policy
            else await self.policy_of(request_id),  # created before the 'policy' field
        )

    async def vote(
        self,
        request_id: str,
        user: str,
        approve: bool,
        comment: str,
        now: datetime,
        sinks: list[str],
    ) -> VoteResult:
        args: list[str | int] = [
            to_ms(now),
            request_id,
            user,
            "approve" if approve else "deny",
            comment,
            json.dumps(sinks),
        ]
        code, status, *rest = await self._vote(args=args)
        count = int(rest[0]) if rest else 0
        return VoteResult(_text(code), Status(_text(status)) if status else None, count)

    async def cancel(
        self, request_id: str, actor: str, reason: str, now: datetime, sinks: list[str]
    ) -> VoteResult:
        args: list[str | int] = [to_ms(now), request_id, actor, reason, json.dumps(sinks)]
        code, status = await self._cancel(args=args)
        return VoteResult(_text(code), Status(_text(status)) if status else None)

    async def sweep(self, now: datetime, sinks: list[str], limit: int = 500) -> tuple[int, int]:
        expired, fired = await self._sweep(args=[to_ms(now), limit, json.dumps(sinks)])
        return int(expired), int(fired)

    async def claim_jobs(
        self, sink: str, now: datetime, lease_s: float, limit: int
    ) -> list[list[Any]]:
        rows = await self._claim(args=[sink, to_ms(now), int(lease_s * 1000), limit])
        return [[_text(v) if isinstance(v, bytes) else v for v in row] for row in rows]

    async def ids_by_score(
        self,
        index: str,
        *,
        newest_first: bool = True,
        start: float = 0,
        end: float = float("inf"),
        offset: int = 0,
        count: int = 50,
    ) -> list[str]:
        """Request ids from one index, by score range (ms)."""
        lo, hi = start, "+inf" if end == float("inf") else end
        if newest_first:
            ids = await self.redis.zrevrangebyscore(index, hi, lo, start=offset, num=count)
        else:
            ids = await self.redis.zrangebyscore(index, lo, hi, start=offset, num=count)
        return [_text(i) for i in ids]

    async def count(self, index: str) -> int:
        return int(await self.redis.zcard(index))


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _to_request(fields: dict[str, Any]) -> ApprovalRequest | None:
    if fields["doc"] is None:
        return None
    doc = json.loads(fields["doc"])
    policy = doc.pop("policy")
    denial = json.loads(fields["denial"]) if fields["denial"] else None
    decided_at = fields["decided_at"]
    return ApprovalRequest(
        **doc,
        status=Status(_text(fields["status"])),
        risk=policy["risk"],
        risk_reasons=policy["risk_reasons"],
        rule=policy["rule"],
        required_approvals=policy["required_approvals"],
        eligible_groups=policy["eligible_groups"],
        channel=policy["channel"],
        approvals=[
            Approval(user=a["user"], at=from_ms(a["at"]), comment=a.get("comment", ""))
            for a in json.loads(fields["approvals"] or "[]")
        ],
        denial=Denial(
            user=denial["user"], at=from_ms(denial["at"]), reason=denial.get("reason", "")
        )
        if denial
        else None,
        decided_at=from_ms(decided_at) if decided_at else None,
        decided_by=_text(fields["decided_by"]) if fields["decided_by"] else None,
        cancel_reason=_text(fields["cancel_reason"] or b""),
        created_at=from_ms(fields["created_at"]),
        expires_at=from_ms(fields["expires_at"]),
    )
