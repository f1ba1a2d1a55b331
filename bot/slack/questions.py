"""Questions agents ask humans (HumanLayer contact requests), posted to Slack and answered there.

Posting runs from the durable outbox, like the approval cards: `contact` jobs of the `slack`
sink, whose `request_id` is the contact's id. Retries are harmless for the same reasons:

- the desk's `on_asked` hook only queues a job; at start-up `recover` queues one for every
  unanswered question not posted yet, so a crash between storing a question and queueing its
  job loses nothing;
- a job posts the question only when no message is recorded for it (create-if-absent), and
  otherwise brings the message up to date with the answer, so Slack failures and duplicate
  jobs still leave exactly one message, showing the right state;
- answering stores the first answer in the desk, then queues a job that updates the message.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from slack_sdk.web.async_client import AsyncWebClient

from bot.errors import ContactNotFound, CountersignError
from bot.integrations.contacts import Contact, ContactDesk
from bot.outbox import Job, OutboxWorker
from bot.slack import messages
from bot.slack.cards import CardRef, SlackState
from bot.slack.failures import SLACK_FAILURES, describe
from bot.slack.finder import CardFinder, message_metadata

log = logging.getLogger(__name__)

SINK = "slack"
CONTACT_JOB = "contact"
QUESTION = "question"  # the effect name in the question message's metadata
RECOVER_LIMIT = 1000


class AlreadyAnswered(CountersignError):
    def __init__(self, contact: Contact) -> None:
        who = contact.answer.user if contact.answer else "someone"
        super().__init__(f"{who} already answered this question; your answer was not sent.")
        self.contact_id = contact.id


class NoDesk(CountersignError):
    def __init__(self) -> None:
        super().__init__("Questions from agents are not enabled on this server.")


@dataclass
class Questions:
    """The Slack side of the contact desk; `attach` connects it once the desk exists."""

    client: AsyncWebClient
    state: SlackState
    outbox: OutboxWorker
    default_channel: str
    finder: CardFinder
    desk: ContactDesk | None = None

    async def attach(self, desk: ContactDesk) -> int:
        """Post the desk's questions from now on, and those asked while nobody posted them."""
        self.desk = desk
        desk.on_asked.append(self.asked)
        return await self.recover()

    async def asked(self, contact: Contact) -> None:
        await self.outbox.enqueue(SINK, CONTACT_JOB, contact.id)

    async def recover(self) -> int:
        """Queue a job for each unanswered question that has no message yet."""
        queued = 0
        for contact in await self._desk().pending(limit=RECOVER_LIMIT):
            ref, _ = await self.state.question(contact.id)
            if ref is None:
                await self.asked(contact)
                queued += 1
        if queued:
            log.info("slack: %d questions were not posted yet; queued them", queued)
        return queued

    async def get(self, contact_id: str) -> Contact:
        return await self._desk().get(contact_id)

    async def answerable(self, contact_id: str, user: str) -> Contact:
        """The question, if `user` may still answer it; otherwise the refusal, raised."""
        contact = await self.get(contact_id)
        contact.check_responder(user)
        if contact.answer is not None:
            raise AlreadyAnswered(contact)
        return contact

    async def answer(self, contact_id: str, user: str, text: str, option: str | None) -> Contact:
        """Record `user`'s answer (the first one wins) and queue the message's update."""
        contact = await self._desk().answer(contact_id, user, text, option)
        await self.asked(contact)
        if contact.answer is None or contact.answer.user != user:
            raise AlreadyAnswered(contact)
        return contact

    async def deliver(self, job: Job) -> None:
        """Make the question's message exist and show the question's current state."""
        try:
            contact = await self.get(job.request_id)
        except (ContactNotFound, NoDesk) as exc:
            log.warning("slack: dropping question job %s: %s", job.id, exc.message)
            return
        ref, answered = await self.state.question(contact.id)
        if ref is None:
            ref = await self._adopted(contact)
            if ref is None:
                await self._post(contact)
                return
        if contact.answer is not None and not answered:
            await self.client.chat_update(
                channel=ref.channel, ts=ref.ts, **messages.question(contact).payload()
            )
            await self.state.save_question(contact.id, ref, answered=True)

    async def _adopted(self, contact: Contact) -> CardRef | None:
        """The question's message from an earlier post whose answer was lost, found in the
        channel by its metadata (it shows the question unanswered), or None."""
        if not await self.state.attempted(contact.id, QUESTION):
            return None
        channel = contact.channel or self.default_channel
        found = await self.finder.posted(channel, contact.id, QUESTION)
        if found is not None:
            log.info("slack: question %s found in %s at %s", contact.id, found.channel, found.ts)
            await self.state.save_question(contact.id, found, answered=False)
        return found

    async def _post(self, contact: Contact) -> None:
        channel = contact.channel or self.default_channel
        await self.state.attempting(contact.id, QUESTION)
        try:
            response = await self.client.chat_postMessage(
                channel=channel,
                metadata=message_metadata(contact.id, QUESTION),
                unfurl_links=False,
                unfurl_media=False,
                **messages.question(contact).payload(),
            )
        except SLACK_FAILURES as exc:
            await self.state.question_failed(contact.id, describe(exc))
            log.error("slack: question %s not posted to %s: %s", contact.id, channel, describe(exc))
            raise
        ref = CardRef(str(response["channel"]), str(response["ts"]))
        await self.state.save_question(contact.id, ref, answered=contact.answer is not None)
        log.info("slack: question %s posted to %s at %s", contact.id, ref.channel, ref.ts)

    def _desk(self) -> ContactDesk:
        if self.desk is None:
            raise NoDesk()
        return self.desk
