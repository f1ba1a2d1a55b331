"""Grants bind an approval to exactly one action and expire."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from cryptography.hazmat.primitives.serialization import load_pem_public_key

from bot.clock import ManualClock
from bot.grants import verify_grant
from bot.models import RequestIn, action_hash
from tests.conftest import AgentFactory, Api, ApiFactory

BODY: dict[str, Any] = {
    "action": "deploy.api",
    "summary": "Deploy",
    "environment": "staging",
    "command": ["kubectl", "apply", "-f", "api.yaml"],
}


async def approved(api: Api, token: str) -> dict[str, Any]:
    created = await api.client.post("/v1/requests", json=BODY, headers=api.auth(token))
    request_id = created.json()["id"]
    await api.runtime.service.vote(request_id, "U0ALICE01", approve=True)
    response = await api.client.get(f"/v1/requests/{request_id}", headers=api.auth(token))
    body: dict[str, Any] = response.json()
    return body


async def test_grant_verifies_for_the_exact_action(
    serve_api: ApiFactory, add_agent: AgentFactory
) -> None:
    _, token = await add_agent()
    async with serve_api() as api:
        request = await approved(api, token)
        assert request["action_hash"] == RequestIn.model_validate(BODY).action_hash()
        ok = await api.client.post(
            "/v1/grants/verify",
            json={"grant": request["grant"], "action_hash": request["action_hash"]},
        )
        assert ok.json()["valid"] is True
        assert ok.json()["claims"]["approvers"] == ["U0ALICE01"]
        changed = RequestIn.model_validate({**BODY, "command": ["kubectl", "delete", "ns", "x"]})
        refused = await api.client.post(
            "/v1/grants/verify",
            json={"grant": request["grant"], "action_hash": changed.action_hash()},
        )
        assert refused.json() == {
            "valid": False,
            "claims": refused.json()["claims"],
            "reason": "grant is for a different action (action_hash differs)",
        }


async def test_grant_verifies_offline_with_the_published_key(
    serve_api: ApiFactory, add_agent: AgentFactory, clock: ManualClock
) -> None:
    _, token = await add_agent()
    async with serve_api() as api:
        request = await approved(api, token)
        pem = (await api.client.get("/v1/keys")).json()["pem"]
    key = load_pem_public_key(pem.encode())
    check = verify_grant(key, request["grant"], action_hash=request["action_hash"], now=clock())  # type: ignore[arg-type]
    assert check.valid
    later = clock() + timedelta(minutes=16)
    assert (
        verify_grant(key, request["grant"], action_hash=None, now=later).reason == "grant expired"
    )  # type: ignore[arg-type]
    forged = request["grant"][:-4] + ("AAAA" if not request["grant"].endswith("AAAA") else "BBBB")
    assert not verify_grant(key, forged, action_hash=None, now=clock()).valid  # type: ignore[arg-type]


def test_action_hash_is_canonical() -> None:
    a = {
        "action": "x.y",
        "resource": "",
        "environment": "",
        "command": "",
        "diff": "",
        "scope": {"permissions": [], "resources": []},
        "params": {"b": 1, "a": 2},
    }
    b = dict(reversed(list(a.items())))
    assert action_hash(a) == action_hash(b)
    assert action_hash(a) != action_hash({**a, "params": {"a": 2, "b": 2}})
