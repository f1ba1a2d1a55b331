"""Votes under the two-person rule, against a real Redis."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from bot.clock import ManualClock
from bot.directory import DirectoryUnavailable
from bot.errors import (
    AlreadyDecided,
    AlreadyVoted,
    NotEligible,
    NotFound,
    RequestExpired,
    SelfApproval,
)
from bot.models import ApprovalRequest, RequestIn, Status
from bot.principals import Principal
from bot.runtime import Runtime
from tests.conftest import RuntimeFactory

AGENT = Principal(name="infra-bot", owner="U0OWNER01")
CRITICAL = {
    "action": "environment.recreate",
    "summary": "Recreate prod-cn-north-1",
    "resource": "prod-cn-north-1",
    "environment": "prod",
    "command": "terraform destroy",
    "on_behalf_of": "U0LAUNCH1",
}


async def submit(runtime: Runtime, **fields: Any) -> ApprovalRequest:
    body = RequestIn.model_validate({**CRITICAL, **fields})
    return (await runtime.service.submit(AGENT, body)).request


async def test_two_distinct_approvals_approve(runtime: Runtime) -> None:
    request = await submit(runtime)
    first = await runtime.service.vote(request.id, "U0ALICE01", approve=True, comment="ok")
    assert first.status is Status.pending
    assert [a.user for a in first.approvals] == ["U0ALICE01"]
    second = await runtime.service.vote(request.id, "U0ERIN005", approve=True)
    assert second.status is Status.approved
    assert second.decided_by == "U0ERIN005"
    assert second.grant is not None


async def test_one_deny_vetoes_with_its_reason(runtime: Runtime) -> None:
    request = await submit(runtime)
    await runtime.service.vote(request.id, "U0ALICE01", approve=True)
    denied = await runtime.service.vote(
        request.id, "U0BOB0002", approve=False, comment="wildcard IAM scope"
    )
    assert denied.status is Status.denied
    assert denied.denial is not None
    assert (denied.denial.user, denied.denial.reason) == ("U0BOB0002", "wildcard IAM scope")
    assert denied.grant is None


@pytest.mark.parametrize("user", ["U0LAUNCH1", "U0OWNER01"])
async def test_requester_and_agent_owner_cannot_vote(runtime: Runtime, user: str) -> None:
    runtime.policy.config.groups["oncall"].users.append(user)  # even when they are approvers
    request = await submit(runtime)
    with pytest.raises(SelfApproval) as refused:
        await runtime.service.vote(request.id, user, approve=True)
    assert refused.value.code == "self_approval"


async def test_requester_in_approver_list_still_refused(make_runtime: RuntimeFactory) -> None:
    runtime = make_runtime()
    request = await submit(runtime, on_behalf_of="U0ALICE01")
    with pytest.raises(SelfApproval):
        await runtime.service.vote(request.id, "U0ALICE01", approve=True)
    await runtime.redis.aclose()


async def test_not_eligible(runtime: Runtime) -> None:
    request = await submit(runtime)
    with pytest.raises(NotEligible) as refused:
        await runtime.service.vote(request.id, "U0STRANGER", approve=True)
    assert "not in a group" in refused.value.message
    assert (await runtime.service.get(request.id)).approvals == []


async def test_eligible_through_slack_user_group(runtime: Runtime) -> None:
    request = await submit(runtime)
    voted = await runtime.service.vote(request.id, "U0GROUP01", approve=True)
    assert [a.user for a in voted.approvals] == ["U0GROUP01"]


async def test_unknown_user_group_membership_refuses(make_runtime: RuntimeFactory) -> None:
    class Down:
        async def members(self, usergroup: str) -> set[str]:
            raise DirectoryUnavailable("Slack is down")

    runtime = make_runtime(directory=Down())
    request = await submit(runtime)
    with pytest.raises(NotEligible):
        await runtime.service.vote(request.id, "U0GROUP01", approve=True)
    await runtime.redis.aclose()


async def test_one_vote_per_person(runtime: Runtime) -> None:
    request = await submit(runtime)
    await runtime.service.vote(request.id, "U0ALICE01", approve=True)
    with pytest.raises(AlreadyVoted):
        await runtime.service.vote(request.id, "U0ALICE01", approve=True)
    with pytest.raises(AlreadyVoted):
        await runtime.service.vote(request.id, "U0ALICE01", approve=False)
    assert len((await runtime.service.get(request.id)).approvals) == 1


async def test_vote_on_decided_request(runtime: Runtime) -> None:
    request = await submit(runtime)
    await runtime.service.vote(request.id, "U0ALICE01", approve=False, comment="no")
    with pytest.raises(AlreadyDecided) as refused:
        await runtime.service.vote(request.id, "U0BOB0002", approve=True)
    assert refused.value.status == "denied"
    assert "already denied" in refused.value.message


async def test_vote_after_deadline_is_expired_even_before_the_sweep(
    runtime: Runtime, clock: ManualClock
) -> None:
    request = await submit(runtime)
    clock.advance(601)
    with pytest.raises(RequestExpired):
        await runtime.service.vote(request.id, "U0ALICE01", approve=True)
    assert (await runtime.service.get(request.id)).status is Status.expired
    with pytest.raises(RequestExpired):
        await runtime.service.vote(request.id, "U0BOB0002", approve=True)


async def test_vote_on_unknown_request(runtime: Runtime) -> None:
    with pytest.raises(NotFound):
        await runtime.service.vote("req_nope", "U0ALICE01", approve=True)


async def test_medium_risk_needs_one(runtime: Runtime) -> None:
    request = await submit(
        runtime,
        action="deploy.api",
        environment="staging",
        command="kubectl apply -f api.yaml",
        resource="api",
    )
    assert request.required_approvals == 1
    approved = await runtime.service.vote(request.id, "U0ALICE01", approve=True)
    assert approved.status is Status.approved


async def test_policy_decides_at_once(runtime: Runtime) -> None:
    read = await submit(runtime, action="logs.read", environment="staging", command="")
    assert (read.status, read.decided_by) == (Status.approved, "policy")
    assert read.grant is not None
    forbidden = await submit(runtime, action="iam.grant_admin", environment="staging", command="")
    assert (forbidden.status, forbidden.decided_by) == (Status.denied, "policy")
    assert forbidden.denial is not None and "never done by an agent" in forbidden.denial.reason


async def test_fifty_concurrent_votes_make_one_transition(make_runtime: RuntimeFactory) -> None:
    voters = [f"U0V{i:05d}" for i in range(50)]
    runtime = make_runtime()
    runtime.policy.config.groups["oncall"].users.extend(voters)
    request = await submit(runtime)
    results = await asyncio.gather(
        *(runtime.service.vote(request.id, v, approve=True) for v in voters),
        return_exceptions=True,
    )
    accepted = [r for r in results if isinstance(r, ApprovalRequest)]
    refused = [r for r in results if isinstance(r, AlreadyDecided)]
    assert len(accepted) == 2 and len(refused) == 48
    final = await runtime.service.get(request.id)
    assert final.status is Status.approved
    assert len(final.approvals) == 2
    assert {a.user for a in final.approvals} == {r.approvals[-1].user for r in accepted}
    decided = [e async for e in runtime.audit.entries() if e.fields["event"] == "decided"]
    assert len(decided) == 1
    for v in voters:
        runtime.policy.config.groups["oncall"].users.remove(v)
    await runtime.redis.aclose()
