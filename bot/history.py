"""Request history for managers and auditors: filtered, paged queries and summary statistics.

Every history index (see `bot/keys.py`) is a sorted set of request ids scored by creation time
(ms), so a query walks the most selective one newest first and checks the other filters on the
ids it finds: membership in the other indexes first (cheap), then the stored document for the
action glob and environment. Nothing scans every request.

Order is (created desc, id desc), which is Redis' own reverse order for a sorted set. A cursor
names the last request of a page ("<created ms>:<id>") and the next page starts strictly after
it, so requests created while someone pages never shift or repeat what they see.
"""

from __future__ import annotations

import json
import math
import statistics
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from fnmatch import fnmatchcase
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from bot.errors import CountersignError
from bot.models import ApprovalRequest, Risk, Status, from_ms, to_ms
from bot.store import Store

MAX_LIMIT = 1000
SCAN_BATCH = 500
BUSIEST_APPROVERS = 10
# Upper bounds (seconds) of the time-to-decision histogram; the last bucket is open-ended.
DECISION_BUCKETS = (60, 300, 900, 1800, 3600, 4 * 3600, 24 * 3600)
HUMAN_OUTCOMES = (Status.approved, Status.denied)
MACHINE_DECIDERS = ("policy", "system")


class InvalidCursor(CountersignError):
    code = "invalid_cursor"

    def __init__(self, cursor: str) -> None:
        super().__init__(f"Cursor {cursor!r} is not one this server returned.")
        self.cursor = cursor


class InvalidTime(CountersignError):
    code = "invalid_time"

    def __init__(self, text: str, problem: str = "") -> None:
        shown = text if len(text) <= 60 else text[:57] + "..."
        super().__init__(
            problem.format(shown=shown)
            or f"Time {shown!r} is neither ISO 8601 (2026-01-31, 2026-01-31T08:00:00Z) "
            "nor an age such as 90m, 12h, 30d or 2w."
        )
        self.text = text


_AGE_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
MAX_AGE_DAYS = 36500  # a century: older than any record, and far inside what datetime holds
_TOO_OLD = f"Age {{shown!r}} is too long: ages go back at most {MAX_AGE_DAYS}d."


def parse_moment(text: str, now: datetime) -> datetime:
    """An ISO 8601 date or time (UTC unless it says otherwise), or an age before `now`."""
    text = text.strip()
    try:
        return _moment(text, now)
    except (ValueError, OverflowError):  # not a time, or one outside what datetime can hold
        raise InvalidTime(text) from None


def _moment(text: str, now: datetime) -> datetime:
    number, unit = text[:-1], text[-1:].lower()
    if number.isdigit() and unit in _AGE_UNITS:
        if len(number) > 9 or int(number) * _AGE_UNITS[unit] > MAX_AGE_DAYS * 86400:
            raise InvalidTime(text, _TOO_OLD)
        return now - timedelta(seconds=int(number) * _AGE_UNITS[unit])
    moment = datetime.fromisoformat(text)
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    moment.astimezone(UTC)  # OverflowError for a time UTC cannot hold (year 1 at +01:00)
    return moment


class HistoryFilter(BaseModel):
    """What to look for; every field narrows the result. Times bound creation: [since, until)."""

    model_config = ConfigDict(frozen=True)

    agent: str | None = None
    status: Status | None = None
    risk: Risk | None = None
    approver: str | None = Field(default=None, description="a Slack user ID that voted")
    action: str | None = Field(default=None, description="glob, e.g. `environment.*`")
    environment: str | None = Field(default=None, description="glob, e.g. `prod*`")
    since: datetime | None = None
    until: datetime | None = None

    def matches(self, request: ApprovalRequest) -> bool:
        """The checks no index answers; index filters were applied before loading."""
        if self.action and not fnmatchcase(request.action, self.action):
            return False
        return not self.environment or fnmatchcase(request.environment, self.environment)


class HistoryPage(BaseModel):
    requests: list[ApprovalRequest]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next, older page")


@dataclass(frozen=True)
class Position:
    """A place in (created desc, id desc) order; a page resumes strictly after it."""

    score: int
    id: str

    @classmethod
    def parse(cls, cursor: str) -> Position:
        score, sep, request_id = cursor.partition(":")
        if not sep or not score.isdigit() or not request_id:
            raise InvalidCursor(cursor)
        return cls(int(score), request_id)

    @classmethod
    def of(cls, request: ApprovalRequest) -> Position:
        return cls(to_ms(request.created_at), request.id)

    def __str__(self) -> str:
        return f"{self.score}:{self.id}"


