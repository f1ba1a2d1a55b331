"""Who may call what: bad tokens, guessing, other agents' requests, and role boundaries."""

from __future__ import annotations

import secrets

from bot.api.auth import FAILED_AUTH_PER_MINUTE
from bot.principals import Role
from tests.conftest import AgentFactory, Api, ApiFactory

DEPLOY = {"action": "deploy.service", "summary": "Deploy api v2", "environment": "staging"}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def _create(api: Api, token: str) -> str:
    response = await api.client.post("/v1/requests", json=DEPLOY, headers=bearer(token))
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def test_wrong_and_missing_tokens_are_refused(
    serve_api: ApiFactory, add_agent: AgentFactory
) -> None:
    _, token = await add_agent()
    async with serve_api() as api:
        for headers in ({}, bearer(token + "x"), bearer(token.upper()), {"Authorization": token}):
            response = await api.client.post("/v1/requests", json=DEPLOY, headers=headers)
            assert response.status_code == 401, headers
            assert response.headers["WWW-Authenticate"] == "Bearer"
            assert response.json()["error"]["code"] == "unauthorized"


async def test_guessing_is_rate_limited_and_never_succeeds(
    serve_api: ApiFactory, add_agent: AgentFactory
) -> None:
    _, token = await add_agent()
    async with serve_api() as api:
        statuses = []
        for _ in range(FAILED_AUTH_PER_MINUTE + 10):
            guess = "cs_" + secrets.token_urlsafe(32)
            response = await api.client.get("/v1/requests", headers=bearer(guess))
            statuses.append(response.status_code)
            if response.status_code == 429:
                assert int(response.headers["Retry-After"]) >= 1
        assert statuses[:FAILED_AUTH_PER_MINUTE] == [401] * FAILED_AUTH_PER_MINUTE
        assert set(statuses[FAILED_AUTH_PER_MINUTE:]) == {429}
        # the holder of a real token is not locked out by someone else's guessing
        assert (await api.client.get("/v1/requests", headers=bearer(token))).status_code == 200


async def test_an_agent_over_its_rate_gets_429_with_retry_after(
    serve_api: ApiFactory, add_agent: AgentFactory
) -> None:
    _, token = await add_agent("slow-bot", rate_per_minute=5)
    async with serve_api() as api:
        codes = [
            (await api.client.get("/v1/requests", headers=bearer(token))).status_code
            for _ in range(7)
        ]
        assert codes == [200] * 5 + [429] * 2
        limited = await api.client.get("/v1/requests", headers=bearer(token))
        assert 1 <= int(limited.headers["Retry-After"]) <= 60


async def test_an_agent_cannot_see_or_touch_another_agents_requests(
    serve_api: ApiFactory, add_agent: AgentFactory
) -> None:
    _, alice = await add_agent("alice-bot")
    _, mallory = await add_agent("mallory-bot")
    async with serve_api() as api:
        request_id = await _create(api, alice)
        path = f"/v1/requests/{request_id}"
        assert (await api.client.get(path, headers=bearer(mallory))).status_code == 404
        waited = await api.client.get(path, params={"wait": 1}, headers=bearer(mallory))
        assert waited.status_code == 404
        cancel = await api.client.post(f"{path}/cancel", json={}, headers=bearer(mallory))
        assert cancel.status_code == 404
        listed = await api.client.get("/v1/requests", headers=bearer(mallory))
        assert listed.json()["requests"] == []
        mine = await api.client.get(path, headers=bearer(alice))
        assert mine.json()["status"] == "pending"  # mallory's cancel changed nothing


async def test_agent_tokens_cannot_read_history(
    serve_api: ApiFactory, add_agent: AgentFactory
) -> None:
    _, token = await add_agent()
    async with serve_api() as api:
        await _create(api, token)
        for path in ("/v1/history", "/v1/history?format=csv", "/v1/stats"):
            response = await api.client.get(path, headers=bearer(token))
            assert response.status_code == 403, path


async def test_auditor_tokens_cannot_create_cancel_or_read_requests(
    serve_api: ApiFactory, add_agent: AgentFactory
) -> None:
    _, agent = await add_agent()
    _, auditor = await add_agent("soc2-auditor", role=Role.auditor)
    async with serve_api() as api:
        request_id = await _create(api, agent)
        created = await api.client.post("/v1/requests", json=DEPLOY, headers=bearer(auditor))
        assert created.status_code == 403
        path = f"/v1/requests/{request_id}"
        assert (await api.client.get(path, headers=bearer(auditor))).status_code == 403
        cancel = await api.client.post(f"{path}/cancel", json={}, headers=bearer(auditor))
        assert cancel.status_code == 403
        history = await api.client.get("/v1/history", headers=bearer(auditor))
        assert history.status_code == 200
        assert [r["id"] for r in history.json()["requests"]] == [request_id]
