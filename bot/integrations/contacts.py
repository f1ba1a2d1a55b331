"""Questions agents ask humans in free text (HumanLayer "human contacts"), and their answers.

A contact is stored in one Redis hash: `doc` (the question as the agent sent it) and, once
someone answered, `answer`. The first answer wins (HSETNX), so two people submitting the
Slack modal at once cannot overwrite each other. Unanswered contacts sit in a sorted set
scored by creation time, so the Slack adapter can post what it has not posted after a restart.

The Slack side plugs in through `ContactDesk`: it appends a coroutine to `on_asked` (post
the question with an "Answer" button) and calls `answer()` when the modal is submitted.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field
from redis.asyncio import Redis

from bot.clock import Clock
from bot.errors import ContactNotFound, Forbidden
from bot.keys import Keys
from bot.models import to_ms

log = logging.getLogger(__name__)

ADAPTER = "humanlayer"  # key namespace, via Keys.adapter
RETENTION_SECONDS = 90 * 24 * 3600


class Answer(BaseModel):
    user: str
    at: datetime
    response: str
    option: str | None = None


class Contact(BaseModel):
    """One question: who asked, what, where it should be asked, and the answer once given."""

    id: str = Field(default_factory=lambda: f"hc_{uuid.uuid4().hex[:20]}")
    agent: str
    call_id: str
    run_id: str
    message: str
    subject: str | None = None
    channel: str | None = Field(default=None, description="Slack channel or user ID, if given")
    allowed_responders: list[str] | None = None
    response_options: list[dict[str, Any]] = Field(default_factory=list)
    spec: dict[str, Any] = Field(description="The question as the agent sent it (wire format)")
    created_at: datetime
    answer: Answer | None = None

    def check_responder(self, user: str) -> None:
        """Raise `Forbidden` unless `user` is one of the people asked (anyone, if none named)."""
        if self.allowed_responders and user not in self.allowed_responders:
            raise Forbidden(f"{user} is not one of the people asked to answer {self.id}.")


Asked = Callable[[Contact], Awaitable[None]]


class ContactDesk:
    def __init__(self, redis: Redis, keys: Keys, clock: Clock) -> None:
        self.redis = redis
        self.keys = keys
        self.clock = clock
        self.on_asked: list[Asked] = []  # e.g. the Slack adapter posting the question

    def _doc(self, contact_id: str) -> str:
        return self.keys.adapter(ADAPTER, f"contact:{contact_id}")

    def _by_call(self, agent: str, call_id: str) -> str:
        return self.keys.adapter(ADAPTER, f"contact-call:{agent}:{call_id}")

    @property
    def _pending(self) -> str:
        return self.keys.adapter(ADAPTER, "contacts:pending")

    async def ask(self, contact: Contact) -> Contact:
        """Store a new question (idempotent per agent and call_id) and tell `on_asked`."""
        claimed = await self.redis.set(
            self._by_call(contact.agent, contact.call_id),
            contact.id,
            nx=True,
            ex=RETENTION_SECONDS,
        )
        if not claimed:  # a retried ask: announce again, in case the first announcement failed
            existing = await self.by_call(contact.agent, contact.call_id)
            if existing.answer is None:
                await self._announce(existing)
            return existing
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(self._doc(contact.id), "doc", contact.model_dump_json())
            pipe.expire(self._doc(contact.id), RETENTION_SECONDS)
            pipe.zadd(self._pending, {contact.id: to_ms(contact.created_at)})
            await pipe.execute()
        await self._announce(contact)
        return contact

    async def _announce(self, contact: Contact) -> None:
        for observer in self.on_asked:  # observers must be idempotent (see `ask`)
            await observer(contact)

    async def get(self, contact_id: str) -> Contact:
        doc, answer = await self.redis.hmget(self._doc(contact_id), ["doc", "answer"])
        if doc is None:
            raise ContactNotFound(contact_id)
        contact = Contact.model_validate_json(doc)
        if answer is not None:
            contact.answer = Answer.model_validate_json(answer)
        return contact

    async def by_call(self, agent: str, call_id: str) -> Contact:
        """The agent's own contact by the call_id it chose."""
        contact_id = await self.redis.get(self._by_call(agent, call_id))
        if contact_id is None:
            raise ContactNotFound(call_id)
        return await self.get(contact_id.decode() if isinstance(contact_id, bytes) else contact_id)

    async def answer(
        self, contact_id: str, user: str, response: str, option: str | None = None
    ) -> Contact:
        """Record a human's answer; the first one wins and later ones return it unchanged."""
        (await self.get(contact_id)).check_responder(user)
        answer = Answer(user=user, at=self.clock(), response=response[:4000], option=option)
        if await self.redis.hsetnx(self._doc(contact_id), "answer", answer.model_dump_json()):
            await self.redis.zrem(self._pending, contact_id)
            log.info("contact %s answered by %s", contact_id, user)
        return await self.get(contact_id)

    async def pending(self, since: datetime | None = None, limit: int = 100) -> list[Contact]:
        """Unanswered questions, oldest first (for posting what was missed after a restart)."""
        start = to_ms(since) if since else 0
        ids = await self.redis.zrangebyscore(self._pending, start, "+inf", start=0, num=limit)
        found = []
        for raw in ids:
            contact_id = raw.decode() if isinstance(raw, bytes) else str(raw)
            try:
                found.append(await self.get(contact_id))
            except ContactNotFound:  # dropped by retention
                await self.redis.zrem(self._pending, contact_id)
        return found
