"""The Slack outbox sink: turns request events into cards, updates, thread replies and DMs.

Runs from the durable outbox (`bot/outbox.py`), so it is retried until Slack accepts. Three
rules keep retries harmless:

- a card is posted only when none is recorded for the request (create-if-absent), and every
  job first makes sure the card exists, so a lost `created` job cannot lose a card;
- a post is marked in Redis before it is made; after an attempt whose answer was lost, the
  card is first looked for in the channel by its metadata (`finder.py`) and adopted if found;
- each job records the side effects it already performed, and skips them on a retry;
- one worker at a time acts on a request (a Redis lock, renewed while it works; every Slack
  call has a timeout); the others retry shortly.

Jobs of kind `contact` are agents' questions, not requests; `questions.py` delivers them under
the same lock and rate-limit handling.

The card is always rendered from the request's current state, so updates arriving out of
order still leave the card right. Slack's 429 becomes `RetryLater(Retry-After)`; any other
failure is raised, and the outbox backs off.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.clock import Clock
from bot.models import ApprovalRequest, RequestEvent
from bot.outbox import Job, RetryLater
from bot.service import ApprovalService
from bot.slack import messages
from bot.slack.blocks import card, card_text
from bot.slack.cards import CardRef, SlackState
from bot.slack.failures import SLACK_FAILURES, describe, retry_after
from bot.slack.finder import CardFinder, card_metadata, message_metadata
from bot.slack.questions import CONTACT_JOB, Questions

log = logging.getLogger(__name__)

LOCKED_RETRY_SECONDS = 1.0


@dataclass
class Notifier:
    service: ApprovalService
    client: AsyncWebClient
    state: SlackState
    clock: Clock
    questions: Questions
    finder: CardFinder

    async def __call__(self, job: Job) -> None:
        async with self.state.holding(job.request_id) as held:
            if not held:
                raise RetryLater(LOCKED_RETRY_SECONDS, "another worker is updating this card")
            try:
                if job.kind == CONTACT_JOB:
                    await self.questions.deliver(job)
                else:
                    await self._handle(job)
            except SlackApiError as exc:
                seconds = retry_after(exc)
                if seconds is None:
                    raise
                raise RetryLater(seconds, "Slack rate limit (429)") from exc

    async def _handle(self, job: Job) -> None:
        request = await self.service.get(job.request_id)
        ref = await self._ensure_card(request)
        steps: dict[str, Callable[[Job, ApprovalRequest, CardRef], Awaitable[None]]] = {
            RequestEvent.created: self._nothing_more,
            RequestEvent.voted: self._voted,
            RequestEvent.decided: self._decided,
            RequestEvent.reminder: self._reminder,
            RequestEvent.escalation: self._escalation,
        }
        step = steps.get(job.kind)
        if step is None:
            log.warning("slack: ignoring unknown job kind %r for %s", job.kind, job.request_id)
            return
        await step(job, request, ref)

    async def _ensure_card(self, request: ApprovalRequest) -> CardRef:
        """The card's place in Slack, posting it first if it was never posted."""
        ref, maybe_posted = await self.state.card(request.id)
        if ref is None and maybe_posted:
            ref = await self.finder.find(request)
            if ref is not None:
                log.info("slack: card for %s found in %s at %s", request.id, ref.channel, ref.ts)
                await self.state.save_card(request.id, ref)
        return ref or await self._post_card(request)

    async def _post_card(self, request: ApprovalRequest) -> CardRef:
        await self.state.posting(request.id)
        try:
            response = await self.client.chat_postMessage(
                channel=request.channel,
                text=card_text(request),
                blocks=card(request, self.clock()),
                metadata=card_metadata(request.id),
                unfurl_links=False,
                unfurl_media=False,
            )
        except SLACK_FAILURES as exc:
            await self.state.card_failed(request.id, describe(exc))
            log.error("slack: card for %s not posted: %s", request.id, describe(exc))
            raise
        ref = CardRef(str(response["channel"]), str(response["ts"]))
        await self.state.save_card(request.id, ref)
        if request.channel.startswith("#"):
            await self.state.save_channel_id(request.channel, ref.channel)
        log.info("slack: card for %s posted to %s at %s", request.id, ref.channel, ref.ts)
        return ref

    async def _nothing_more(self, job: Job, request: ApprovalRequest, ref: CardRef) -> None:
        """A `created` job is done once the card exists."""

    async def _voted(self, job: Job, request: ApprovalRequest, ref: CardRef) -> None:
        await self._once(job, "update", lambda: self._update(request, ref))
        line = messages.vote_logged(request, str(job.data.get("user")), str(job.data.get("vote")))
        await self._post_once(job, "thread", ref.channel, line, thread_ts=ref.ts)

    async def _decided(self, job: Job, request: ApprovalRequest, ref: CardRef) -> None:
        await self._once(job, "update", lambda: self._update(request, ref))
        line = messages.outcome_logged(request)
        await self._post_once(job, "thread", ref.channel, line, thread_ts=ref.ts)
        if request.on_behalf_of:
            await self._dm(job, request, ref)

    async def _reminder(self, job: Job, request: ApprovalRequest, ref: CardRef) -> None:
        if request.status.terminal:
            return
        policy = await self.service.store.policy_of(request.id)
        users, groups = (policy.approvers, policy.approver_usergroups) if policy else ([], [])
        voters = messages.voters_to_remind(request, users, groups)
        await self._once(job, "update", lambda: self._update(request, ref))
        line = messages.reminder(request, voters, self.clock())
        await self._post_once(job, "thread", ref.channel, line, thread_ts=ref.ts)

    async def _escalation(self, job: Job, request: ApprovalRequest, ref: CardRef) -> None:
        policy = await self.service.store.policy_of(request.id)
        if request.status.terminal or policy is None or not policy.escalation_channel:
            return
        channel = policy.escalation_channel
        permalink = await self._permalink(ref)
        message = messages.escalation(request, permalink, self.clock())
        await self._post_once(job, "escalation", channel, message)

    async def _once(self, job: Job, effect: str, act: Callable[[], Awaitable[None]]) -> None:
        """Perform a side effect unless this job already did (a retry after a later failure)."""
        if await self.state.done(job.id, effect):
            return
        await act()
        await self.state.mark_done(job.id, effect)

    async def _post_once(
        self,
        job: Job,
        effect: str,
        channel: str,
        message: messages.Message,
        thread_ts: str | None = None,
    ) -> None:
        """Post a message for this job once: a retry after a try whose answer was lost looks
        for the message (by its metadata) before posting it again."""
        done, tried = await self.state.progress(job.id, effect)
        if done:
            return
        if tried and await self.finder.posted(channel, job.id, effect, thread_ts):
            log.info("slack: %s of job %s was posted already", effect, job.id)
        else:
            await self.state.attempting(job.id, effect)
            await self.client.chat_postMessage(
                channel=channel,
                thread_ts=thread_ts,
                metadata=message_metadata(job.id, effect),
                unfurl_links=False,
                unfurl_media=False,
                **message.payload(),
            )
        await self.state.mark_done(job.id, effect)

    async def _update(self, request: ApprovalRequest, ref: CardRef) -> None:
        await self.client.chat_update(
            channel=ref.channel,
            ts=ref.ts,
            text=card_text(request),
            blocks=card(request, self.clock()),
        )

    async def _dm(self, job: Job, request: ApprovalRequest, ref: CardRef) -> None:
        if await self.state.done(job.id, "dm"):
            return
        opened = await self.client.conversations_open(users=request.on_behalf_of)
        channel = str(opened["channel"]["id"])
        message = messages.requester_dm(request, await self._permalink(ref))
        await self._post_once(job, "dm", channel, message)

    async def _permalink(self, ref: CardRef) -> str:
        response = await self.client.chat_getPermalink(channel=ref.channel, message_ts=ref.ts)
        return str(response.get("permalink") or "")