async def query(
    store: Store, filter: HistoryFilter, cursor: str | None = None, limit: int = 50
) -> HistoryPage:
    """One page of matching requests, newest first."""
    limit = max(1, min(limit, MAX_LIMIT))
    after = Position.parse(cursor) if cursor else None
    found: list[ApprovalRequest] = []
    async for request in _matching(store, filter, after, batch=limit + 1):
        found.append(request)
        if len(found) > limit:
            break
    page = found[:limit]
    more = len(found) > limit
    return HistoryPage(requests=page, next_cursor=str(Position.of(page[-1])) if more else None)


async def iterate(store: Store, filter: HistoryFilter) -> AsyncIterator[ApprovalRequest]:
    """Every matching request, newest first, loaded a batch at a time (for exports)."""
    async for request in _matching(store, filter, None, batch=SCAN_BATCH):
        yield request


async def _matching(
    store: Store, filter: HistoryFilter, after: Position | None, batch: int
) -> AsyncIterator[ApprovalRequest]:
    primary, others = await _plan(store, filter)
    lo, hi = _bounds(filter)
    async for ids in _walk(store, primary, lo, hi, after, batch):
        ids = await _members_of_all(store, ids, others)
        for request in await store.get_many(ids):
            if filter.matches(request):
                yield request


def _indexes(store: Store, filter: HistoryFilter) -> list[str]:
    keys = store.keys
    found = [
        keys.by_agent(filter.agent) if filter.agent else None,
        keys.by_status(filter.status.value) if filter.status else None,
        keys.by_risk(filter.risk.value) if filter.risk else None,
        keys.by_voter(filter.approver) if filter.approver else None,
    ]
    return [index for index in found if index is not None] or [keys.by_created]


async def _plan(store: Store, filter: HistoryFilter) -> tuple[str, list[str]]:
    """Walk the index with the fewest ids in range; check membership of the rest."""
    indexes = _indexes(store, filter)
    lo, hi = _bounds(filter)
    async with store.redis.pipeline(transaction=False) as pipe:
        for index in indexes:
            pipe.zcount(index, lo, hi)
        counts = await pipe.execute()
    ranked = sorted(zip(counts, indexes, strict=True), key=lambda pair: int(pair[0]))
    return ranked[0][1], [index for _, index in ranked[1:]]


def _bounds(filter: HistoryFilter) -> tuple[int | str, int | str]:
    lo: int | str = to_ms(filter.since) if filter.since else "-inf"
    hi: int | str = to_ms(filter.until) - 1 if filter.until else "+inf"
    return lo, hi


async def _walk(
    store: Store, index: str, lo: int | str, hi: int | str, after: Position | None, batch: int
) -> AsyncIterator[list[str]]:
    """Ids of one index in (score desc, id desc) order, strictly after `after`, in batches."""
    redis = store.redis
    top, last = (after.score, after.id) if after else (hi, None)
    while True:
        if last is not None:
            tied = await redis.zrevrangebyscore(index, top, top)
            if rest := [i for i in map(_text, tied) if i < last]:
                yield rest
            top = int(top) - 1
        rows: list[Any] = await redis.zrevrangebyscore(
            index, top, lo, start=0, num=batch, withscores=True
        )
        if rows:
            yield [_text(member) for member, _ in rows]
        if len(rows) < batch:
            return
        last, top = _text(rows[-1][0]), int(rows[-1][1])


async def _members_of_all(store: Store, ids: list[str], indexes: list[str]) -> list[str]:
    for index in indexes:
        if not ids:
            break
        scores = await store.redis.zmscore(index, ids)
        ids = [i for i, score in zip(ids, scores, strict=True) if score is not None]
    return ids


# --- statistics -------------------------------------------------------------------------------


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
    lo, hi = _bounds(window)
    async for ids in _walk(store, store.keys.by_created, lo, hi, None, SCAN_BATCH):
        async with store.redis.pipeline(transaction=False) as pipe:
            for request_id in ids:
                pipe.hmget(store.keys.request(request_id), _STAT_FIELDS)
            for raw in await pipe.execute():
                if raw[1] is not None:
                    yield _Row.parse(raw)


async def _count_by_risk(store: Store, window: HistoryFilter) -> dict[str, int]:
    lo, hi = _bounds(window)
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


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _maybe_text(value: Any) -> str | None:
    return None if value is None else _text(value)
