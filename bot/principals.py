"""Who may call the API: agents (submit and wait) and auditors (read history).

Tokens are shown once and stored only as SHA-256 hashes, so a Redis dump leaks no token.
"""

from __future__ import annotations

import hashlib
import ipaddress
import secrets
from enum import StrEnum
from fnmatch import fnmatchcase
from typing import Annotated

from pydantic import BaseModel, Field
from redis.asyncio import Redis

from bot.keys import Keys

TOKEN_PREFIX = "cs_"  # noqa: S105 - a prefix, not a secret


class Role(StrEnum):
    agent = "agent"
    auditor = "auditor"


QuestionChannel = Annotated[str, Field(pattern=r"^[#@]?[A-Za-z0-9][A-Za-z0-9_.\-]{0,79}$")]


class Principal(BaseModel):
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")
    role: Role = Role.agent
    owner: str = Field(
        default="",
        pattern=r"^([UW][A-Z0-9]{2,20})?$",
        description="Slack user ID (U…) of the agent's owner, who never votes on its requests",
    )
    environments: list[str] = Field(default_factory=lambda: ["*"])
    actions: list[str] = Field(default_factory=lambda: ["*"])
    callback_hosts: list[str] = Field(default_factory=list)
    question_channels: list[QuestionChannel] = Field(
        default_factory=list,
        description="Slack channels or user IDs the agent may name for its questions; any other "
        "is ignored and the question goes to the default channel",
    )
    rate_per_minute: int = Field(default=120, ge=1)

    def may_request(self, action: str, environment: str) -> bool:
        return any(fnmatchcase(action, g) for g in self.actions) and any(
            fnmatchcase(environment, g) for g in self.environments
        )

    def may_ask_in(self, channel: str) -> bool:
        return channel in self.question_channels

    def may_call_back(self, host: str) -> bool:
        """Host names match globs; an IP address only an entry that is exactly it."""
        host = host.lower().strip("[]")
        if _is_ip(host):
            return host in (h.lower().strip("[]") for h in self.callback_hosts)
        return any(fnmatchcase(host, g.lower()) for g in self.callback_hosts)


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# token hash key -> holder's name -> the holder's JSON. ARGV[1]: the principal key prefix.
# The token's holder and, in the same round trip, one hit on its per-minute rate counter
# (ARGV[2] .. name .. ARGV[3], the shape of Keys.rate("principal:<name>", window)).
_LOOKUP = """
local name = redis.call('GET', KEYS[1])
if not name then return false end
local json = redis.call('HGET', ARGV[1] .. name, 'json')
if not json then return false end
if ARGV[2] == '' then return {json, 0} end
local counter = ARGV[2] .. name .. ARGV[3]
local hits = redis.call('INCR', counter)
redis.call('EXPIRE', counter, 120)
return {json, hits}
"""


class Principals:
    def __init__(self, redis: Redis, keys: Keys) -> None:
        self.redis = redis
        self.keys = keys
        self._lookup = redis.register_script(_LOOKUP)

    async def add(self, principal: Principal, token: str | None = None) -> str:
        """Register (or replace) a principal; returns its new token, the only time it is shown."""
        token = token or TOKEN_PREFIX + secrets.token_urlsafe(32)
        old = await self.redis.hget(self.keys.principal(principal.name), "token_hash")
        async with self.redis.pipeline(transaction=True) as pipe:
            if old:
                pipe.delete(self.keys.token(_text(old)))
            pipe.hset(
                self.keys.principal(principal.name),
                mapping={"json": principal.model_dump_json(), "token_hash": hash_token(token)},
            )
            pipe.set(self.keys.token(hash_token(token)), principal.name)
            pipe.sadd(self.keys.principals, principal.name)
            await pipe.execute()
        return token

    async def remove(self, name: str) -> bool:
        old = await self.redis.hget(self.keys.principal(name), "token_hash")
        if not old:
            return False
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.delete(self.keys.token(_text(old)), self.keys.principal(name))
            pipe.srem(self.keys.principals, name)
            await pipe.execute()
        return True

    async def token_hash(self, name: str) -> str | None:
        """The hash of `name`'s current token (a new token replaces it), if `name` exists."""
        raw = await self.redis.hget(self.keys.principal(name), "token_hash")
        return _text(raw) if raw is not None else None

    async def get(self, name: str) -> Principal | None:
        raw = await self.redis.hget(self.keys.principal(name), "json")
        return Principal.model_validate_json(raw) if raw else None

    async def authenticate(self, token: str) -> Principal | None:
        """The token's holder, counting nothing."""
        return (await self._authenticate(token, ["", ""]))[0]

    async def authenticate_and_count(self, token: str, window: int) -> tuple[Principal | None, int]:
        """The token's holder and its hits in this rate window, in one round trip: it runs on
        every API call."""
        return await self._authenticate(token, self.keys.rate("principal:\0", window).split("\0"))

    async def _authenticate(self, token: str, counter: list[str]) -> tuple[Principal | None, int]:
        found = await self._lookup(
            keys=[self.keys.token(hash_token(token))],
            args=[self.keys.principal(""), *counter],
        )
        if not found:
            return None, 0
        raw, hits = found
        return Principal.model_validate_json(raw), int(hits)

    async def all(self) -> list[Principal]:
        names = sorted(_text(n) for n in await self.redis.smembers(self.keys.principals))
        found = [await self.get(n) for n in names]
        return [p for p in found if p is not None]


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
