"""What the Slack adapter must remember across restarts, in Redis.

Every key is built here from `Keys.adapter("slack", ...)`, so the adapter's keys share the
deployment prefix and can be found with one SCAN:

    slack:card:<request id>      hash: channel, ts of the posted card (create-if-absent);
                                 `posting` while a post may have reached Slack unconfirmed
    slack:channel:<#name>        the channel id Slack gave a channel name (learnt, kept)
    slack:question:<contact id>  hash: channel, ts of a posted question; `answered` once shown
    slack:lock:<request id>      one worker at a time acts on a request's card (expires unless
                                 its holder renews it, which it does while it works)
    slack:done:<job id>          set of side effects a job already performed (expires)
    slack:unposted               hash: request id -> last error, for cards Slack refused
    slack:unposted_questions     hash: contact id -> last error, for questions Slack refused
    slack:seen:<payload id>      a delivery already handled (Slack retries, replays; expires)
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from redis.asyncio import Redis
from redis.exceptions import RedisError

from bot.integrations.contacts import RETENTION_SECONDS
from bot.keys import Keys

log = logging.getLogger(__name__)

# Every Slack Web API call gives up after this long, so no call can outlive the lock.
SLACK_TIMEOUT_S = 10
# The lock outlives a crashed holder by at most this; a live holder renews it every third.
LOCK_MS = 3 * SLACK_TIMEOUT_S * 1000
DONE_TTL = 7 * 24 * 3600
SEEN_TTL = 3600
_UNLOCK = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"""


@dataclass(frozen=True)
class CardRef:
    channel: str
    ts: str


