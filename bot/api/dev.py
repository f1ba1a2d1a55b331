"""Dev-only console (`countersign dev`): act as demo approvers without Slack."""

from __future__ import annotations

from html import escape
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, FastAPI, Form
from fastapi.responses import HTMLResponse, RedirectResponse

from bot.api.auth import RuntimeDep
from bot.errors import CountersignError
from bot.models import ApprovalRequest, Status
from bot.runtime import Runtime

DEV_TOKEN = "cs_dev_demo_token_not_secret"  # noqa: S105 - dev mode only, printed on start

router = APIRouter(prefix="/dev", include_in_schema=False)

_STYLE = """body{font:15px system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}
.card{border:1px solid #ccc;border-radius:8px;padding:1rem;margin:1rem 0}
.risk-critical,.risk-high{color:#b00020;font-weight:bold} pre{background:#f6f6f6;padding:.5rem;
overflow:auto;max-height:12rem} button{margin:.2rem} .msg{background:#fff3cd;padding:.5rem}"""


def install_dev_console(app: FastAPI, runtime: Runtime) -> None:
    app.include_router(router)


@router.get("", response_class=HTMLResponse)
async def console(runtime: RuntimeDep, msg: str = "") -> HTMLResponse:
    ids = await runtime.store.ids_by_score(runtime.keys.by_created, count=20)
    requests = await runtime.store.get_many(ids)
    cards = "".join([await _card(runtime, r) for r in requests]) or "<p>No requests yet.</p>"
    notice = f'<p class="msg">{escape(msg)}</p>' if msg else ""
    page = (
        f"<!doctype html><meta charset=utf-8><meta name=viewport content='width=device-width'>"
        f"<meta http-equiv=refresh content=5><title>Countersign dev</title>"
        f"<style>{_STYLE}</style><h1>Countersign dev console</h1>{notice}{cards}"
    )
    return HTMLResponse(page)


async def _card(runtime: Runtime, request: ApprovalRequest) -> str:
    policy = await runtime.store.policy_of(request.id)
    voters = policy.approvers if policy else []
    buttons = ""
    if request.status is Status.pending:
        buttons = "".join(_vote_form(request.id, user) for user in voters)
    approvals = ", ".join(a.user for a in request.approvals) or "none"
    denial = (
        f"<p>Denied by {escape(request.denial.user)}: {escape(request.denial.reason)}</p>"
        if request.denial
        else ""
    )
    return (
        f'<div class="card"><b class="risk-{request.risk}">{request.risk.upper()}</b> '
        f"{escape(request.summary)} <code>{escape(request.id)}</code><br>"
        f"status <b>{request.status}</b> · approvals {len(request.approvals)} of "
        f"{request.required_approvals} ({escape(approvals)}) · agent {escape(request.agent)}"
        f"<br>reasons: {escape('; '.join(request.risk_reasons))}"
        f"<pre>{escape(str(request.command))}</pre>{denial}{buttons}</div>"
    )


def _vote_form(request_id: str, user: str) -> str:
    rid, who = escape(request_id), escape(user)
    return (
        f'<form method=post action="/dev/requests/{rid}/vote" style="display:inline">'
        f'<input type=hidden name=user value="{who}">'
        f"<button name=vote value=approve>Approve as {who}</button>"
        f"<button name=vote value=deny>Deny as {who}</button></form>"
    )


@router.post("/requests/{request_id}/vote")
async def vote(
    request_id: str,
    runtime: RuntimeDep,
    user: Annotated[str, Form()],
    vote: Annotated[str, Form(pattern="^(approve|deny)$")],
    reason: Annotated[str, Form(max_length=2000)] = "",
) -> RedirectResponse:
    """Vote as a demo approver; the result shows at the top of the console."""
    try:
        request = await runtime.service.vote(
            request_id, user, approve=vote == "approve", comment=reason
        )
        msg = f"{user} voted {vote}: request is {request.status}"
    except CountersignError as exc:
        msg = f"Refused: {exc.message}"
    return RedirectResponse(f"/dev?{urlencode({'msg': msg})}", status_code=303)
