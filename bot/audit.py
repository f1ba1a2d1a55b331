"""The tamper-evident audit log: a Redis stream whose entries form a SHA-256 hash chain.

Each entry holds `prev` (the previous entry's hash), `data` (the exact JSON that was hashed)
and `hash` = sha256(prev + "\\n" + data). Altering, removing or inserting an entry breaks the
chain at that point; removing the newest entries is caught by the stored head hash.

Someone who can write to Redis could rebuild the whole chain (and its head) after editing it.
Checkpoints close that: a head hash recorded outside Redis (a ticket, a log sink, a
compliance system) must still be in the chain when it is verified later.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis

from bot.keys import Keys


@dataclass(frozen=True)
class AuditEntry:
    stream_id: str
    prev: str
    data: str
    hash: str

    @property
    def fields(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.data)
        return parsed


@dataclass(frozen=True)
class Verdict:
    intact: bool
    entries: int
    first_bad: str | None = None
    problem: str = ""
    checkpoints: int = 0  # recorded head hashes found in the chain
    head: str = ""  # the head hash the walk checked up to (record it as a checkpoint)

    def __str__(self) -> str:
        if not self.intact:
            return f"broken at entry {self.first_bad}: {self.problem}"
        found = f", {self.checkpoints} checkpoint(s) found" if self.checkpoints else ""
        return f"intact: {self.entries} entries{found}"


def entry_hash(prev: str, data: str) -> str:
    return hashlib.sha256(f"{prev}\n{data}".encode()).hexdigest()


class ChainChecker:
    """Checks entries one at a time, oldest first, so any log fits in constant memory."""

    def __init__(self, checkpoints: Iterable[str] = ()) -> None:
        self.prev = ""  # hash the next entry must link to
        self.count = 0
        self._before: AuditEntry | None = None  # the entry checked last
        self._before_prev = ""  # the hash that entry linked to
        self._checkpoints = {c.strip().lower() for c in checkpoints}
        self._found: set[str] = set()

    def feed(self, entry: AuditEntry) -> Verdict | None:
        """None while the chain holds; the verdict naming the first bad entry otherwise."""
        if entry.prev != self.prev:
            return self._broken_link(entry)
        if entry_hash(entry.prev, entry.data) != entry.hash:
            return Verdict(
                False, self.count, entry.stream_id, "its content does not match its hash"
            )
        self._before, self._before_prev = entry, self.prev
        self.prev, self.count = entry.hash, self.count + 1
        if entry.hash in self._checkpoints:
            self._found.add(entry.hash)
        return None

    def finish(self, head: str | None) -> Verdict:
        if (head or "") != self.prev:
            return Verdict(False, self.count, "(end)", "the newest entries were removed")
        missing = sorted(self._checkpoints - self._found)
        if missing:
            why = (
                f"checkpoint {missing[0]} is not in the chain: the log up to it was rewritten "
                "or removed (or the checkpoint is from another deployment)"
            )
            return Verdict(False, self.count, "(checkpoint)", why)
        return Verdict(True, self.count, checkpoints=len(self._found), head=head or "")

    def _broken_link(self, entry: AuditEntry) -> Verdict:
        """Name the culprit: an entry slipped in before this one, or entries removed before it."""
        before = self._before
        if before is not None and entry.prev == self._before_prev:
            why = "it was inserted: the entry after it links to the one before it"
            return Verdict(False, self.count - 1, before.stream_id, why)
        why = "its prev does not match the entry before it (an entry was removed)"
        return Verdict(False, self.count, entry.stream_id, why)


def verify_chain(
    entries: Iterable[AuditEntry], head: str | None, checkpoints: Iterable[str] = ()
) -> Verdict:
    """Check a sequence of entries, oldest first, against the expected head hash."""
    checker = ChainChecker(checkpoints)
    for entry in entries:
        if verdict := checker.feed(entry):
            return verdict
    return checker.finish(head)


class AuditLog:
    def __init__(self, redis: Redis, keys: Keys) -> None:
        self.redis = redis
        self.keys = keys

    async def entries(self, start: str = "-", batch: int = 1000) -> AsyncIterator[AuditEntry]:
        cursor = start
        while True:
            rows = await self.redis.xrange(self.keys.audit, min=cursor, max="+", count=batch) or []
            for stream_id, raw in rows:
                yield _entry(stream_id, raw or {})
            if len(rows) < batch:
                return
            cursor = "(" + _text(rows[-1][0])

    async def for_request(self, request_id: str) -> list[dict[str, Any]]:
        """Audit entries of one request, found through its own list of stream ids."""
        ids = await self.redis.lrange(self.keys.request_audit(request_id), 0, -1)
        async with self.redis.pipeline(transaction=False) as pipe:
            for stream_id in ids:
                pipe.xrange(self.keys.audit, min=stream_id, max=stream_id)
            rows = await pipe.execute()
        return [_entry(sid, raw or {}).fields for found in rows for sid, raw in found]

    async def verify(self, checkpoints: Iterable[str] = ()) -> Verdict:
        """Walk the chain up to the head read first; entries appended meanwhile are not judged.
        Each checkpoint (a head hash recorded earlier) must be found on the way."""
        raw_head = await self.redis.get(self.keys.audit_head)
        head = _text(raw_head) if raw_head else None
        checker = ChainChecker(checkpoints)
        if head is None:  # the log was empty when we looked; later entries are not judged
            return checker.finish(head)
        async for entry in self.entries():
            if verdict := checker.feed(entry):
                return verdict
            if entry.hash == head:
                return checker.finish(head)
        return checker.finish(head)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _entry(stream_id: Any, raw: dict[Any, Any]) -> AuditEntry:
    fields = {_text(k): _text(v) for k, v in raw.items()}
    return AuditEntry(
        _text(stream_id), fields.get("prev", ""), fields.get("data", ""), fields.get("hash", "")
    )