class SlackState:
    def __init__(self, redis: Redis, keys: Keys, lock_ms: int = LOCK_MS) -> None:
        self.redis = redis
        self.keys = keys
        self.lock_ms = lock_ms
        self._unlock = redis.register_script(_UNLOCK)
        self._renew = redis.register_script(_RENEW)

    def _key(self, name: str) -> str:
        return self.keys.adapter("slack", name)

    async def card(self, request_id: str) -> tuple[CardRef | None, bool]:
        """Where the card is (None if not known), and whether an earlier post of it may have
        reached Slack without our knowing (see `posting`); one round trip."""
        channel, ts, posting = await self.redis.hmget(
            self._key(f"card:{request_id}"), ["channel", "ts", "posting"]
        )
        ref = CardRef(_text(channel), _text(ts)) if channel and ts else None
        return ref, posting is not None

    async def question(self, contact_id: str) -> tuple[CardRef | None, bool]:
        """Where a question was posted (None if never), and whether it shows its answer."""
        return await self._message(f"question:{contact_id}")

    async def save_question(self, contact_id: str, ref: CardRef, answered: bool) -> None:
        key = self._key(f"question:{contact_id}")
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(key, mapping={"channel": ref.channel, "ts": ref.ts})
            pipe.hset(key, "answered", int(answered))
            pipe.expire(key, RETENTION_SECONDS)
            pipe.hdel(self._key("unposted_questions"), contact_id)
            await pipe.execute()

    async def _message(self, name: str) -> tuple[CardRef | None, bool]:
        channel, ts, answered = await self.redis.hmget(
            self._key(name), ["channel", "ts", "answered"]
        )
        if not channel or not ts:
            return None, False
        return CardRef(_text(channel), _text(ts)), _text(answered or "0") == "1"

    async def save_card(self, request_id: str, ref: CardRef) -> None:
        key = self._key(f"card:{request_id}")
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(key, mapping={"channel": ref.channel, "ts": ref.ts})
            pipe.hdel(key, "posting")
            pipe.hdel(self._key("unposted"), request_id)
            await pipe.execute()

    async def posting(self, request_id: str) -> None:
        """Note that a post starts: until `save_card`, it may have reached Slack unconfirmed."""
        await self.redis.hset(self._key(f"card:{request_id}"), "posting", 1)

    async def channel_id(self, name: str) -> str | None:
        value = await self.redis.get(self._key(f"channel:{name}"))
        return _text(value) if value else None

    async def save_channel_id(self, name: str, channel_id: str) -> None:
        await self.redis.set(self._key(f"channel:{name}"), channel_id)

    async def card_failed(self, request_id: str, error: str) -> None:
        await self.redis.hset(self._key("unposted"), request_id, error[:300])

    async def question_failed(self, contact_id: str, error: str) -> None:
        await self.redis.hset(self._key("unposted_questions"), contact_id, error[:300])

    async def unposted(self) -> dict[str, str]:
        """Cards Slack has not accepted yet, with the last error for each."""
        return await self._errors("unposted")

    async def unposted_questions(self) -> dict[str, str]:
        """Questions Slack has not accepted yet, with the last error for each."""
        return await self._errors("unposted_questions")

    async def _errors(self, name: str) -> dict[str, str]:
        rows = await self.redis.hgetall(self._key(name))
        return {_text(k): _text(v) for k, v in rows.items()}

    @asynccontextmanager
    async def holding(self, request_id: str) -> AsyncIterator[bool]:
        """Own the request's card while inside (True), renewing the lock; False if taken."""
        token = await self.lock(request_id)
        if token is None:
            yield False
            return
        renewing = asyncio.create_task(self._keep(request_id, token))
        try:
            yield True
        finally:
            renewing.cancel()
            await asyncio.gather(renewing, return_exceptions=True)
            await self.unlock(request_id, token)

    async def _keep(self, request_id: str, token: str) -> None:
        key = self._key(f"lock:{request_id}")
        while True:
            await asyncio.sleep(self.lock_ms / 3000)
            try:
                if not await self._renew(keys=[key], args=[token, self.lock_ms]):
                    log.error("slack: lost the lock on %s while working on it", request_id)
                    return
            except RedisError as exc:
                log.warning("slack: could not renew the lock on %s: %s", request_id, exc)

    async def lock(self, request_id: str) -> str | None:
        """A token when this worker now owns the request's card, else None."""
        token = secrets.token_hex(8)
        key = self._key(f"lock:{request_id}")
        taken = await self.redis.set(key, token, nx=True, px=self.lock_ms)
        return token if taken else None

    async def unlock(self, request_id: str, token: str) -> None:
        await self._unlock(keys=[self._key(f"lock:{request_id}")], args=[token])

    async def done(self, job_id: str, effect: str) -> bool:
        return bool(await self.redis.sismember(self._key(f"done:{job_id}"), effect))

    async def attempting(self, job_id: str, effect: str) -> None:
        """Note that `effect` is about to be tried: until `mark_done`, it may have happened."""
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.sadd(self._key(f"done:{job_id}"), f"{effect}?")
            pipe.expire(self._key(f"done:{job_id}"), DONE_TTL)
            await pipe.execute()

    async def attempted(self, job_id: str, effect: str) -> bool:
        """Whether an earlier try of `effect` may have reached Slack without our knowing."""
        return (await self.progress(job_id, effect))[1]

    async def progress(self, job_id: str, effect: str) -> tuple[bool, bool]:
        """Whether `effect` is done, and whether it was tried (`attempting`); one round trip."""
        done, tried = await self.redis.smismember(
            self._key(f"done:{job_id}"), [effect, f"{effect}?"]
        )
        return bool(done), bool(tried)

    async def mark_done(self, job_id: str, effect: str) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.sadd(self._key(f"done:{job_id}"), effect)
            pipe.expire(self._key(f"done:{job_id}"), DONE_TTL)
            await pipe.execute()

    async def first_sight(self, delivery: str) -> bool:
        """True the first time a delivery id is seen; False for a retry or a replay."""
        return bool(await self.redis.set(self._key(f"seen:{delivery}"), 1, nx=True, ex=SEEN_TTL))


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
