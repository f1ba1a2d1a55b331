"""`countersign dev` only: vote as one of the demo approvers, as Slack buttons would."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse

from bot.console.web import CheckedDep, ConsoleDep
from bot.errors import CountersignError

router = APIRouter(include_in_schema=False)

# Fixed tokens `countersign dev` registers and prints; never valid outside dev mode.
DEV_TOKEN = "cs_dev_demo_token_not_secret"  # noqa: S105
DEV_AUDITOR_TOKEN = "cs_dev_auditor_token_not_secret"  # noqa: S105


@router.post("/requests/{request_id}/vote")
async def vote(
    request_id: str,
    request: Request,
    console: ConsoleDep,
    session: CheckedDep,
    user: Annotated[str, Form(max_length=64)],
    vote: Annotated[str, Form(pattern="^(approve|deny)$")],
    reason: Annotated[str, Form(max_length=2000)] = "",
) -> RedirectResponse:
    """Vote as a demo approver; the outcome shows at the top of the request page."""
    try:
        decided = await console.runtime.service.vote(
            request_id, user, approve=vote == "approve", comment=reason
        )
        msg = f"{user} voted {vote}: the request is {decided.status}."
    except CountersignError as exc:
        msg = f"Refused: {exc.message}"
    url = f"/requests/{request_id}?{urlencode({'msg': msg})}"
    return console.redirect(request, session, url)
