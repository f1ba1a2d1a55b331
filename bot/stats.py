"""Summary statistics over request history: outcomes, rates, time to decision, busiest people.

Stats read only a few small fields of each request's hash (never the document, whose diff may
be large), walking the creation index of `bot.history` over the window asked for.
"""

from __future__ import annotations

import json
import math
import statistics
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from bot.history import SCAN_BATCH, HistoryFilter, bounds, walk
from bot.models import Risk, Status, from_ms
from bot.store import Store

BUSIEST_APPROVERS = 10
# Upper bounds (seconds) of the time-to-decision histogram; the last bucket is open-ended.
DECISION_BUCKETS = (60, 300, 900, 1800, 3600, 4 * 3600, 24 * 3600)
HUMAN_OUTCOMES = (Status.approved, Status.denied)
MACHINE_DECIDERS = ("policy", "system")


class AgentStats(BaseModel):
    agent: str
    total: int
    denied: int
    denial_rate: float


class ApproverStats(BaseModel):
    user: str
    votes: int
    approvals: int
    denials: int


class DecisionBucket(BaseModel):
    up_to_seconds: int | None = Field(description="inclusive upper bound; null = no bound")
    count: int


class Stats(BaseModel):
    """Figures over the requests created in [since, until).

    Rates divide by the finished requests (all but pending). Time to decision counts only
    human decisions (approved or denied by a person), never expiry or policy's instant answer.
    p90 is the nearest-rank percentile.
    """

    since: datetime | None
    until: datetime | None
    total: int
    by_outcome: dict[str, int]
    by_risk: dict[str, int]
    agents: list[AgentStats] = Field(description="by volume, busiest first")
    approval_rate: float | None
    denial_rate: float | None
    expiry_rate: float | None
    median_seconds_to_decision: float | None
    p90_seconds_to_decision: float | None
    decision_histogram: list[DecisionBucket]
    per_day: dict[str, dict[str, int]] = Field(description="UTC day -> outcome -> count")
    busiest_approvers: list[ApproverStats]


_STAT_FIELDS = ("agent", "status", "created_at", "decided_at", "decided_by", "approvals", "denial")


@dataclass(frozen=True)
class _Row:
    """The small state fields of a request; stats never load the document (diffs are big)."""

    agent: str
    status: Status
    created_ms: int
    decided_ms: int | None
    decided_by: str
    voters: list[tuple[str, bool]]  # (user, approved)

    @classmethod
    def parse(cls, raw: list[Any]) -> _Row:
        agent, status, created, decided, decided_by, approvals, denial = map(_maybe_text, raw)
        voters = [(a["user"], True) for a in json.loads(approvals or "[]")]
        if denial and json.loads(denial)["user"] not in MACHINE_DECIDERS:
            voters.append((json.loads(denial)["user"], False))
        return cls(
            agent=agent or "",
            status=Status(status or Status.pending),
            created_ms=int(created or 0),
            decided_ms=int(decided) if decided else None,
            decided_by=decided_by or "",
            voters=voters,
        )

    @property
    def seconds_to_human_decision(self) -> float | None:
        if self.status not in HUMAN_OUTCOMES or self.decided_by in MACHINE_DECIDERS:
            return None
        return None if self.decided_ms is None else (self.decided_ms - self.created_ms) / 1000


async def stats(
    store: Store, since: datetime | None = None, until: datetime | None = None
) -> Stats:
    """Counts, rates and timings over the requests created in [since, until)."""
    window = HistoryFilter(since=since, until=until)
    rows = [row async for row in _rows(store, window)]
    by_risk = await _count_by_risk(store, window)
    return _summarise(rows, by_risk, since, until)


async def _rows(store: Store, window: HistoryFilter) -> AsyncIterator[_Row]:
    lo, hi = bounds(window)
    async for ids in walk(store, store.keys.by_created, lo, hi, None, SCAN_BATCH):
        async with store.redis.pipeline(transaction=False) as pipe:
            for request_id in ids:
                pipe.hmget(store.keys.request(request_id), _STAT_FIELDS)
            for raw in await pipe.execute():
                if raw[1] is not None:
                    yield _Row.parse(raw)


