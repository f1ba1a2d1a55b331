"""History queries over a few thousand generated requests: filters, order, paging, indexes."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from bot import history
from bot.history import HistoryFilter, InvalidCursor
from bot.models import Risk, Status
from tests.history.conftest import ALICE, BOB, CAROL, KINDS, History, HistoryFactory, Record


async def all_pages(runtime_history: History, filter: HistoryFilter, limit: int) -> list[str]:
    """Follow next_cursor to the end; every page but the last is full."""
    store, ids, cursor = runtime_history.runtime.store, [], None
    while True:
        page = await history.query(store, filter, cursor, limit)
        ids += [r.id for r in page.requests]
        if page.next_cursor is None:
            return ids
        assert len(page.requests) == limit
        cursor = page.next_cursor


def voted(user: str) -> Callable[[Record], bool]:
    return lambda r: user in r.approvers or r.denier == user


async def test_filters_return_exactly_the_matching_requests_newest_first(
    make_history: HistoryFactory,
) -> None:
    made = await make_history(2500)
    records = sorted(made.records, key=lambda r: r.created)
    since, until = records[500].created, records[1500].created
    cases: list[tuple[HistoryFilter, Callable[[Record], bool]]] = [
        (HistoryFilter(), lambda r: True),
        (HistoryFilter(agent="infra-bot"), lambda r: r.agent == "infra-bot"),
        (HistoryFilter(agent="rare-bot"), lambda r: r.agent == "rare-bot"),
        (HistoryFilter(agent="nobody"), lambda r: False),
        (HistoryFilter(status=Status.denied), lambda r: r.status is Status.denied),
        (HistoryFilter(status=Status.pending), lambda r: r.status is Status.pending),
        (HistoryFilter(risk=Risk.critical), lambda r: r.risk is Risk.critical),
        (HistoryFilter(approver=ALICE), voted(ALICE)),
        (HistoryFilter(action="deploy.*"), lambda r: r.action.startswith("deploy.")),
        (HistoryFilter(environment="prod"), lambda r: r.environment == "prod"),
        (HistoryFilter(since=since, until=until), lambda r: since <= r.created < until),
        (
            HistoryFilter(agent="db-bot", status=Status.approved, risk=Risk.high, approver=BOB),
            lambda r: (
                r.agent == "db-bot"
                and r.status is Status.approved
                and r.risk is Risk.high
                and voted(BOB)(r)
            ),
        ),
        (
            HistoryFilter(approver=CAROL, action="environment.*", since=since),
            lambda r: voted(CAROL)(r) and r.action == "environment.recreate" and r.created >= since,
        ),
    ]
    for filter, keep in cases:
        expected = made.newest_first(keep)
        assert await all_pages(made, filter, limit=97) == expected, filter
    assert len(made.newest_first(voted(ALICE))) > 300  # the cases are not trivially small


async def test_a_query_reads_only_the_most_selective_index(make_history: HistoryFactory) -> None:
    made = await make_history(1500)
    rare = made.newest_first(lambda r: r.agent == "rare-bot")
    redis = made.runtime.redis
    await redis.config_resetstat()
    page = await history.query(
        made.runtime.store, HistoryFilter(agent="rare-bot", status=Status.approved), limit=1000
    )
    loaded = (await redis.info("commandstats"))["cmdstat_hmget"]["calls"]
    assert 0 < len(rare) < 100
    assert loaded <= len(rare)  # documents loaded: only rare-bot's, never all 1500
    assert {r.id for r in page.requests} <= set(rare)


async def test_paging_is_stable_while_new_requests_arrive(make_history: HistoryFactory) -> None:
    made = await make_history(400)
    snapshot = made.newest_first(lambda r: r.agent == "infra-bot")
    filter = HistoryFilter(agent="infra-bot", action="*")  # new requests match it too
    first = await history.query(made.runtime.store, filter, None, 13)
    seen = [r.id for r in first.requests]
    made_while_paging: list[int] = []

    async def pager() -> None:
        cursor = first.next_cursor
        while cursor:
            page = await history.query(made.runtime.store, filter, cursor, 13)
            seen.extend(r.id for r in page.requests)
            made_while_paging.append(len(made.records))
            cursor = page.next_cursor
            await asyncio.sleep(0)

    async def inserter() -> None:
        for _ in range(100):
            await made.add(1, agent="infra-bot")
            await asyncio.sleep(0)

    await asyncio.gather(pager(), inserter())
    assert len(made.records) == 500
    assert 400 < made_while_paging[0] < made_while_paging[-1]  # inserts landed between pages
    assert seen == snapshot
    newest = await history.query(made.runtime.store, filter, None, 100)
    assert {r.id for r in newest.requests} == {r.id for r in made.records[400:]}


async def test_requests_created_in_the_same_millisecond_page_without_loss(
    make_history: HistoryFactory,
) -> None:
    made = await make_history(0)
    tied = [await made.make("infra-bot", KINDS[2], Status.pending) for _ in range(30)]
    assert len({r.created for r in tied}) == 1
    ids = await all_pages(made, HistoryFilter(agent="infra-bot"), limit=4)
    assert ids == sorted((r.id for r in tied), reverse=True)


async def test_a_foreign_cursor_is_refused(make_history: HistoryFactory) -> None:
    made = await make_history(3)
    for cursor in ("abc", "12:", ":req_1", "-5:req_1"):
        with pytest.raises(InvalidCursor):
            await history.query(made.runtime.store, HistoryFilter(), cursor)
