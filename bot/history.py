"""Request history for managers and auditors: filtered, paged queries (statistics: `bot.stats`).

Every history index (see `bot/keys.py`) is a sorted set of request ids scored by creation time
(ms), so a query walks the most selective one newest first and checks the other filters on the
ids it finds: membership in the other indexes first (cheap), then the stored document for the
action glob and environment. Nothing scans every request.

Order is (created desc, id desc), which is Redis' own reverse order for a sorted set. A cursor
names the last request of a page ("<created ms>:<id>") and the next page starts strictly after
it, so requests created while someone pages never shift or repeat what they see.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from fnmatch import fnmatchcase
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from bot.errors import CountersignError
from bot.models import ApprovalRequest, Risk, Status, to_ms
from bot.store import Store

MAX_LIMIT = 1000
SCAN_BATCH = 500


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
    lo, hi = bounds(filter)
    async for ids in walk(store, primary, lo, hi, after, batch):
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
    lo, hi = bounds(filter)
    async with store.redis.pipeline(transaction=False) as pipe:
        for index in indexes:
            pipe.zcount(index, lo, hi)
        counts = await pipe.execute()
    ranked = sorted(zip(counts, indexes, strict=True), key=lambda pair: int(pair[0]))
    return ranked[0][1], [index for _, index in ranked[1:]]


def bounds(filter: HistoryFilter) -> tuple[int | str, int | str]:
    """The filter's [since, until) as inclusive ZRANGEBYSCORE bounds in ms."""
    lo: int | str = to_ms(filter.since) if filter.since else "-inf"
    hi: int | str = to_ms(filter.until) - 1 if filter.until else "+inf"
    return lo, hi


async def walk(
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


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
