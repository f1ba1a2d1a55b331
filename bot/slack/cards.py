"""What the Slack adapter must remember across restarts, in Redis.

Every key is built here from `Keys.adapter("slack", ...)`, so the adapter's keys share the
deployment prefix and can be found with one SCAN:

    slack:card:<request id>      hash: channel, ts of the posted card (create-if-absent)
    slack:question:<contact id>  hash: channel, ts of a posted question; `answered` once shown
    slack:lock:<request id>      one worker at a time acts on a request's card (expires)
    slack:done:<job id>          set of side effects a job already performed (expires)
    slack:unposted               hash: request id -> last error, for cards Slack refused
    slack:unposted_questions     hash: contact id -> last error, for questions Slack refused
    slack:seen:<payload id>      a delivery already handled (Slack retries, replays; expires)
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from redis.asyncio import Redis

from bot.integrations.contacts import RETENTION_SECONDS
from bot.keys import Keys

LOCK_MS = 30_000
DONE_TTL = 7 * 24 * 3600
SEEN_TTL = 3600
_UNLOCK = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


@dataclass(frozen=True)
class CardRef:
    channel: str
    ts: str


class SlackState:
    def __init__(self, redis: Redis, keys: Keys) -> None:
        self.redis = redis
        self.keys = keys
        self._unlock = redis.register_script(_UNLOCK)

    def _key(self, name: str) -> str:
        return self.keys.adapter("slack", name)

    async def card(self, request_id: str) -> CardRef | None:
        ref, _ = await self._message(f"card:{request_id}")
        return ref

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
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(
                self._key(f"card:{request_id}"), mapping={"channel": ref.channel, "ts": ref.ts}
            )
            pipe.hdel(self._key("unposted"), request_id)
            await pipe.execute()

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

    async def lock(self, request_id: str) -> str | None:
        """A token when this worker now owns the request's card, else None."""
        token = secrets.token_hex(8)
        taken = await self.redis.set(self._key(f"lock:{request_id}"), token, nx=True, px=LOCK_MS)
        return token if taken else None

    async def unlock(self, request_id: str, token: str) -> None:
        await self._unlock(keys=[self._key(f"lock:{request_id}")], args=[token])

    async def done(self, job_id: str, effect: str) -> bool:
        return bool(await self.redis.sismember(self._key(f"done:{job_id}"), effect))

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
