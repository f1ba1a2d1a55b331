"""Agent endpoints: submit a request, read or wait for it, cancel it, list your own."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, HTTPException, Query, Response
from pydantic import BaseModel, Field

from bot import history
from bot.api.auth import AgentDep, RuntimeDep
from bot.history import HistoryFilter, HistoryPage
from bot.models import ApprovalRequest, RequestIn, Status
from bot.service import MAX_WAIT_SECONDS

router = APIRouter(prefix="/v1", tags=["requests"])


class CancelIn(BaseModel):
    model_config = {"extra": "forbid"}
    reason: str = Field(default="", max_length=2000)


IdempotencyKey = Annotated[
    str | None, Header(alias="Idempotency-Key", max_length=200, pattern=r"^[\x21-\x7e]+$")
]


def as_json(
    request: ApprovalRequest, status_code: int = 200, headers: dict[str, str] | None = None
) -> Response:
    """The request as JSON, serialised once: the hot paths skip FastAPI's re-validation of a
    model the service just built (the schema is still `response_model` in the OpenAPI)."""
    return Response(
        request.model_dump_json(),
        status_code=status_code,
        headers=headers,
        media_type="application/json",
    )


@router.post(
    "/requests",
    status_code=201,
    response_model=ApprovalRequest,
    responses={200: {"description": "Idempotent replay: the existing request"}},
)
async def create_request(
    body: RequestIn,
    agent: AgentDep,
    runtime: RuntimeDep,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Submit an action for approval. Policy rates it; the response says what happens next."""
    if body.callback_url is not None and not runtime.webhooks_enabled:
        raise HTTPException(
            422,
            "callback_url: callbacks are not configured on this server "
            "(COUNTERSIGN_WEBHOOK_SECRET is unset)",
        )
    submitted = await runtime.service.submit(agent, body, idempotency_key)
    return as_json(
        submitted.request,
        status_code=201 if submitted.created else 200,
        headers={"Location": f"/v1/requests/{submitted.request.id}"},
    )


@router.get("/requests/{request_id}", response_model=ApprovalRequest)
async def get_request(
    request_id: str,
    agent: AgentDep,
    runtime: RuntimeDep,
    wait: Annotated[float, Query(ge=0, le=MAX_WAIT_SECONDS)] = 0,
) -> Response:
    """Read a request; with `wait`, return as soon as it is decided (long-poll)."""
    return as_json(await runtime.service.wait(request_id, agent=agent.name, seconds=wait))


@router.post("/requests/{request_id}/cancel", response_model=ApprovalRequest)
async def cancel_request(
    request_id: str, agent: AgentDep, runtime: RuntimeDep, body: CancelIn | None = None
) -> ApprovalRequest:
    """Withdraw a pending request. A decided request cannot be cancelled (409)."""
    reason = body.reason if body else ""
    return await runtime.service.cancel(
        request_id, agent=agent.name, actor=agent.name, reason=reason
    )


@router.get("/requests", response_model=HistoryPage)
async def list_requests(
    agent: AgentDep,
    runtime: RuntimeDep,
    status: Status | None = None,
    action: Annotated[str | None, Query(max_length=128, description="glob")] = None,
    environment: Annotated[str | None, Query(max_length=64, description="glob")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> HistoryPage:
    """The calling agent's own requests, newest first, with a stable cursor."""
    wanted = HistoryFilter(agent=agent.name, status=status, action=action, environment=environment)
    return await history.query(runtime.store, wanted, cursor, limit)
