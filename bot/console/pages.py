"""The console's pages: pending requests, one request, history and the dashboard."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, StreamingResponse

from bot import history, stats
from bot.api.history import Format, export_response, history_filter
from bot.console import charts
from bot.console.web import Console, ConsoleDep, ViewerDep
from bot.errors import CountersignError, NotFound
from bot.history import HistoryFilter
from bot.models import Risk, Status, from_ms

router = APIRouter(include_in_schema=False)

FILTER_FIELDS = ("agent", "status", "risk", "approver", "action", "environment", "since", "until")
PERIODS = {"7d": "7 days", "30d": "30 days", "90d": "90 days", "all": "all time"}
PENDING_REFRESH_SECONDS = 10
PAGE_SIZE = 50


@router.get("/", response_class=HTMLResponse)
async def pending(request: Request, console: ConsoleDep, session: ViewerDep) -> HTMLResponse:
    """Requests waiting for a decision, newest first; the page refreshes itself."""
    page = await history.query(
        console.runtime.store, HistoryFilter(status=Status.pending), limit=200
    )
    return console.page(
        request,
        session,
        "pending.html",
        requests=page.requests,
        truncated=page.next_cursor is not None,
        refresh=PENDING_REFRESH_SECONDS,
    )


@router.get("/requests/{request_id}", response_class=HTMLResponse)
async def request_page(
    request_id: str, request: Request, console: ConsoleDep, session: ViewerDep, msg: str = ""
) -> HTMLResponse:
    """Everything the Slack card shows, the full diff, the votes and the audit entries."""
    runtime = console.runtime
    try:
        item = await runtime.service.get(request_id)
    except NotFound as exc:
        page = console.page(request, session, "not_found.html", message=exc.message)
        page.status_code = 404
        return page
    policy = await runtime.store.policy_of(request_id)
    entries = [_entry(e) for e in await runtime.audit.for_request(request_id)]
    return console.page(
        request,
        session,
        "request.html",
        item=item,
        audit=entries,
        msg=msg,
        demo_approvers=policy.approvers if policy and runtime.dev else [],
    )


def _entry(fields: dict[str, Any]) -> dict[str, Any]:
    """An audit entry for display: its time as a datetime, its other fields as they are."""
    shown = {k: v for k, v in fields.items() if k not in ("at", "request_id")}
    return {"at": from_ms(fields["at"]), "event": fields["event"], "fields": shown}


@router.get("/history", response_class=HTMLResponse)
async def history_page(request: Request, console: ConsoleDep, session: ViewerDep) -> HTMLResponse:
    """Filters, a page of results, links to older pages and a CSV download of every match."""
    values = _filter_values(request)
    cursor = request.query_params.get("cursor") or None
    try:
        filter = await _filter(console, values)
        page = await history.query(console.runtime.store, filter, cursor, PAGE_SIZE)
    except (CountersignError, ValueError) as exc:
        refused = console.page(
            request,
            session,
            "history.html",
            values=values,
            error=_message(exc),
            requests=[],
            statuses=list(Status),
            risks=list(Risk),
            csv_url="",
            next_url="",
            first_page=True,
        )
        refused.status_code = 400
        return refused
    query = {k: v for k, v in values.items() if v}
    next_url = f"/history?{urlencode({**query, 'cursor': page.next_cursor})}"
    return console.page(
        request,
        session,
        "history.html",
        values=values,
        error="",
        requests=page.requests,
        statuses=list(Status),
        risks=list(Risk),
        csv_url=f"/history.csv?{urlencode(query)}",
        next_url=next_url if page.next_cursor else "",
        first_page=cursor is None,
        first_url=f"/history?{urlencode(query)}",
    )


def _filter_values(request: Request) -> dict[str, str]:
    return {name: request.query_params.get(name, "").strip() for name in FILTER_FIELDS}


async def _filter(console: Console, values: dict[str, str]) -> HistoryFilter:
    """The API's filter from form fields; ValueError for a status or risk that does not exist."""
    status, risk = values["status"], values["risk"]
    return await history_filter(
        console.runtime,
        **{k: v or None for k, v in values.items() if k not in ("status", "risk")},
        status=Status(status) if status else None,
        risk=Risk(risk) if risk else None,
    )


def _message(exc: Exception) -> str:
    return exc.message if isinstance(exc, CountersignError) else "Status or risk is not valid."


@router.get("/history.csv")
async def history_csv(
    request: Request, console: ConsoleDep, session: ViewerDep
) -> StreamingResponse:
    """Every request matching the history filters, as CSV."""
    try:
        filter = await _filter(console, _filter_values(request))
    except ValueError:
        raise HTTPException(400, "Status or risk is not valid.") from None
    return export_response(console.runtime, filter, Format.csv)


@router.get("/dashboard", response_class=HTMLResponse)
async def dashboard(
    request: Request, console: ConsoleDep, session: ViewerDep, period: str = "30d"
) -> HTMLResponse:
    """Figures and charts for a period."""
    period = period if period in PERIODS else "30d"
    since = None if period == "all" else history.parse_moment(period, console.now())
    figures = await stats.stats(console.runtime.store, since)
    return console.page(
        request,
        session,
        "dashboard.html",
        stats=figures,
        period=period,
        periods=PERIODS,
        per_day=charts.requests_per_day(figures.per_day),
        decision_times=charts.decision_times(figures.decision_histogram),
        agents=charts.agents(figures.agents),
    )
