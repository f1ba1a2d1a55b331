"""App Home: what awaits your vote, and what you decided lately.

Finding what awaits a vote reads only light fields of the pending requests (`Store.ballots`);
full documents, which may each hold a MiB of diff, are loaded only for the few shown.
"""

from __future__ import annotations

from slack_sdk.web.async_client import AsyncWebClient

from bot.models import ApprovalRequest, Status
from bot.service import ApprovalService
from bot.slack.views import HOME_PENDING, HOME_RECENT, home_view
from bot.store import Ballot

PENDING_SCAN = 200


async def awaiting_vote(service: ApprovalService, user: str) -> list[ApprovalRequest]:
    """Pending requests this user may still vote on, newest first."""
    store = service.store
    ids = await store.ids_by_score(store.keys.by_status("pending"), count=PENDING_SCAN)
    shown: list[str] = []
    for ballot in await store.ballots(ids):
        if len(shown) >= HOME_PENDING:
            break
        if await may_vote(service, ballot, user):
            shown.append(ballot.id)
    return [r for r in await store.get_many(shown) if r.status is Status.pending]


async def may_vote(service: ApprovalService, ballot: Ballot, user: str) -> bool:
    """Pending, eligible, not the requester or the agent's owner, and not voted yet."""
    if ballot.status is not Status.pending or user in (ballot.requester, ballot.owner):
        return False
    if user in ballot.approved_by:
        return False
    return ballot.policy is not None and await service.is_eligible(user, ballot.policy)


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