async def _count_by_risk(store: Store, window: HistoryFilter) -> dict[str, int]:
    lo, hi = bounds(window)
    async with store.redis.pipeline(transaction=False) as pipe:
        for risk in Risk:
            pipe.zcount(store.keys.by_risk(risk.value), lo, hi)
        counts = await pipe.execute()
    return {risk.value: int(n) for risk, n in zip(Risk, counts, strict=True)}


def _summarise(
    rows: list[_Row], by_risk: dict[str, int], since: datetime | None, until: datetime | None
) -> Stats:
    outcomes = Counter(row.status.value for row in rows)
    finished = len(rows) - outcomes[Status.pending.value]
    timings = sorted(t for row in rows if (t := row.seconds_to_human_decision) is not None)
    return Stats(
        since=since,
        until=until,
        total=len(rows),
        by_outcome={status.value: outcomes[status.value] for status in Status},
        by_risk=by_risk,
        agents=_agents(rows),
        approval_rate=_rate(outcomes[Status.approved.value], finished),
        denial_rate=_rate(outcomes[Status.denied.value], finished),
        expiry_rate=_rate(outcomes[Status.expired.value], finished),
        median_seconds_to_decision=statistics.median(timings) if timings else None,
        p90_seconds_to_decision=nearest_rank(timings, 90),
        decision_histogram=_histogram(timings),
        per_day=_per_day(rows),
        busiest_approvers=_approvers(rows),
    )


def nearest_rank(ordered: list[float], percent: float) -> float | None:
    """The nearest-rank percentile of an ascending list; None when it is empty."""
    if not ordered:
        return None
    return ordered[max(0, math.ceil(percent / 100 * len(ordered)) - 1)]


def human_duration(seconds: float | None) -> str:
    """Seconds for people: 45s, 12.5m, 3.2h; "-" for none."""
    if seconds is None:
        return "-"
    if seconds < 120:
        return f"{seconds:.0f}s"
    return f"{seconds / 60:.1f}m" if seconds < 7200 else f"{seconds / 3600:.1f}h"


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _agents(rows: Iterable[_Row]) -> list[AgentStats]:
    totals: Counter[str] = Counter()
    denied: Counter[str] = Counter()
    for row in rows:
        totals[row.agent] += 1
        denied[row.agent] += row.status is Status.denied
    return [
        AgentStats(
            agent=agent, total=total, denied=denied[agent], denial_rate=denied[agent] / total
        )
        for agent, total in sorted(totals.items(), key=lambda item: (-item[1], item[0]))
    ]


def _approvers(rows: Iterable[_Row]) -> list[ApproverStats]:
    approvals: Counter[str] = Counter()
    denials: Counter[str] = Counter()
    for row in rows:
        for user, approved in row.voters:
            (approvals if approved else denials)[user] += 1
    users = sorted(approvals | denials, key=lambda u: (-(approvals[u] + denials[u]), u))
    return [
        ApproverStats(
            user=u, votes=approvals[u] + denials[u], approvals=approvals[u], denials=denials[u]
        )
        for u in users[:BUSIEST_APPROVERS]
    ]


def _histogram(timings: list[float]) -> list[DecisionBucket]:
    counts = [0] * (len(DECISION_BUCKETS) + 1)
    for seconds in timings:
        counts[next((i for i, b in enumerate(DECISION_BUCKETS) if seconds <= b), -1)] += 1
    bounds: list[int | None] = [*DECISION_BUCKETS, None]
    return [DecisionBucket(up_to_seconds=b, count=n) for b, n in zip(bounds, counts, strict=True)]


def _per_day(rows: Iterable[_Row]) -> dict[str, dict[str, int]]:
    days: defaultdict[str, Counter[str]] = defaultdict(Counter)
    for row in rows:
        days[from_ms(row.created_ms).date().isoformat()][row.status.value] += 1
    return {day: {s.value: days[day][s.value] for s in Status} for day in sorted(days)}


def _maybe_text(value: Any) -> str | None:
    if value is None:
        return None
    return value.decode() if isinstance(value, bytes) else str(value)
