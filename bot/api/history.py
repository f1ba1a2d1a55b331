"""Auditor endpoints: request history (JSON, JSON lines, CSV), statistics and audit evidence."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, StringConstraints

from bot import history
from bot.api.auth import AuditorDep, RuntimeDep
from bot.evidence import evidence_lines
from bot.exports import csv_lines, jsonl_lines
from bot.history import HistoryFilter, HistoryPage, parse_moment
from bot.models import Risk, Status
from bot.runtime import Runtime
from bot.stats import Stats, stats

router = APIRouter(prefix="/v1", tags=["history"])


class Format(StrEnum):
    json = "json"
    jsonl = "jsonl"
    csv = "csv"


MEDIA_TYPES = {Format.jsonl: "application/x-ndjson", Format.csv: "text/csv; charset=utf-8"}
TimeText = Annotated[
    str | None, Query(description="ISO 8601 (2026-01-31T08:00Z) or an age (30d, 12h, 90m)")
]


def parse_time(runtime: Runtime, text: str | None) -> datetime | None:
    return parse_moment(text, runtime.clock()) if text else None


async def history_filter(
    runtime: RuntimeDep,
    agent: str | None = None,
    status: Status | None = None,
    risk: Risk | None = None,
    approver: Annotated[str | None, Query(description="Slack user ID that voted")] = None,
    action: Annotated[str | None, Query(description="glob, e.g. environment.*")] = None,
    environment: Annotated[str | None, Query(description="glob, e.g. prod*")] = None,
    since: TimeText = None,
    until: TimeText = None,
) -> HistoryFilter:
    """The history filters, as query parameters (shared with the web console)."""
    return HistoryFilter(
        agent=agent or None,
        status=status,
        risk=risk,
        approver=approver or None,
        action=action or None,
        environment=environment or None,
        since=parse_time(runtime, since),
        until=parse_time(runtime, until),
    )


FilterDep = Annotated[HistoryFilter, Depends(history_filter)]


def export_response(runtime: Runtime, filter: HistoryFilter, format: Format) -> StreamingResponse:
    """Every matching request, newest first, streamed as CSV or JSON lines."""
    requests = history.iterate(runtime.store, filter)
    lines = csv_lines(requests) if format is Format.csv else jsonl_lines(requests)
    name = f"countersign-history.{format.value}"
    return StreamingResponse(
        lines,
        media_type=MEDIA_TYPES[format],
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get(
    "/history",
    response_model=HistoryPage,
    responses={200: {"content": {MEDIA_TYPES[Format.csv]: {}, MEDIA_TYPES[Format.jsonl]: {}}}},
)
async def get_history(
    auditor: AuditorDep,
    runtime: RuntimeDep,
    filter: FilterDep,
    format: Format = Format.json,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=history.MAX_LIMIT)] = 50,
) -> Any:
    """Requests, newest first. `json` is one page (follow `next_cursor`); `csv` and `jsonl`
    stream every match."""
    if format is not Format.json:
        return export_response(runtime, filter, format)
    return await history.query(runtime.store, filter, cursor, limit)


@router.get("/stats", response_model=Stats)
async def get_stats(
    auditor: AuditorDep, runtime: RuntimeDep, since: TimeText = None, until: TimeText = None
) -> Stats:
    """Counts, rates and time to decision over the requests created in [since, until)."""
    return await stats(runtime.store, parse_time(runtime, since), parse_time(runtime, until))


class AuditVerdict(BaseModel):
    intact: bool
    entries: int
    first_bad: str | None
    problem: str
    head: str
    message: str


Checkpoints = Annotated[
    list[Annotated[str, StringConstraints(pattern=r"^[0-9a-fA-F]{64}$")]] | None,
    Query(
        alias="checkpoint",
        max_length=100,
        description="a head hash recorded earlier outside Redis; repeatable. The chain must "
        "still contain each one (it would not after someone rebuilt the log).",
    ),
]


@router.get("/audit/verify", response_model=AuditVerdict, tags=["audit"])
async def verify_audit(
    auditor: AuditorDep, runtime: RuntimeDep, checkpoints: Checkpoints = None
) -> AuditVerdict:
    """Walk the hash-chained audit log: "intact: N entries" or the first bad entry."""
    verdict = await runtime.audit.verify(checkpoints or [])
    head = verdict.head  # the one the walk checked up to; when broken, what Redis holds now
    if not verdict.intact:
        stored = await runtime.redis.get(runtime.keys.audit_head)
        head = stored.decode() if isinstance(stored, bytes) else stored or ""
    return AuditVerdict(
        intact=verdict.intact,
        entries=verdict.entries,
        first_bad=verdict.first_bad,
        problem=verdict.problem,
        head=head,
        message=str(verdict),
    )


@router.get(
    "/audit/entries",
    tags=["audit"],
    response_class=StreamingResponse,
    responses={200: {"content": {MEDIA_TYPES[Format.jsonl]: {}}}},
)
async def export_audit(
    auditor: AuditorDep, runtime: RuntimeDep, since: TimeText = None
) -> StreamingResponse:
    """Audit entries appended since a time, oldest first, as JSON lines that verify offline."""
    lines: AsyncIterator[str] = evidence_lines(runtime.audit, parse_time(runtime, since))
    return StreamingResponse(lines, media_type=MEDIA_TYPES[Format.jsonl])
