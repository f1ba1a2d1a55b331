"""The real `humanlayer` SDK (0.7.x), unchanged, against Countersign's `/humanlayer/v1`."""

from __future__ import annotations

import asyncio
import re
import time
from typing import Any

import pytest
from humanlayer import FunctionCallSpec, HumanLayer
from humanlayer.core.models import HumanContactSpec

from bot.integrations.humanlayer import contact_desk
from tests.conftest import AgentFactory
from tests.integrations.conftest import Gateway

RFC3339_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")


def sdk_for(gateway: Gateway, monkeypatch: pytest.MonkeyPatch) -> HumanLayer:
    """The SDK configured the documented way: HUMANLAYER_API_BASE and HUMANLAYER_API_KEY."""
    monkeypatch.setenv("HUMANLAYER_API_BASE", f"{gateway.url}/humanlayer/v1")
    monkeypatch.setenv("HUMANLAYER_API_KEY", gateway.token)
    return HumanLayer(agent_name="infra-bot", sleep=lambda _: time.sleep(0.05))


@pytest.fixture
def humanlayer(gateway: Gateway, monkeypatch: pytest.MonkeyPatch) -> HumanLayer:
    return sdk_for(gateway, monkeypatch)


async def test_require_approval_runs_the_function_once_approved(
    slack_gateway: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    gateway = slack_gateway  # approvals are signed clicks on the Slack card
    ran = []
    humanlayer = sdk_for(gateway, monkeypatch)

    @humanlayer.require_approval()
    def scale_service(service: str, replicas: int) -> str:
        ran.append(replicas)
        return f"{service} scaled to {replicas}"

    calling = asyncio.create_task(asyncio.to_thread(scale_service, service="web", replicas=6))
    request = await gateway.pending()
    assert request.action == "scale_service"
    assert request.params == {"service": "web", "replicas": 6}
    assert request.metadata["humanlayer"]["call_id"].startswith("call-")
    await gateway.approve(request.id)
    assert await calling == "web scaled to 6"
    assert ran == [6]


async def test_denial_returns_the_approvers_comment_and_never_runs(
    gateway: Gateway, humanlayer: HumanLayer
) -> None:
    ran = []

    @humanlayer.require_approval()
    def delete_bucket(name: str) -> None:
        ran.append(name)

    calling = asyncio.create_task(asyncio.to_thread(delete_bucket, name="prod-logs"))
    await gateway.decide_next("deny", reason="retention policy: keep 7 years")
    assert await calling == "User denied delete_bucket with message: retention policy: keep 7 years"
    assert ran == []


async def test_expiry_completes_as_not_approved_with_a_comment(
    gateway: Gateway, humanlayer: HumanLayer
) -> None:
    spec = FunctionCallSpec(fn="rotate_keys", kwargs={"account": "billing"})
    fetching = asyncio.create_task(asyncio.to_thread(humanlayer.fetch_approval, spec))
    await gateway.decide_next("expire")
    completed = await fetching
    outcome = completed.as_completed()
    assert outcome.approved is False
    assert outcome.comment and outcome.comment.startswith("Expired")
    status = completed.call.status
    assert status is not None and status.responded_at is not None


async def test_wire_format_echoes_the_call_with_rfc3339_utc_times(gateway: Gateway) -> None:
    call = {
        "run_id": "r-1",
        "call_id": "call-wire",
        "spec": {"fn": "Send-Email", "kwargs": {"to": "x"}, "state": {"k": 1}},
    }
    auth = gateway.api.auth(gateway.token)
    created = (
        await gateway.api.client.post("/humanlayer/v1/function_calls", json=call, headers=auth)
    ).json()
    assert created["spec"] == call["spec"]
    assert created["status"]["approved"] is None
    assert RFC3339_Z.match(created["status"]["requested_at"])
    await gateway.approve(created["countersign"]["request_id"])
    read = await gateway.api.client.get("/humanlayer/v1/function_calls/call-wire", headers=auth)
    assert read.json()["status"]["approved"] is True
    assert RFC3339_Z.match(read.json()["status"]["responded_at"])
    missing = await gateway.api.client.get("/humanlayer/v1/function_calls/nope", headers=auth)
    assert missing.status_code == 404


async def test_contact_request_is_answered_by_a_human(
    gateway: Gateway, humanlayer: HumanLayer
) -> None:
    asked: list[str] = []
    desk = contact_desk(gateway.api.runtime)

    async def post_to_slack(contact: object) -> None:
        asked.append(contact.message)

    desk.on_asked.append(post_to_slack)
    spec = HumanContactSpec(msg="Which region should the replica go to?")
    fetching = asyncio.create_task(asyncio.to_thread(humanlayer.fetch_human_response, spec))
    async with asyncio.timeout(10):
        while not (pending := await desk.pending()):
            await asyncio.sleep(0.02)
    assert asked == ["Which region should the replica go to?"]
    await desk.answer(pending[0].id, "U0ALICE01", "eu-west-1, next to the primary")
    await desk.answer(pending[0].id, "U0BOB0002", "us-east-1")  # too late: the first answer stands
    completed = await fetching
    assert completed.as_completed() == "eu-west-1, next to the primary"
    assert await desk.pending() == []


async def test_function_names_become_valid_actions(gateway: Gateway) -> None:
    auth = gateway.api.auth(gateway.token)
    for call_id, fn, action in [
        ("c-dots", "Ops..Restart", "ops.restart"),
        ("c-long", "x" * 200, "x" * 128),
    ]:
        call = {"run_id": "r", "call_id": call_id, "spec": {"fn": fn, "kwargs": {}}}
        made = await gateway.api.client.post(
            "/humanlayer/v1/function_calls", json=call, headers=auth
        )
        assert made.status_code == 200, made.text
        request = await gateway.api.runtime.service.get(made.json()["countersign"]["request_id"])
        assert request.action == action and made.json()["spec"]["fn"] == fn


async def test_bad_wire_input_is_a_422_naming_the_field(gateway: Gateway) -> None:
    auth = gateway.api.auth(gateway.token)
    deep: Any = 1
    for _ in range(40):
        deep = [deep]
    calls = [
        ("function_calls", {"fn": "f", "kwargs": {"blob": "x" * 70_000}}, "spec.kwargs"),
        ("function_calls", {"fn": "f", "kwargs": {"deep": deep}}, "spec.kwargs"),
        ("contact_requests", {"msg": "hi", "channel": "C123"}, "spec.channel"),
        ("contact_requests", {"msg": "hi", "channel": {"slack": "C123"}}, "spec.channel.slack"),
        ("contact_requests", {"msg": "hi", "response_options": "x"}, "spec.response_options"),
        (
            "contact_requests",
            {"msg": "hi", "response_options": [{"title": "t"}]},
            "spec.response_options.0.name",
        ),
    ]
    for n, (path, spec, field) in enumerate(calls):
        body = {"run_id": "r", "call_id": f"bad-{n}", "spec": spec}
        response = await gateway.api.client.post(f"/humanlayer/v1/{path}", json=body, headers=auth)
        assert response.status_code == 422, (spec, response.text)
        fields = [d["field"] for d in response.json()["error"]["details"]]
        assert field in fields, (field, fields)
    missing = await gateway.api.client.get("/humanlayer/v1/contact_requests/nope", headers=auth)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"


async def test_questions_go_only_to_channels_the_agent_may_use(
    gateway: Gateway, add_agent: AgentFactory
) -> None:
    _, token = await add_agent("asker", question_channels=["C0OPS0001"])
    desk = contact_desk(gateway.api.runtime)
    for agent_token, call_id, channel, lands in [
        (token, "q-allowed", "C0OPS0001", "C0OPS0001"),
        (token, "q-elsewhere", "C0CEO0001", None),
        (gateway.token, "q-no-list", "C0OPS0001", None),
    ]:
        spec = {"msg": "Which region?", "channel": {"slack": {"channel_or_user_id": channel}}}
        body = {"run_id": "r", "call_id": call_id, "spec": spec}
        asked = await gateway.api.client.post(
            "/humanlayer/v1/contact_requests", json=body, headers=gateway.api.auth(agent_token)
        )
        assert asked.status_code == 200, asked.text
        assert asked.json()["spec"] == spec  # the wire echoes what was sent
        contact = await desk.get(asked.json()["countersign"]["contact_id"])
        assert contact.channel == lands, call_id
