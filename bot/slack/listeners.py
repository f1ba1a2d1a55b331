"""Bolt listeners: ack, parse, call the service, render. Nothing else.

Every listener acks first (within Slack's 3 seconds); bolt runs the rest after the ack. The
voter is always `body["user"]["id"]` of the signed payload, never anything the payload's
values say. Errors are explained to the person in one place (`explain`, via `refusals.py`).
Card updates, thread replies and DMs are not done here: the vote's outbox job does them
(`notifier.py`).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_bolt.response import BoltResponse
from slack_sdk.web.async_client import AsyncWebClient

from bot.errors import vote_refusal
from bot.models import Risk, Status
from bot.service import ApprovalService
from bot.slack import refusals
from bot.slack.actions import Action, Block, View
from bot.slack.cards import SlackState
from bot.slack.commands import Commands, next_page
from bot.slack.directory import SlackDirectory
from bot.slack.home import publish_home
from bot.slack.questions import Questions
from bot.slack.views import (
    DiffPages,
    answer_modal,
    deny_modal,
    deny_reason,
    diff_modal,
    given_answer,
)

log = logging.getLogger(__name__)

Body = dict[str, Any]
Work = Callable[[Body, AsyncWebClient, AsyncRespond], Awaitable[None]]
Listener = Callable[[AsyncAck, Body, AsyncWebClient, AsyncRespond], Awaitable[None]]
REASON_REQUIRED = "A reason is required to deny a critical request."
ACK_WITHIN_S = 2.0  # Slack shows an error when the ack takes over 3 s
ANSWER_REQUIRED = "Write an answer or choose one."


@dataclass
class Listeners:
    service: ApprovalService
    state: SlackState
    directory: SlackDirectory
    questions: Questions
    diff_pages: DiffPages = field(default_factory=DiffPages)

    def register(self, app: AsyncApp) -> None:
        app.middleware(self.once)
        app.error(self.explain)
        app.action(Action.approve)(self.approve)
        app.action(Action.deny)(self._acked(self.deny))
        app.view(View.deny)(self.deny_submitted)
        app.action(Action.view_diff)(self._acked(self.view_diff))
        app.action(Action.diff_page)(self._acked(self.diff_page))
        app.action(Action.history_page)(self._acked(self.history_page))
        app.action(Action.answer)(self._acked(self.answer))
        app.view(View.answer)(self.answer_submitted)
        app.command("/countersign")(self._acked(self.command))
        app.event("app_home_opened")(self._acked(self.home_opened))

    def _acked(self, work: Work) -> Listener:
        """Ack at once, then do the work; its errors are explained to the person."""

        async def listener(
            ack: AsyncAck, body: Body, client: AsyncWebClient, respond: AsyncRespond
        ) -> None:
            await ack()
            await self._explaining(body, client, work(body, client, respond))

        return listener

    async def _stored_then_acked(
        self, ack: AsyncAck, body: Body, client: AsyncWebClient, work: Awaitable[Any]
    ) -> bool:
        """Run `work` (a vote or an answer) before the ack, so Slack's 200 means it is stored
        and a crash right after cannot lose it; a refusal is acked, then explained. Work that
        is still running near Slack's deadline (a cold user-group lookup, a Redis failover) is
        acked in time and finishes after. True when the work succeeded."""
        task = asyncio.ensure_future(work)
        await asyncio.wait({task}, timeout=ACK_WITHIN_S)
        acked = not task.done()
        if acked:
            await ack()
        try:
            await task
        except Exception as error:
            if not acked:
                await ack()
            await self.explain(error, body, client)
            return False
        if not acked:
            await ack()
        return True

    async def _explaining(self, body: Body, client: AsyncWebClient, work: Awaitable[Any]) -> None:
        # Bolt forgets an ack when the listener fails right after it (its runner resets the
        # response), so errors after the ack are explained here rather than raised to bolt.
        try:
            await work
        except Exception as error:
            await self.explain(error, body, client)

    async def once(self, body: Body, next: Any) -> BoltResponse | None:
        """Handle each delivery once: Slack's retries and replayed payloads are acked, no more."""
        delivery = body.get("event_id") or body.get("trigger_id")
        if delivery and not await self.state.first_sight(str(delivery)):
            log.info("slack: ignoring repeated delivery %s", delivery)
            return BoltResponse(status=200, body="")
        await next()
        return None

    async def explain(self, error: Exception, body: Body, client: AsyncWebClient) -> None:
        """The one place an error becomes a message to the person who acted."""
        text = await refusals.message_for(error, self.service.store, self.directory)
        await refusals.tell(client, body, text)

    async def approve(self, ack: AsyncAck, body: Body, client: AsyncWebClient) -> None:
        user = body["user"]["id"]
        vote = self.service.vote(_value(body), user, approve=True)
        if await self._stored_then_acked(ack, body, client, vote):
            await self._refreshed_home(client, body, user)

    async def deny(self, body: Body, client: AsyncWebClient, respond: AsyncRespond) -> None:
        """Open the reason modal, unless the vote could not count anyway."""
        user, request = body["user"]["id"], await self.service.get(_value(body))
        if request.status.terminal:
            code = "expired" if request.status is Status.expired else "already_decided"
            raise vote_refusal(code, user=user, request_id=request.id, status=request.status)
        channel = (body.get("channel") or {}).get("id")
        await client.views_open(trigger_id=body["trigger_id"], view=deny_modal(request, channel))

    async def deny_submitted(self, ack: AsyncAck, body: Body, client: AsyncWebClient) -> None:
        """Acks with an error on the modal when a critical denial has no reason."""
        view = body["view"]
        request_id = json.loads(view["private_metadata"])["request_id"]
        reason = deny_reason(view)
        request = await self.service.get(request_id)
        if request.risk is Risk.critical and not reason:
            await ack(response_action="errors", errors={Block.deny_reason: REASON_REQUIRED})
            return
        user = body["user"]["id"]
        vote = self.service.vote(request_id, user, approve=False, comment=reason)
        if await self._stored_then_acked(ack, body, client, vote):
            await self._refreshed_home(client, body, user)

    async def view_diff(self, body: Body, client: AsyncWebClient, respond: AsyncRespond) -> None:
        request = await self.service.get(_value(body))
        view = diff_modal(request, 0, self.diff_pages.chunks(request))
        await client.views_open(trigger_id=body["trigger_id"], view=view)

    async def diff_page(self, body: Body, client: AsyncWebClient, respond: AsyncRespond) -> None:
        view = body["view"]
        request = await self.service.get(view["private_metadata"])
        page = diff_modal(request, int(_value(body)), self.diff_pages.chunks(request))
        await client.views_update(view_id=view["id"], hash=view.get("hash"), view=page)

    async def answer(self, body: Body, client: AsyncWebClient, respond: AsyncRespond) -> None:
        """Open the answer modal, unless this person may not (or no longer) answer."""
        contact = await self.questions.answerable(_value(body), body["user"]["id"])
        channel = (body.get("channel") or {}).get("id")
        await client.views_open(trigger_id=body["trigger_id"], view=answer_modal(contact, channel))

    async def answer_submitted(self, ack: AsyncAck, body: Body, client: AsyncWebClient) -> None:
        """Acks with an error on the modal when it holds neither an answer nor a choice."""
        view = body["view"]
        contact_id = json.loads(view["private_metadata"])["contact_id"]
        text, option = given_answer(view, await self.questions.get(contact_id))
        if not text:
            await ack(response_action="errors", errors={Block.answer_text: ANSWER_REQUIRED})
            return
        answering = self.questions.answer(contact_id, body["user"]["id"], text, option)
        await self._stored_then_acked(ack, body, client, answering)

    async def command(self, body: Body, client: AsyncWebClient, respond: AsyncRespond) -> None:
        reply = await self._commands().run(body["user_id"], body.get("text") or "")
        await respond(**reply)

    async def history_page(self, body: Body, client: AsyncWebClient, respond: AsyncRespond) -> None:
        text, cursor = next_page(_value(body))
        reply = await self._commands().run(body["user"]["id"], text, cursor)
        await respond(replace_original=True, **reply)

    async def home_opened(self, body: Body, client: AsyncWebClient, respond: AsyncRespond) -> None:
        event = body["event"]
        if event.get("tab", "home") == "home":
            await publish_home(client, self.service, event["user"])

    def _commands(self) -> Commands:
        return Commands(self.service, self.directory)

    async def _refreshed_home(self, client: AsyncWebClient, body: Body, user: str) -> None:
        """A vote cast from App Home takes the request off the list at once. The vote is
        stored by now, so a failure here is logged, not reported as "nothing changed"."""
        if (body.get("view") or {}).get("type") == "home" or _opened_from_home(body):
            try:
                await publish_home(client, self.service, user)
            except Exception:
                log.exception("slack: App Home of %s not refreshed after a vote", user)


def _value(body: Body) -> str:
    return str(body["actions"][0]["value"])


def _opened_from_home(body: Body) -> bool:
    view = body.get("view") or {}
    return view.get("type") == "modal" and not refusals.reply_target(body)[1]
