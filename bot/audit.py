"""The tamper-evident audit log: a Redis stream whose entries form a SHA-256 hash chain.

Each entry holds `prev` (the previous entry's hash), `data` (the exact JSON that was hashed)
and `hash` = sha256(prev + "\\n" + data). Altering, removing or inserting an entry breaks the
chain at that point; removing the newest entries is caught by the stored head hash.
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

    def __str__(self) -> str:
        if self.intact:
            return f"intact: {self.entries} entries"
        return f"broken at entry {self.first_bad}: {self.problem}"


def entry_hash(prev: str, data: str) -> str:
    return hashlib.sha256(f"{prev}\n{data}".encode()).hexdigest()


def verify_chain(entries: Iterable[AuditEntry], head: str | None) -> Verdict:
    """Check a sequence of entries, oldest first, against the expected head hash."""
    prev, count = "", 0
    before: AuditEntry | None = None  # the entry checked last
    before_prev = ""  # the hash that entry should have linked to
    for entry in entries:
        if entry.prev != prev:
            return _broken_link(entry, before, before_prev, count)
        if entry_hash(entry.prev, entry.data) != entry.hash:
            return Verdict(False, count, entry.stream_id, "its content does not match its hash")
        before, before_prev = entry, prev
        prev, count = entry.hash, count + 1
    if (head or "") != prev:
        return Verdict(False, count, "(end)", "the newest entries were removed")
    return Verdict(True, count)


def _broken_link(
    entry: AuditEntry, before: AuditEntry | None, before_prev: str, count: int
) -> Verdict:
    """Name the culprit: an entry slipped in before this one, or entries removed before it."""
    if before is not None and entry.prev == before_prev:
        return Verdict(
            False,
            count - 1,
            before.stream_id,
            "it was inserted: the entry after it links to the one before it",
        )
    return Verdict(
        False,
        count,
        entry.stream_id,
        "its prev does not match the entry before it (an entry was removed)",
    )


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
        """Audit entries of one request (a scan; for the console and `show`)."""
        return [e.fields async for e in self.entries() if e.fields["request_id"] == request_id]

    async def verify(self) -> Verdict:
        head = await self.redis.get(self.keys.audit_head)
        entries = [e async for e in self.entries()]
        return verify_chain(entries, _text(head) if head else None)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _entry(stream_id: Any, raw: dict[Any, Any]) -> AuditEntry:
    fields = {_text(k): _text(v) for k, v in raw.items()}
    return AuditEntry(
        _text(stream_id), fields.get("prev", ""), fields.get("data", ""), fields.get("hash", "")
    )
