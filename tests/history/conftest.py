"""Generated request histories: thousands of requests made through the service with a manual
clock, and a record of what the test did to each, to compute expected answers from."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import pytest

from bot.clock import ManualClock
from bot.models import PolicyDecision, RequestIn, Risk, Status
from bot.principals import Principal
from bot.runtime import Runtime
from bot.store import NewRequest
from tests.conftest import AgentFactory

ALICE, BOB, CAROL, DAVE, ERIN = "U0ALICE01", "U0BOB0002", "U0CAROL03", "U0DAVE004", "U0ERIN005"
AGENTS = ("infra-bot", "deploy-bot", "db-bot", "rare-bot")
LONG_TTL = 7 * 24 * 3600


@dataclass(frozen=True)
class Kind:
    action: str
    environment: str
    risk: Risk
    required: int  # 0: policy decides at once
    voters: tuple[str, ...] = ()


KINDS = (
    Kind("environment.recreate", "prod", Risk.critical, 2, (ALICE, BOB, CAROL, ERIN)),
    Kind("db.migrate", "staging", Risk.high, 2, (DAVE, ALICE, BOB)),
    Kind("deploy.service", "staging", Risk.medium, 1, (ALICE, BOB, CAROL)),
    Kind("deploy.service", "prod", Risk.high, 2, (ALICE, BOB, CAROL)),
    Kind("s3.list", "dev", Risk.low, 0),
    Kind("iam.grant_admin", "dev", Risk.medium, 0),
)
FATES = (Status.pending, Status.approved, Status.denied, Status.expired, Status.cancelled)
FATE_WEIGHTS = (15, 45, 20, 12, 8)
# Cells a spreadsheet would run; some resources and deny reasons start with them.
FORMULAS = ('=HYPERLINK("http://x")', "+1+1", "-2+3", "@SUM(A1)", "\tTAB", "\rCR")


@dataclass
class Record:
    """What the test made happen to one request."""

    id: str
    agent: str
    action: str
    environment: str
    resource: str
    risk: Risk
    status: Status
    created: datetime
    decided: datetime | None = None
    decided_by: str | None = None
    approvers: list[str] = field(default_factory=list)
    denier: str | None = None
    reason: str = ""

    @property
    def key(self) -> tuple[datetime, str]:
        """History order: newest first, then id descending."""
        return self.created, self.id


@dataclass
class History:
    runtime: Runtime
    clock: ManualClock
    agents: dict[str, Principal]
    rng: random.Random
    records: list[Record] = field(default_factory=list)

    def newest_first(self, keep: Callable[[Record], bool] = lambda r: True) -> list[str]:
        return [r.id for r in sorted(self.records, key=lambda r: r.key, reverse=True) if keep(r)]

    async def add(self, count: int, *, spacing: int = 173, agent: str | None = None) -> None:
        """Make `count` requests, each `spacing` seconds (plus jitter) after the last."""
        plans = []
        for _ in range(count):
            self.clock.advance(spacing + self.rng.randint(0, 60))
            name = agent or self.rng.choices(AGENTS, weights=(40, 30, 29, 1))[0]
            plans.append(self.make(name, self.rng.choice(KINDS), created=self.clock.now))
        for start in range(0, count, 50):  # independent timelines: let Redis calls overlap
            await asyncio.gather(*plans[start : start + 50])

    async def make(
        self, agent: str, kind: Kind, fate: Status | None = None, created: datetime | None = None
    ) -> Record:
        """One request through the store's scripts, then votes or a cancel at later times."""
        n = len(self.records)
        fate = fate or self.rng.choices(FATES, weights=FATE_WEIGHTS)[0]
        # Resources refuse control characters; tab and CR reach the CSV through deny reasons.
        resource = self.rng.choice(FORMULAS[:4]) if n % 50 == 7 else f"res-{n}"
        voters = self.rng.sample(kind.voters, kind.required)
        delays = [self.rng.randint(5, 3000) for _ in range(3)]
        reason = self.rng.choice(["too wide", *FORMULAS, "wildcard IAM, no"])
        body = RequestIn(
            action=kind.action,
            summary=f"<b>request {n}</b>",
            resource=resource,
            environment=kind.environment,
            ttl_seconds=60 if fate is Status.expired else LONG_TTL,
        )
        record = Record(
            f"req_{n:06d}{self.rng.getrandbits(32):08x}",
            agent,
            kind.action,
            kind.environment,
            resource,
            kind.risk,
            Status.pending,
            created or self.clock.now,
        )
        self.records.append(record)
        await self._create(record, body)
        if kind.required == 0:
            await self._policy_decided(record)
        elif fate is not Status.pending:
            await Decision(self, record, voters, delays, reason).apply(fate)
        return record

    async def _create(self, record: Record, body: RequestIn) -> None:
        runtime = self.runtime
        decision = runtime.policy.evaluate(body, record.agent)
        assert decision.risk is record.risk, (record, decision.risk)
        decision = decision.model_copy(update={"ttl_seconds": body.ttl_seconds})
        new = NewRequest(
            id=record.id,
            agent=record.agent,
            owner=self.agents[record.agent].owner,
            body=body,
            decision=decision,
            created_at=record.created,
            expires_at=record.created + timedelta(seconds=body.ttl_seconds or 0),
            outcome=_outcome(decision),
        )
        assert (await runtime.store.create(new, [])).outcome == "created"

    async def _policy_decided(self, record: Record) -> None:
        request = await self.runtime.store.get(record.id)
        assert request is not None
        record.status, record.decided, record.decided_by = request.status, record.created, "policy"
        if request.denial:
            record.denier, record.reason = "policy", request.denial.reason


