"""The one place where errors from a Slack interaction become a message to the person.

Listeners raise; bolt hands every error to `explain`. A refusal from the core (`VoteRefused`,
`NotFound` ...) is shown as it is, ephemerally, where the person clicked: in the channel, or
as a DM from the app when the click came from App Home or a modal opened from it. Anything
else is logged with its traceback and the person is told it did not go through.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.errors import CountersignError, NotEligible
from bot.slack.directory import SlackDirectory
from bot.slack.failures import describe
from bot.slack.text import escape, usergroup
from bot.store import Store

log = logging.getLogger(__name__)

UNEXPECTED = "Countersign could not complete that, so nothing changed. Please try again."


async def message_for(error: Exception, store: Store, directory: SlackDirectory) -> str:
    """Exactly why the action did not go through, in words for the person who tried."""
    if isinstance(error, NotEligible):
        return await _not_eligible(error, store, directory)
    if isinstance(error, CountersignError):
        return escape(error.message)
    log.error("slack interaction failed", exc_info=error)
    return UNEXPECTED


async def _not_eligible(error: NotEligible, store: Store, directory: SlackDirectory) -> str:
    policy = await store.policy_of(error.request_id)
    unknown = directory.failed(policy.approver_usergroups) if policy else []
    if not unknown:
        return escape(error.message)
    groups = ", ".join(usergroup(g) for g in unknown)
    return (
        f"Slack could not tell whether you are in {groups}, so your vote was refused "
        "(membership that cannot be checked never counts). Try again in a minute."
    )


def reply_target(body: dict[str, Any]) -> tuple[str | None, str | None]:
    """(user, channel) to answer; channel is None when only a DM can reach the person."""
    user = (body.get("user") or {}).get("id") or body.get("user_id")
    channel = (body.get("channel") or {}).get("id") or body.get("channel_id")
    view = body.get("view") or {}
    if not channel and view.get("type") == "modal":
        channel = _metadata_channel(view.get("private_metadata") or "")
    return user, channel or None


def _metadata_channel(metadata: str) -> str | None:
    try:
        found = json.loads(metadata)
    except ValueError:
        return None
    return str(found.get("channel") or "") or None if isinstance(found, dict) else None


async def tell(client: AsyncWebClient, body: dict[str, Any], text: str) -> None:
    """Show `text` to the person behind `body` only."""
    user, channel = reply_target(body)
    if user is None:
        log.warning("slack: no user to tell: %s", text)
        return
    try:
        if channel:
            await client.chat_postEphemeral(channel=channel, user=user, text=text)
        else:
            await client.chat_postMessage(channel=user, text=text)
    except SlackApiError as exc:
        log.error("slack: could not tell %s %r: %s", user, text, describe(exc))
