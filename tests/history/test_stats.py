"""Stats over generated histories, checked against figures computed here from the records."""

from __future__ import annotations

import math
import statistics
from collections import Counter
from typing import Any

from bot import stats
from bot.models import Status
from tests.history.conftest import History, HistoryFactory, Record


def expected_stats(records: list[Record]) -> dict[str, Any]:
    """Each figure the way a spreadsheet user would compute it from the CSV."""
    outcomes = Counter(r.status.value for r in records)
    finished = len(records) - outcomes["pending"]
    human = sorted(
        (r.decided - r.created).total_seconds()
        for r in records
        if r.status in (Status.approved, Status.denied)
        and r.decided_by not in ("policy", "system")
        and r.decided
    )
    votes: Counter[str] = Counter()
    for r in records:
        votes.update(r.approvers)
        if r.denier and r.denier != "policy":
            votes[r.denier] += 1
    agents = Counter(r.agent for r in records)
    denied = Counter(r.agent for r in records if r.status is Status.denied)
    return {
        "total": len(records),
        "by_outcome": {s.value: outcomes[s.value] for s in Status},
        "by_risk": dict(Counter(r.risk.value for r in records)),
        "approval_rate": outcomes["approved"] / finished,
        "denial_rate": outcomes["denied"] / finished,
        "expiry_rate": outcomes["expired"] / finished,
        "median": statistics.median(human),
        "p90": human[math.ceil(0.9 * len(human)) - 1],
        "decisions": len(human),
        "agents": {a: (n, denied[a]) for a, n in agents.items()},
        "votes": votes,
        "days": Counter(r.created.date().isoformat() for r in records),
    }


async def check(made: History, records: list[Record], **window: Any) -> None:
    figures = await stats.stats(made.runtime.store, **window)
    want = expected_stats(records)
    assert figures.total == want["total"]
    assert figures.by_outcome == want["by_outcome"]
    assert {k: v for k, v in figures.by_risk.items() if v} == want["by_risk"]
    assert figures.approval_rate == want["approval_rate"]
    assert figures.denial_rate == want["denial_rate"]
    assert figures.expiry_rate == want["expiry_rate"]
    assert figures.median_seconds_to_decision == want["median"]
    assert figures.p90_seconds_to_decision == want["p90"]
    assert sum(b.count for b in figures.decision_histogram) == want["decisions"]
    assert {a.agent: (a.total, a.denied) for a in figures.agents} == want["agents"]
    assert [a.total for a in figures.agents] == sorted(
        (a.total for a in figures.agents), reverse=True
    )
    busiest = want["votes"].most_common()
    assert [(a.user, a.votes) for a in figures.busiest_approvers] == sorted(
        busiest, key=lambda uv: (-uv[1], uv[0])
    )[: stats.BUSIEST_APPROVERS]
    assert {day: sum(c.values()) for day, c in figures.per_day.items()} == want["days"]


async def test_stats_over_everything_and_over_a_window(make_history: HistoryFactory) -> None:
    made = await make_history(2000)
    await check(made, made.records)
    ordered = sorted(made.records, key=lambda r: r.created)
    since, until = ordered[300].created, ordered[1200].created
    window = [r for r in made.records if since <= r.created < until]
    await check(made, window, since=since, until=until)
    figures = await stats.stats(made.runtime.store)
    assert len(figures.per_day) >= 4  # the generated history spans several days


async def test_time_to_decision_buckets(make_history: HistoryFactory) -> None:
    made = await make_history(600)
    figures = await stats.stats(made.runtime.store)
    timings = [
        (r.decided - r.created).total_seconds()
        for r in made.records
        if r.decided
        and r.decided_by not in ("policy", "system")
        and r.status in (Status.approved, Status.denied)
    ]
    bounds = [b.up_to_seconds for b in figures.decision_histogram]
    lower = [0, *bounds[:-1]]
    for bucket, low in zip(figures.decision_histogram, lower, strict=True):
        high = bucket.up_to_seconds or math.inf
        assert bucket.count == sum(1 for t in timings if low < t <= high or (low == 0 == t))


async def test_no_requests_give_empty_figures(make_history: HistoryFactory) -> None:
    made = await make_history(0)
    figures = await stats.stats(made.runtime.store)
    assert figures.total == 0 and figures.approval_rate is None
    assert figures.median_seconds_to_decision is None and figures.busiest_approvers == []
