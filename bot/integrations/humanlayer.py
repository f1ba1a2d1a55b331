"""The HumanLayer wire protocol under `/humanlayer/v1`, so agents built on its SDK work unchanged.

Point the SDK at Countersign with HUMANLAYER_API_BASE=<url>/humanlayer/v1 and
HUMANLAYER_API_KEY=<a Countersign agent token>.

- A function call becomes an approval request: `spec.fn` -> `action` (lower-cased, dotted-verb
  safe), `spec.kwargs` -> `params`. Policy, the two-person rule and expiry apply as to any
  request. The call is done when `status.approved` is not null; a denial, an expiry or a
  cancellation answers `approved: false` with a `comment` saying which (the SDK needs one).
- A contact request is a free-text question for humans, stored by `ContactDesk` and answered
  from Slack. Its `spec.channel.slack.channel_or_user_id` is used only when it is one of the
  agent's `question_channels`; otherwise the question goes to the default channel.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bot.api.auth import AgentDep, RuntimeDep
from bot.client.decorator import action_name, call_summary
from bot.errors import NotFound
from bot.integrations.contacts import ADAPTER, RETENTION_SECONDS, Contact, ContactDesk
from bot.models import ApprovalRequest, RequestIn, Status
from bot.principals import Principal
from bot.runtime import Runtime

log = logging.getLogger(__name__)

PREFIX = "/humanlayer/v1"
CallId = Annotated[str, Field(min_length=1, max_length=200)]


def rfc3339(moment: datetime | None) -> str | None:
    """`2026-01-01T12:00:00.000Z`: UTC, with the Z the SDK's clients expect."""
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class _Wire(BaseModel):
    model_config = ConfigDict(extra="allow")  # newer SDKs may send more; keep and echo it


class FunctionCallSpec(_Wire):
    model_config = ConfigDict(extra="allow", populate_by_name=True)

    fn: str = Field(min_length=1, max_length=200)
    arguments: dict[str, Any] = Field(default_factory=dict, alias="kwargs")


class FunctionCallIn(_Wire):
    run_id: CallId
    call_id: CallId
    spec: FunctionCallSpec


class SlackChannel(_Wire):
    channel_or_user_id: str = Field(min_length=1, max_length=100)
    allowed_responder_ids: list[Annotated[str, Field(max_length=100)]] | None = None


class ContactChannel(_Wire):
    slack: SlackChannel | None = None


class ResponseOption(_Wire):
    name: str = Field(min_length=1, max_length=100)
    title: str | None = None
    description: str | None = None
    prompt_fill: str | None = None
    interactive: bool = False


class HumanContactSpec(_Wire):
    msg: str = Field(min_length=1, max_length=4000)
    subject: str | None = None
    channel: ContactChannel | None = None
    response_options: list[ResponseOption] | None = None


class HumanContactIn(_Wire):
    run_id: CallId
    call_id: CallId
    spec: HumanContactSpec


# --- function calls ------------------------------------------------------------------------


# RequestIn's fields as the wire names them, so a refusal points at what the agent sent.
_WIRE_FIELDS = {"action": ("spec", "fn"), "summary": ("spec", "fn"), "params": ("spec", "kwargs")}


def request_for(call: FunctionCallIn) -> RequestIn:
    """The approval request a function call asks for; RequestValidationError (422) when the
    call cannot make one (e.g. kwargs over the params limit), naming the wire field."""
    try:
        return RequestIn(
            action=action_name(call.spec.fn),
            summary=call_summary(call.spec.fn, call.spec.arguments),
            params=call.spec.arguments,
            metadata={"humanlayer": {"run_id": call.run_id, "call_id": call.call_id}},
        )
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_context=False)
        for error in errors:
            wire = _WIRE_FIELDS.get(str(error["loc"][0]), (str(error["loc"][0]),))
            error["loc"] = ("body", *wire, *error["loc"][1:])
        raise RequestValidationError(errors) from None


def comment_for(request: ApprovalRequest) -> str | None:
    if request.status is Status.approved:
        return "; ".join(a.comment for a in request.approvals if a.comment) or None
    if request.status is Status.denied:
        denial = request.denial
        who = denial.user if denial else request.decided_by or "policy"
        return (denial.reason if denial and denial.reason else "") or f"Denied by {who}."
    if request.status is Status.expired:
        return f"Expired: nobody approved within {request.ttl_seconds} seconds. Not approved."
    if request.status is Status.cancelled:
        return f"Cancelled: {request.cancel_reason or 'withdrawn'}"
    return None


def function_call_view(call: FunctionCallIn, request: ApprovalRequest) -> dict[str, Any]:
    """A FunctionCall as the SDK reads it: the call as sent, with the request's decision."""
    decided = request.status.terminal
    return {
        **call.model_dump(mode="json", by_alias=True),
        "status": {
            "requested_at": rfc3339(request.created_at),
            "responded_at": rfc3339(request.decided_at) if decided else None,
            "approved": (request.status is Status.approved) if decided else None,
            "comment": comment_for(request),
            "reject_option_name": None,
            "slack_message_ts": None,
        },
        "countersign": {
            "request_id": request.id,
            "status": request.status,
            "risk": request.risk,
            "approvals": len(request.approvals),
            "required_approvals": request.required_approvals,
            "expires_at": rfc3339(request.expires_at),
        },
    }


