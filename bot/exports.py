"""History as files: one CSV row or JSON line per request, streamed as it is read.

CSV cells that a spreadsheet would run as a formula (starting with = + - @, a tab or a carriage
return) get a leading apostrophe, so agent-supplied text can never execute in Excel or Sheets.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterable, AsyncIterator
from datetime import datetime

from bot.models import ApprovalRequest

CSV_COLUMNS = (
    "id",
    "action_hash",
    "agent",
    "on_behalf_of",
    "action",
    "summary",
    "resource",
    "environment",
    "risk",
    "outcome",
    "approvers",
    "denied_by",
    "denial_reason",
    "decided_by",
    "created_at",
    "decided_at",
    "seconds_to_decision",
)
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(cell: str) -> str:
    """Make a cell inert in spreadsheets: formulas become text."""
    return "'" + cell if cell.startswith(FORMULA_STARTS) else cell


def seconds_to_decision(request: ApprovalRequest) -> float | None:
    if request.decided_at is None:
        return None
    return (request.decided_at - request.created_at).total_seconds()


def csv_cells(request: ApprovalRequest) -> list[str]:
    denial = request.denial
    took = seconds_to_decision(request)
    cells = [
        request.id,
        request.action_hash,
        request.agent,
        request.on_behalf_of or "",
        request.action,
        request.summary,
        request.resource,
        request.environment,
        request.risk.value,
        request.status.value,
        ";".join(a.user for a in request.approvals),
        denial.user if denial else "",
        denial.reason if denial else "",
        request.decided_by or "",
        _iso(request.created_at),
        _iso(request.decided_at),
        "" if took is None else f"{took:g}",
    ]
    return [neutralise(cell) for cell in cells]


async def csv_lines(requests: AsyncIterable[ApprovalRequest]) -> AsyncIterator[str]:
    """The header, then one CSV line per request."""
    yield _csv_line(list(CSV_COLUMNS))
    async for request in requests:
        yield _csv_line(csv_cells(request))


async def jsonl_lines(requests: AsyncIterable[ApprovalRequest]) -> AsyncIterator[str]:
    async for request in requests:
        yield json.dumps(request.model_dump(mode="json"), ensure_ascii=False) + "\n"


def _csv_line(cells: list[str]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerow(cells)
    return out.getvalue()


def _iso(moment: datetime | None) -> str:
    return moment.isoformat().replace("+00:00", "Z") if moment else ""
