"""The agent API over real HTTP: happy paths and every error code."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from bot.clock import ManualClock
from bot.principals import Role
from tests.conftest import AgentFactory, Api, ApiFactory

BODY: dict[str, Any] = {
    "action": "deploy.api",
    "summary": "Deploy api v42",
    "resource": "api",
    "environment": "staging",
    "command": ["kubectl", "apply", "-f", "api.yaml"],
}


async def create(api: Api, token: str, **fields: Any) -> Any:
    return await api.client.post("/v1/requests", json={**BODY, **fields}, headers=api.auth(token))


async def test_create_read_and_list(serve_api: ApiFactory, add_agent: AgentFactory) -> None:
    _, token = await add_agent()
    async with serve_api() as api:
        created = await create(api, token)
        assert created.status_code == 201
        body = created.json()
        assert created.headers["location"] == f"/v1/requests/{body['id']}"
        assert body["status"] == "pending" and body["risk"] == "medium"
        assert len(body["action_hash"]) == 64
        read = await api.client.get(f"/v1/requests/{body['id']}", headers=api.auth(token))
        assert read.json() == body
        listed = await api.client.get("/v1/requests", headers=api.auth(token))
        assert [r["id"] for r in listed.json()["requests"]] == [body["id"]]


async def test_validation_errors_name_the_field(
    serve_api: ApiFactory, add_agent: AgentFactory
) -> None:
    _, token = await add_agent()
    cases = [
        ({"summary": "x" * 301}, "summary"),
        ({"action": "Not A Verb!"}, "action"),
        ({"surprise": 1}, "surprise"),
        ({"scope": {"permissions": ["p"] * 501}}, "scope.permissions"),
        ({"metadata": {"blob": "x" * 17000}}, "metadata"),
        ({"on_behalf_of": "@channel"}, "on_behalf_of"),
        ({"ttl_seconds": 5}, "ttl_seconds"),
    ]
    async with serve_api() as api:
        for fields, field in cases:
            response = await create(api, token, **fields)
            assert response.status_code == 422, fields
            details = response.json()["error"]["details"]
            assert any(d["field"].startswith(field) for d in details), (field, details)
        garbage = await api.client.post(
            "/v1/requests",
            content=b"{not json",
            headers={**api.auth(token), "Content-Type": "application/json"},
        )
        assert garbage.status_code == 422


def nested(depth: int) -> Any:
    """Objects and arrays nested `depth` levels deep, alternating."""
    value: Any = "bottom"
    for level in range(depth):
        value = {"next": value} if level % 2 else [value]
    return value


async def test_deep_nesting_and_non_finite_numbers_are_refused(
    serve_api: ApiFactory, add_agent: AgentFactory
) -> None:
    _, token = await add_agent()
    raw = json.dumps(BODY)[:-1]
    async with serve_api() as api:
        assert (await create(api, token, params={"p": nested(31)})).status_code == 201
        refusals = [
            (await create(api, token, params={"p": nested(500)}), "params", "deeper than 32"),
            (await create(api, token, metadata={"m": nested(32)}), "metadata", "deeper than 32"),
        ]
        for field, number in [("params", "NaN"), ("metadata", "-Infinity")]:
            body = f'{raw}, "{field}": {{"x": [1, {number}]}}}}'
            sent = await api.client.post(
                "/v1/requests",
                content=body.encode(),
                headers={**api.auth(token), "Content-Type": "application/json"},
            )
            refusals.append((sent, field, "NaN or Infinity"))
        for response, field, reason in refusals:
            assert response.status_code == 422, response.text
            (detail,) = response.json()["error"]["details"]
            assert detail["field"] == field and reason in detail["reason"], detail


async def test_auth_errors(serve_api: ApiFactory, add_agent: AgentFactory) -> None:
    await add_agent()
    _, auditor = await add_agent("auditor-1", role=Role.auditor)
    async with serve_api() as api:
        assert (await api.client.post("/v1/requests", json=BODY)).status_code == 401
        wrong = await create(api, "cs_wrong")
        assert wrong.status_code == 401 and wrong.headers["www-authenticate"] == "Bearer"
        assert (await create(api, auditor)).status_code == 403


async def test_agent_limited_to_environments(
    serve_api: ApiFactory, add_agent: AgentFactory
) -> None:
    _, token = await add_agent(environments=["staging"])
    async with serve_api() as api:
        assert (await create(api, token)).status_code == 201
        refused = await create(api, token, environment="prod")
        assert refused.status_code == 403
        assert "may not request" in refused.json()["error"]["message"]


async def test_other_agents_requests_are_invisible(
    serve_api: ApiFactory, add_agent: AgentFactory
) -> None:
    _, mine = await add_agent("bot-a")
    _, theirs = await add_agent("bot-b")
    async with serve_api() as api:
        request_id = (await create(api, mine)).json()["id"]
        for call in (
            api.client.get(f"/v1/requests/{request_id}", headers=api.auth(theirs)),
            api.client.post(f"/v1/requests/{request_id}/cancel", headers=api.auth(theirs)),
        ):
            assert (await call).status_code == 404
        listed = await api.client.get("/v1/requests", headers=api.auth(theirs))
        assert listed.json()["requests"] == []


async def test_idempotency_key(serve_api: ApiFactory, add_agent: AgentFactory) -> None:
    _, token = await add_agent()
    headers = {"Idempotency-Key": "run-7"}
    async with serve_api() as api:
        auth = {**api.auth(token), **headers}
        first = await api.client.post("/v1/requests", json=BODY, headers=auth)
        again = await api.client.post("/v1/requests", json=BODY, headers=auth)
        assert (first.status_code, again.status_code) == (201, 200)
        assert first.json()["id"] == again.json()["id"]
        changed = await api.client.post(
            "/v1/requests", json={**BODY, "summary": "other"}, headers=auth
        )
        assert changed.status_code == 409
        assert changed.json()["error"]["code"] == "idempotencyconflict"


async def test_cancel_and_conflict(serve_api: ApiFactory, add_agent: AgentFactory) -> None:
    _, token = await add_agent()
    async with serve_api() as api:
        request_id = (await create(api, token)).json()["id"]
        url = f"/v1/requests/{request_id}/cancel"
        cancelled = await api.client.post(
            url, json={"reason": "not needed"}, headers=api.auth(token)
        )
        assert cancelled.json()["status"] == "cancelled"
        again = await api.client.post(url, headers=api.auth(token))
        assert again.status_code == 409
        assert again.json()["error"] == {
            "code": "already_decided",
            "status": "cancelled",
            "message": "This request is already cancelled; votes are closed.",
        }


async def test_unknown_request_is_404(serve_api: ApiFactory, add_agent: AgentFactory) -> None:
    _, token = await add_agent()
    async with serve_api() as api:
        response = await api.client.get("/v1/requests/req_missing", headers=api.auth(token))
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "notfound"


async def test_oversize_body_is_413(serve_api: ApiFactory, add_agent: AgentFactory) -> None:
    _, token = await add_agent()
    async with serve_api() as api:
        response = await create(api, token, diff="x" * (9 * 1024 * 1024))
        assert response.status_code == 413
        just_over_diff_limit = await create(api, token, diff="x" * (1024 * 1024 + 1))
        assert just_over_diff_limit.status_code == 422


async def test_one_mib_diff_is_accepted(serve_api: ApiFactory, add_agent: AgentFactory) -> None:
    _, token = await add_agent()
    async with serve_api() as api:
        response = await create(api, token, diff="+line\n" * (1024 * 1024 // 6))
        assert response.status_code == 201


async def test_rate_limit_with_retry_after(serve_api: ApiFactory, add_agent: AgentFactory) -> None:
    _, token = await add_agent(rate_per_minute=3)
    async with serve_api() as api:
        codes = [(await create(api, token)).status_code for _ in range(3)]
        limited = await create(api, token)
        assert codes == [201, 201, 201]
        assert limited.status_code == 429
        assert 1 <= int(limited.headers["retry-after"]) <= 60


async def test_guessing_tokens_is_rate_limited(serve_api: ApiFactory) -> None:
    async with serve_api() as api:
        codes = [(await create(api, f"cs_guess_{n}")).status_code for n in range(31)]
        assert codes[:30] == [401] * 30
        assert codes[30] == 429


async def test_long_poll_over_http(serve_api: ApiFactory, add_agent: AgentFactory) -> None:
    _, token = await add_agent()
    async with serve_api() as api:
        request_id = (await create(api, token)).json()["id"]
        waiting = asyncio.create_task(
            api.client.get(
                f"/v1/requests/{request_id}", params={"wait": 30}, headers=api.auth(token)
            )
        )
        await asyncio.sleep(0.1)
        await api.runtime.service.vote(request_id, "U0ALICE01", approve=True)
        response = await asyncio.wait_for(waiting, 20)
        assert response.json()["status"] == "approved"
        too_long = await api.client.get(
            f"/v1/requests/{request_id}", params={"wait": 56}, headers=api.auth(token)
        )
        assert too_long.status_code == 422


async def test_expired_is_reported_as_expired(
    serve_api: ApiFactory, add_agent: AgentFactory, clock: ManualClock
) -> None:
    _, token = await add_agent()
    async with serve_api() as api:
        request_id = (await create(api, token)).json()["id"]
        clock.advance(3600)
        await api.runtime.service.sweep()
        body = (await api.client.get(f"/v1/requests/{request_id}", headers=api.auth(token))).json()
        assert (body["status"], body["grant"], body["decided_by"]) == ("expired", None, "system")


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/openapi.json", "/v1/keys"])
async def test_operational_endpoints(serve_api: ApiFactory, path: str) -> None:
    async with serve_api() as api:
        assert (await api.client.get(path)).status_code == 200


async def test_readyz_reports_persistence(serve_api: ApiFactory) -> None:
    async with serve_api() as api:
        checks = (await api.client.get("/readyz")).json()["checks"]
        assert checks["redis"] == "ok"
        assert checks["redis_persistence"] == "aof"


async def test_metrics(serve_api: ApiFactory, add_agent: AgentFactory) -> None:
    _, token = await add_agent()
    async with serve_api() as api:
        request_id = (await create(api, token)).json()["id"]
        await create(api, token)
        await api.runtime.service.vote(request_id, "U0ALICE01", approve=True)
        text = (await api.client.get("/metrics")).text
        assert 'countersign_requests{status="pending"} 1.0' in text
        assert 'countersign_requests{status="approved"} 1.0' in text
        assert "countersign_pending_requests 1.0" in text
        assert (
            'countersign_time_to_decision_seconds_count{risk="medium",status="approved"} 1.0'
            in text
        )


async def test_listing_pages_with_a_stable_cursor(
    serve_api: ApiFactory, add_agent: AgentFactory, clock: ManualClock
) -> None:
    _, token = await add_agent()
    async with serve_api() as api:
        made = []
        for _ in range(5):
            made.append((await create(api, token)).json()["id"])
            clock.advance(1)
        first = (
            await api.client.get("/v1/requests", params={"limit": 2}, headers=api.auth(token))
        ).json()
        await create(api, token)  # arrives while paging; must not shift the next page
        second = (
            await api.client.get(
                "/v1/requests",
                params={"limit": 10, "cursor": first["next_cursor"]},
                headers=api.auth(token),
            )
        ).json()
        seen = [r["id"] for r in first["requests"] + second["requests"]]
        assert seen == list(reversed(made))
        bad = await api.client.get(
            "/v1/requests", params={"cursor": "nonsense"}, headers=api.auth(token)
        )
        assert bad.status_code == 400
        assert bad.json()["error"]["code"] == "invalid_cursor"