def _call_key(runtime: Runtime, agent: str, call_id: str) -> str:
    # call_id -> {request id, the call as sent}; call ids are the agent's, so scoped by agent.
    return runtime.keys.adapter(ADAPTER, f"call:{agent}:{call_id}")


async def _remember(runtime: Runtime, agent: str, call: FunctionCallIn, request_id: str) -> None:
    key = _call_key(runtime, agent, call.call_id)
    async with runtime.redis.pipeline(transaction=True) as pipe:
        pipe.hset(
            key, mapping={"request_id": request_id, "call": call.model_dump_json(by_alias=True)}
        )
        pipe.expire(key, RETENTION_SECONDS)
        await pipe.execute()


async def _recall(runtime: Runtime, agent: str, call_id: str) -> tuple[FunctionCallIn, str]:
    request_id, call = await runtime.redis.hmget(
        _call_key(runtime, agent, call_id), ["request_id", "call"]
    )
    if request_id is None or call is None:
        raise NotFound(call_id)
    return FunctionCallIn.model_validate_json(call), _text(request_id)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


router = APIRouter(prefix=PREFIX, tags=["humanlayer"])


@router.post("/function_calls")
async def create_function_call(
    call: FunctionCallIn, agent: AgentDep, runtime: RuntimeDep
) -> dict[str, Any]:
    """Ask for approval of a function call; `GET` it until `status.approved` is not null."""
    key = f"humanlayer:{call.call_id}"  # a retried POST finds the same request
    submitted = await runtime.service.submit(agent, request_for(call), idempotency_key=key)
    await _remember(runtime, agent.name, call, submitted.request.id)
    return function_call_view(call, submitted.request)


@router.get("/function_calls/{call_id}")
async def get_function_call(call_id: str, agent: AgentDep, runtime: RuntimeDep) -> dict[str, Any]:
    call, request_id = await _recall(runtime, agent.name, call_id)
    return function_call_view(call, await runtime.service.get(request_id, agent=agent.name))


# --- contact requests ----------------------------------------------------------------------


def contact_desk(runtime: Runtime) -> ContactDesk:
    desk: ContactDesk = runtime.extras["contacts"]
    return desk


def contact_view(contact: Contact) -> dict[str, Any]:
    """A HumanContact as the SDK reads it."""
    answer = contact.answer
    return {
        "run_id": contact.run_id,
        "call_id": contact.call_id,
        "spec": contact.spec,
        "status": {
            "requested_at": rfc3339(contact.created_at),
            "responded_at": rfc3339(answer.at) if answer else None,
            "response": answer.response if answer else None,
            "response_option_name": answer.option if answer else None,
        },
        "countersign": {"contact_id": contact.id, "answered_by": answer.user if answer else None},
    }


def contact_for(agent: Principal, asked: HumanContactIn, now: datetime) -> Contact:
    """The question to store; it goes where the agent asked only if the agent may ask there."""
    spec = asked.spec
    slack = spec.channel.slack if spec.channel else None
    return Contact(
        agent=agent.name,
        call_id=asked.call_id,
        run_id=asked.run_id,
        message=spec.msg,
        subject=spec.subject,
        channel=_allowed_channel(agent, slack),
        allowed_responders=slack.allowed_responder_ids if slack else None,
        response_options=[o.model_dump(mode="json") for o in spec.response_options or []],
        spec=spec.model_dump(mode="json", exclude_unset=True),
        created_at=now,
    )


def _allowed_channel(agent: Principal, slack: SlackChannel | None) -> str | None:
    if slack is None:
        return None
    if agent.may_ask_in(slack.channel_or_user_id):
        return slack.channel_or_user_id
    log.info(
        "humanlayer: %s may not ask in %r; its question goes to the default channel",
        agent.name,
        slack.channel_or_user_id,
    )
    return None


async def create_contact(
    asked: HumanContactIn, agent: AgentDep, runtime: RuntimeDep
) -> dict[str, Any]:
    """Ask humans a question; `GET` it until `status.response` is not null."""
    contact = contact_for(agent, asked, runtime.clock())
    return contact_view(await contact_desk(runtime).ask(contact))


async def get_contact(call_id: str, agent: AgentDep, runtime: RuntimeDep) -> dict[str, Any]:
    return contact_view(await contact_desk(runtime).by_call(agent.name, call_id))


for path in ("/contact_requests", "/human_contacts"):  # the SDK uses the first; docs name both
    router.add_api_route(path, create_contact, methods=["POST"])
    router.add_api_route(f"{path}/{{call_id}}", get_contact, methods=["GET"])


def install_humanlayer(app: FastAPI, runtime: Runtime) -> None:
    """Adapter: the HumanLayer routes, and the contact desk Slack answers from."""
    runtime.extras["contacts"] = ContactDesk(runtime.redis, runtime.keys, runtime.clock)
    app.include_router(router)
