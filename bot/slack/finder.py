"""Finds a message Slack accepted although its answer never reached us.

A post can reach Slack and its answer be lost (a 5xx after the fact, a dropped connection, a
timeout). Before posting again after such an attempt, the notifier asks here: every card
carries message metadata (`countersign_card`, with the request id), and every thread reply,
DM and escalation carries `countersign_message` (with the outbox job and the effect), so the
channel's recent history (or the card's thread) shows whether it is already there. Only
messages this app's bot posted count.

Channel names (`#prod-approvals`) are turned into ids, which `conversations.history` needs:
from what earlier posts taught us, else from `conversations.list`.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.models import ApprovalRequest
from bot.slack.cards import CardRef, SlackState

log = logging.getLogger(__name__)

CARD_EVENT = "countersign_card"
MESSAGE_EVENT = "countersign_message"
HISTORY_PAGES = 5
HISTORY_PAGE_SIZE = 200
CHANNEL_PAGES = 20
CHANNEL_PAGE_SIZE = 1000
# Answers that mean "this cannot be checked" (not a passing failure): the card is posted again.
UNCHECKABLE = {
    "not_in_channel",
    "channel_not_found",
    "thread_not_found",
    "missing_scope",
    "not_allowed_token_type",
}


def card_metadata(request_id: str) -> dict[str, Any]:
    """The metadata every card is posted with, so it can be found again."""
    return {"event_type": CARD_EVENT, "event_payload": {"request_id": request_id}}


def message_metadata(job_id: str, effect: str) -> dict[str, Any]:
    """The metadata of a thread reply, DM or escalation: which job's which effect posted it."""
    return {"event_type": MESSAGE_EVENT, "event_payload": {"job": job_id, "effect": effect}}


@dataclass
class CardFinder:
    client: AsyncWebClient
    state: SlackState
    _bot_id: str | None = None

    async def find(self, request: ApprovalRequest) -> CardRef | None:
        """The card for `request` if Slack has it, else None (also when Slack cannot say)."""
        try:
            channel = await self.channel_id(request.channel)
            return await self._in_history(channel, request.id) if channel else None
        except SlackApiError as exc:
            error = exc.response.get("error") if exc.response.status_code == 200 else None
            if error not in UNCHECKABLE:
                raise
            log.warning("slack: cannot look for the card of %s: %s", request.id, error)
            return None

    async def posted(
        self, channel: str, job_id: str, effect: str, thread_ts: str | None = None
    ) -> CardRef | None:
        """Where the message of `job_id`'s `effect` is in `channel` (in the thread of
        `thread_ts` when given); None when it is not there, or Slack cannot say."""
        try:
            channel_id = await self.channel_id(channel)
            if channel_id is None:
                return None
            async for message in self._messages(channel_id, thread_ts):
                if _posted_by(message) == (job_id, effect):
                    return CardRef(channel_id, str(message["ts"]))
            return None
        except SlackApiError as exc:
            error = exc.response.get("error") if exc.response.status_code == 200 else None
            if error not in UNCHECKABLE:
                raise
            log.warning("slack: cannot look for %s of job %s: %s", effect, job_id, error)
            return None

    async def _messages(self, channel: str, thread_ts: str | None) -> AsyncIterator[dict[str, Any]]:
        """Recent messages this bot posted in a channel (or one thread), with metadata."""
        bot_id = await self._our_bot()
        cursor = None
        for _ in range(HISTORY_PAGES):
            args: dict[str, Any] = {
                "channel": channel,
                "limit": HISTORY_PAGE_SIZE,
                "include_all_metadata": True,
                "cursor": cursor,
            }
            page = await (
                self.client.conversations_replies(ts=thread_ts, **args)
                if thread_ts
                else self.client.conversations_history(**args)
            )
            for message in page.get("messages") or []:
                if message.get("bot_id") == bot_id:
                    yield message
            cursor = _next_cursor(page.data)
            if not cursor:
                return

    async def channel_id(self, channel: str) -> str | None:
        """The id of a channel given by id or by `#name`; None if Slack lists no such name."""
        if not channel.startswith("#"):
            return channel
        known = await self.state.channel_id(channel)
        if known:
            return known
        cursor = None
        for _ in range(CHANNEL_PAGES):
            page = await self.client.conversations_list(
                types="public_channel,private_channel",
                exclude_archived=True,
                limit=CHANNEL_PAGE_SIZE,
                cursor=cursor,
            )
            for found in page.get("channels") or []:
                if found.get("name") == channel[1:]:
                    await self.state.save_channel_id(channel, str(found["id"]))
                    return str(found["id"])
            cursor = _next_cursor(page.data)
            if not cursor:
                break
        return None

    async def _in_history(self, channel: str, request_id: str) -> CardRef | None:
        async for message in self._messages(channel, None):
            if _card_of(message) == request_id:
                return CardRef(channel, str(message["ts"]))
        return None

    async def _our_bot(self) -> str:
        if self._bot_id is None:
            self._bot_id = str((await self.client.auth_test()).get("bot_id") or "")
        return self._bot_id


def _card_of(message: dict[str, Any]) -> str | None:
    """The request id a message's metadata names, if it is a Countersign card."""
    metadata = message.get("metadata") or {}
    if metadata.get("event_type") != CARD_EVENT:
        return None
    return (metadata.get("event_payload") or {}).get("request_id")


def _posted_by(message: dict[str, Any]) -> tuple[str, str] | None:
    """The (job, effect) a message's metadata names, if Countersign posted it for a job."""
    metadata = message.get("metadata") or {}
    if metadata.get("event_type") != MESSAGE_EVENT:
        return None
    payload = metadata.get("event_payload") or {}
    return str(payload.get("job")), str(payload.get("effect"))


def _next_cursor(data: Any) -> str | None:
    metadata = data.get("response_metadata") if isinstance(data, dict) else None
    return (metadata or {}).get("next_cursor") or None
