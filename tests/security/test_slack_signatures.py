"""Slack requests must be signed, fresh and new: forged, stale and replayed clicks change
nothing, and a replayed vote never counts twice."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from urllib.parse import urlencode

import pytest
from pydantic import SecretStr

from bot.settings import Settings
from bot.slack.actions import Action
from bot.slack.adapter import slack_adapter
from tests.conftest import AgentFactory, Api, ApiFactory, RuntimeFactory
from tests.faults.conftest import fake_slack  # noqa: F401 - the fixture
from tests.faults.processes import SIGNING_SECRET
from tests.support.fake_slack import FakeSlack
from tests.support.slack_signing import block_action, signed_headers

PROD = {
    "action": "environment.recreate",
    "summary": "Recreate prod",
    "environment": "prod",
    "on_behalf_of": "U0OWNER01",
}


@pytest.fixture
async def slack_api(
    serve_api: ApiFactory,
    make_runtime: RuntimeFactory,
    settings: Settings,
    fake_slack: FakeSlack,  # noqa: F811
) -> AsyncIterator[Api]:
    slack = settings.model_copy(
        update={
            "slack_bot_token": SecretStr("xoxb-security"),
            "slack_signing_secret": SecretStr(SIGNING_SECRET),
            "slack_api_url": fake_slack.api_url,
        }
    )
    async with serve_api(
        runtime=make_runtime(settings=slack), adapters=[slack_adapter(slack)]
    ) as api:
        yield api


def _click_body(user: str, request_id: str) -> bytes:
    payload = block_action(user, Action.approve, request_id, channel="C0X", ts="1.0")
    return urlencode({"payload": json.dumps(payload)}).encode()


async def _post(api: Api, body: bytes, headers: dict[str, str]) -> int:
    headers = {**headers, "Content-Type": "application/x-www-form-urlencoded"}
    return (await api.client.post("/slack/events", content=body, headers=headers)).status_code


async def _approvals(api: Api, token: str, request_id: str) -> list[str]:
    found = await api.client.get(f"/v1/requests/{request_id}", headers=api.auth(token))
    return [a["user"] for a in found.json()["approvals"]]


async def test_forged_stale_and_replayed_clicks_change_nothing(
    slack_api: Api,
    add_agent: AgentFactory,
    fake_slack: FakeSlack,  # noqa: F811
) -> None:
    _, token = await add_agent()
    created = await slack_api.client.post("/v1/requests", json=PROD, headers=slack_api.auth(token))
    request_id = created.json()["id"]

    forged = _click_body("U0ALICE01", request_id)
    assert await _post(slack_api, forged, signed_headers("not-the-secret", forged)) == 401
    assert await _post(slack_api, forged, {}) == 401
    stale = signed_headers(SIGNING_SECRET, forged, timestamp=int(time.time()) - 600)
    assert await _post(slack_api, forged, stale) == 401
    tampered = signed_headers(SIGNING_SECRET, forged)
    other = _click_body("U0BOB0002", request_id)  # a different body under that signature
    assert await _post(slack_api, other, tampered) == 401
    assert await _approvals(slack_api, token, request_id) == []

    body = _click_body("U0ALICE01", request_id)
    headers = signed_headers(SIGNING_SECRET, body)
    for _ in range(3):  # the same signed delivery, replayed
        assert await _post(slack_api, body, headers) == 200
    again = _click_body("U0ALICE01", request_id)  # a fresh click by the same person
    assert await _post(slack_api, again, signed_headers(SIGNING_SECRET, again)) == 200
    # clicks are acknowledged first and processed after: wait for the vote, then the refusal
    await fake_slack.wait_until(
        lambda: [e for e in fake_slack.ephemerals if e["user"] == "U0ALICE01"]
    )
    assert await _approvals(slack_api, token, request_id) == ["U0ALICE01"]
    found = await slack_api.client.get(f"/v1/requests/{request_id}", headers=slack_api.auth(token))
    assert found.json()["status"] == "pending"  # critical: one approval is not enough
    votes = [
        e for e in await slack_api.runtime.audit.for_request(request_id) if e["event"] == "vote"
    ]
    assert len(votes) == 1
