"""Audit evidence: the audit stream written as JSON lines that anyone can verify offline.

Each line is one audit entry, oldest first: `{"id", "prev", "data", "hash"}`, where `data` is
the exact JSON text that was hashed. The algorithm (no Countersign code needed):

    prev = first line's "prev"            ("" when the export starts at the first entry)
    for each line:
        line.prev must equal prev         (otherwise an entry was removed or inserted)
        sha256_hex(utf8(line.prev + "\\n" + line.data)) must equal line.hash
        prev = line.hash
    prev is now the newest hash; compare it with `head` from GET /v1/audit/verify
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from datetime import datetime

from bot.audit import AuditEntry, AuditLog, entry_hash
from bot.models import to_ms


def stream_start(since: datetime | None) -> str:
    """The first stream id appended at or after `since` (stream ids are Redis server time)."""
    return f"{to_ms(since)}-0" if since else "-"


def evidence_line(entry: AuditEntry) -> str:
    record = {"id": entry.stream_id, "prev": entry.prev, "data": entry.data, "hash": entry.hash}
    return json.dumps(record, ensure_ascii=False) + "\n"


async def evidence_lines(log: AuditLog, since: datetime | None) -> AsyncIterator[str]:
    async for entry in log.entries(stream_start(since)):
        yield evidence_line(entry)


@dataclass(frozen=True)
class EvidenceVerdict:
    intact: bool
    entries: int
    first_bad_line: int | None = None
    problem: str = ""
    anchor: str = ""  # the hash the first entry links to ("" = the start of the log)
    last_hash: str = ""
    checkpoints: int = 0  # recorded head hashes found in the file

    def __str__(self) -> str:
        if not self.intact:
            where = f"broken at line {self.first_bad_line}" if self.first_bad_line else "broken"
            return f"{where}: {self.problem}"
        start = "the start of the log" if not self.anchor else f"hash {self.anchor}"
        found = f"; {self.checkpoints} checkpoint(s) found" if self.checkpoints else ""
        return f"intact: {self.entries} entries from {start}; newest hash {self.last_hash}{found}"


def verify_evidence(lines: Iterable[str], checkpoints: Iterable[str] = ()) -> EvidenceVerdict:
    """Check an exported file's chain, line by line, and name the first bad line; each
    checkpoint (a head hash recorded earlier) must be one of its hashes."""
    prev: str | None = None
    anchor, count = "", 0
    wanted, found = {c.strip().lower() for c in checkpoints}, set()
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            entry_prev, data, digest = record["prev"], record["data"], record["hash"]
        except (ValueError, KeyError, TypeError):
            return EvidenceVerdict(False, count, number, "not an evidence line", anchor)
        if prev is None:
            prev = anchor = entry_prev
        if entry_prev != prev:
            problem = "its prev does not match the line before (an entry was removed or inserted)"
            return EvidenceVerdict(False, count, number, problem, anchor)
        if entry_hash(entry_prev, data) != digest:
            return EvidenceVerdict(False, count, number, "its data does not match its hash", anchor)
        prev, count = digest, count + 1
        if digest in wanted:
            found.add(digest)
    missing = sorted(wanted - found)
    if missing:
        problem = (
            f"checkpoint {missing[0]} is not in the file: the log up to it was rewritten or "
            "removed, or the export starts after it"
        )
        return EvidenceVerdict(False, count, None, problem, anchor, prev or "")
    return EvidenceVerdict(True, count, anchor=anchor, last_hash=prev or "", checkpoints=len(found))
