"""The whole flow over real HTTP: create, two approvals, long-poll wakes, grant verifies."""

from __future__ import annotations

import asyncio

from tests.conftest import AgentFactory, ApiFactory

PROD_RECREATE = {
    "action": "environment.recreate",
    "summary": "Recreate prod-cn-north-1",
    "resource": "prod-cn-north-1",
    "environment": "prod",
    "command": "terraform destroy -auto-approve && terraform apply",
    "scope": {"permissions": ["ec2:TerminateInstances", "iam:*"]},
    "on_behalf_of": "U0OWNER01",
}


async def test_two_person_flow_over_http(serve_api: ApiFactory, add_agent: AgentFactory) -> None:
    _, token = await add_agent()
    async with serve_api() as api:
        created = await api.client.post("/v1/requests", json=PROD_RECREATE, headers=api.auth(token))
        assert created.status_code == 201, created.text
        request = created.json()
        assert request["risk"] == "critical"
        assert request["required_approvals"] == 2
        waiter = asyncio.create_task(
            api.client.get(
                f"/v1/requests/{request['id']}", params={"wait": 20}, headers=api.auth(token)
            )
        )
        service = api.runtime.service
        await service.vote(request["id"], "U0ALICE01", approve=True)
        await service.vote(request["id"], "U0BOB0002", approve=True)
        decided = (await asyncio.wait_for(waiter, 5)).json()
        assert decided["status"] == "approved"
        assert [a["user"] for a in decided["approvals"]] == ["U0ALICE01", "U0BOB0002"]
        check = await api.client.post(
            "/v1/grants/verify",
            json={"grant": decided["grant"], "action_hash": decided["action_hash"]},
        )
        assert check.json()["valid"] is True
