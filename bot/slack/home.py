"""App Home: what awaits your vote, and what you decided lately."""

from __future__ import annotations

from slack_sdk.web.async_client import AsyncWebClient

from bot.models import ApprovalRequest
from bot.service import ApprovalService
from bot.slack.views import HOME_PENDING, HOME_RECENT, home_view

PENDING_SCAN = 200


async def awaiting_vote(service: ApprovalService, user: str) -> list[ApprovalRequest]:
    """Pending requests this user may still vote on, newest first."""
    store = service.store
    ids = await store.ids_by_score(store.keys.by_status("pending"), count=PENDING_SCAN)
    found: list[ApprovalRequest] = []
    for request in await store.get_many(ids):
        if len(found) >= HOME_PENDING:
            break
        if await may_vote(service, request, user):
            found.append(request)
    return found


async def may_vote(service: ApprovalService, request: ApprovalRequest, user: str) -> bool:
    """Eligible, not the requester, and not voted yet."""
    if user in (request.on_behalf_of, request.agent_owner):
        return False
    if any(a.user == user for a in request.approvals):
        return False
    policy = await service.store.policy_of(request.id)
    return policy is not None and await service.is_eligible(user, policy)


async def recent_decisions(service: ApprovalService, user: str) -> list[ApprovalRequest]:
    store = service.store
    ids = await store.ids_by_score(store.keys.by_approver(user), count=HOME_RECENT)
    return await store.get_many(ids)


async def publish_home(client: AsyncWebClient, service: ApprovalService, user: str) -> None:
    """Render and publish this user's App Home."""
    view = home_view(
        await awaiting_vote(service, user), await recent_decisions(service, user), service.clock()
    )
    await client.views_publish(user_id=user, view=view)
