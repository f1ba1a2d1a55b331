"""`countersign audit verify|export`: prove the audit log is intact and hand it to an auditor.

`verify` walks the chain in Redis (REDIS_URL), on the server (`--api`), or in an exported file
(`--file`, offline), and prints the head hash: record it outside Redis, and pass it back later
with `--checkpoint` to show the log was not rebuilt since. `export` writes JSON lines from the
server's API; see `bot/evidence.py` for the file format and the algorithm that checks it.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
from pathlib import Path
from typing import TextIO

from bot.audit import AuditLog
from bot.commands import Commands, remote
from bot.errors import ConfigError
from bot.evidence import verify_evidence
from bot.keys import Keys
from bot.runtime import close_redis, connect_redis
from bot.settings import Settings


def register(commands: Commands) -> None:
    audit = commands.add_parser("audit", help="audit log tools")
    sub = audit.add_subparsers(dest="audit_command", required=True)
    verify = sub.add_parser("verify", help="walk the hash chain and report tampering")
    where = verify.add_mutually_exclusive_group()
    where.add_argument(
        "--api", action="store_true", help="ask the server (COUNTERSIGN_URL/TOKEN), not Redis"
    )
    where.add_argument("--file", type=Path, help="check an exported JSONL file, offline")
    verify.add_argument(
        "--checkpoint",
        action="append",
        default=[],
        type=_sha256_hex,
        metavar="HASH",
        help="a head hash printed by an earlier verify; the chain must still contain it "
        "(repeatable)",
    )
    verify.set_defaults(run=_verify)
    export = sub.add_parser(
        "export", help="write audit entries as JSONL evidence (COUNTERSIGN_URL/TOKEN)"
    )
    export.add_argument("--since", help="ISO 8601 time or an age: 90d, 12h (default: all)")
    export.add_argument("-o", "--output", type=Path, help="file to write (default stdout)")
    export.set_defaults(run=_export)


def _sha256_hex(text: str) -> str:
    value = text.strip().lower()
    if not re.fullmatch(r"[0-9a-f]{64}", value):
        raise argparse.ArgumentTypeError(f"{text!r} is not a SHA-256 hash (64 hex digits)")
    return value


def _verify(args: argparse.Namespace, settings: Settings) -> int:
    if args.file:
        return _verify_file(args.file, args.checkpoint)
    if args.api:
        return remote.run(_verify_remote(args.checkpoint))
    return asyncio.run(_verify_redis(settings, args.checkpoint))


async def _verify_redis(settings: Settings, checkpoints: list[str]) -> int:
    if not settings.redis_url:
        raise ConfigError("Config 'REDIS_URL' is missing, and has no default.")
    redis = connect_redis(settings.redis_url)
    keys = Keys(settings.key_prefix)
    try:
        verdict = await AuditLog(redis, keys).verify(checkpoints)
    finally:
        await close_redis(redis)
    print(verdict)
    if verdict.intact and verdict.head:
        print(f"head: {verdict.head}")
    return 0 if verdict.intact else 1


async def _verify_remote(checkpoints: list[str]) -> int:
    verdict = await remote.get_json("/v1/audit/verify", {"checkpoint": checkpoints})
    print(verdict["message"])
    if verdict["intact"]:
        print(f"head: {verdict['head']}")
    return 0 if verdict["intact"] else 1


def _verify_file(path: Path, checkpoints: list[str]) -> int:
    try:
        with path.open(encoding="utf-8") as lines:
            verdict = verify_evidence(lines, checkpoints)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read ({exc.strerror})") from None
    print(verdict)
    return 0 if verdict.intact else 1


def _export(args: argparse.Namespace, settings: Settings) -> int:
    if args.output is None:
        return remote.run(_write_evidence(args.since, sys.stdout))
    with args.output.open("w", encoding="utf-8") as out:
        return remote.run(_write_evidence(args.since, out))


async def _write_evidence(since: str | None, out: TextIO) -> int:
    count = 0
    async for line in remote.stream_lines("/v1/audit/entries", {"since": since}):
        if line:
            out.write(line + "\n")
            count += 1
    print(f"exported {count} entries", file=sys.stderr)
    return 0