@dataclass
class Decision:
    """Votes (or a cancel) on one request, each some seconds after the one before."""

    history: History
    record: Record
    voters: list[str]
    delays: list[int]
    reason: str

    async def vote(self, user: str, approve: bool, comment: str = "") -> str:
        moment = self.at(self.delays.pop())
        result = await self.history.runtime.store.vote(
            self.record.id, user, approve, comment, moment, []
        )
        return result.code

    def at(self, delay: int) -> datetime:
        self.record.decided = (self.record.decided or self.record.created) + timedelta(
            seconds=delay
        )
        return self.record.decided

    async def apply(self, fate: Status) -> None:
        record, store = self.record, self.history.runtime.store
        if fate is Status.approved:
            for user in self.voters:
                assert await self.vote(user, approve=True) == "ok"
                record.approvers.append(user)
            record.decided_by = self.voters[-1]
        elif fate is Status.denied:
            if len(self.voters) > 1 and self.delays[0] % 2:
                assert await self.vote(self.voters[0], approve=True) == "ok"
                record.approvers.append(self.voters[0])
            denier = self.voters[-1]
            assert await self.vote(denier, approve=False, comment=self.reason) == "ok"
            record.denier, record.reason, record.decided_by = denier, self.reason, denier
        elif fate is Status.expired:
            moment = self.at(61)  # the ttl is 60 s: the vote finds it overdue and expires it
            result = await store.vote(record.id, self.voters[0], True, "", moment, [])
            assert result.code == "expired"
            record.decided_by = "system"
        elif fate is Status.cancelled:
            moment = self.at(self.delays.pop())
            await store.cancel(record.id, record.agent, "not needed", moment, [])
            record.decided_by = record.agent
        record.status = fate


def _outcome(decision: PolicyDecision) -> Status:
    if decision.deny:
        return Status.denied
    return Status.approved if decision.auto_approve else Status.pending


HistoryFactory = Callable[..., Awaitable[History]]


@pytest.fixture
def make_history(runtime: Runtime, clock: ManualClock, add_agent: AgentFactory) -> HistoryFactory:
    """`await make_history(2000)`: that many requests over several days, fates at random."""

    async def make(count: int, seed: int = 5) -> History:
        agents = {}
        for n, name in enumerate(AGENTS):
            agents[name], _ = await add_agent(name, owner=f"U0OWNER{n:02d}")
        history = History(runtime, clock, agents, random.Random(seed))
        await history.add(count)
        return history

    return make
