"""`countersign history` and `countersign stats`: the auditor API from a terminal."""

from __future__ import annotations

import argparse
import json
from datetime import datetime
from typing import Any

from bot.commands import Commands, remote
from bot.models import Risk, Status
from bot.settings import Settings
from bot.stats import human_duration

TABLE_COLUMNS = ("created_at", "id", "agent", "action", "risk", "status", "approvers", "took")


def register(commands: Commands) -> None:
    history = commands.add_parser(
        "history",
        help="list past requests (needs COUNTERSIGN_URL and an auditor COUNTERSIGN_TOKEN)",
    )
    history.add_argument("--agent")
    history.add_argument("--status", choices=[s.value for s in Status])
    history.add_argument("--risk", choices=[r.value for r in Risk])
    history.add_argument("--approver", help="Slack user ID that voted")
    history.add_argument("--action", help="glob, e.g. 'environment.*'")
    history.add_argument("--env", dest="environment", help="glob, e.g. 'prod*'")
    history.add_argument("--since", help="ISO 8601 time or an age: 30d, 12h, 90m")
    history.add_argument("--until", help="ISO 8601 time or an age")
    history.add_argument("--limit", type=int, default=50, help="page size (table, json)")
    history.add_argument("--cursor", help="next_cursor of the page before")
    history.add_argument("--format", choices=["table", "csv", "json"], default="table")
    history.set_defaults(run=_run_history)
    stats = commands.add_parser("stats", help="approval figures (needs COUNTERSIGN_URL/TOKEN)")
    stats.add_argument("--since", help="ISO 8601 time or an age: 30d, 12h, 90m")
    stats.add_argument("--until", help="ISO 8601 time or an age")
    stats.add_argument("--format", choices=["table", "json"], default="table")
    stats.set_defaults(run=_run_stats)


def _filters(args: argparse.Namespace) -> dict[str, Any]:
    names = ("agent", "status", "risk", "approver", "action", "environment", "since", "until")
    return {name: getattr(args, name) for name in names}


def _run_history(args: argparse.Namespace, settings: Settings) -> int:
    return remote.run(_history(args))


async def _history(args: argparse.Namespace) -> int:
    if args.format == "csv":
        async for line in remote.stream_lines("/v1/history", {**_filters(args), "format": "csv"}):
            print(line)
        return 0
    params = {**_filters(args), "limit": args.limit, "cursor": args.cursor}
    page = await remote.get_json("/v1/history", params)
    if args.format == "json":
        print(json.dumps(page, indent=2))
        return 0
    print(render_table([_row(r) for r in page["requests"]], TABLE_COLUMNS))
    if page["next_cursor"]:
        print(f"\nmore: --cursor {page['next_cursor']}")
    return 0


def _row(request: dict[str, Any]) -> dict[str, str]:
    took = ""
    if request["decided_at"]:
        took = human_duration(_seconds_between(request["created_at"], request["decided_at"]))
    return {
        "created_at": request["created_at"][:19].replace("T", " "),
        "id": request["id"],
        "agent": request["agent"],
        "action": request["action"],
        "risk": request["risk"],
        "status": request["status"],
        "approvers": ",".join(a["user"] for a in request["approvals"]),
        "took": took,
    }


def _seconds_between(start: str, end: str) -> float:
    return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()


def render_table(rows: list[dict[str, str]], columns: tuple[str, ...]) -> str:
    """Plain columns padded to the widest cell; agent text has control characters removed."""
    cells = [[_printable(row[c]) for c in columns] for row in rows]
    widths = [max([len(c), *(len(r[i]) for r in cells)]) for i, c in enumerate(columns)]
    lines = [columns, *cells] if rows else [columns]
    return "\n".join(
        "  ".join(v.ljust(w) for v, w in zip(line, widths, strict=True)).rstrip() for line in lines
    )


def _printable(text: str) -> str:
    return "".join(ch if ch.isprintable() else " " for ch in text)


def _run_stats(args: argparse.Namespace, settings: Settings) -> int:
    return remote.run(_print_stats(args))


async def _print_stats(args: argparse.Namespace) -> int:
    stats = await remote.get_json("/v1/stats", {"since": args.since, "until": args.until})
    print(json.dumps(stats, indent=2) if args.format == "json" else stats_text(stats))
    return 0


def stats_text(stats: dict[str, Any]) -> str:
    def rate(name: str) -> str:
        value = stats[name]
        return "-" if value is None else f"{value:.1%}"

    lines = [
        f"requests: {stats['total']}",
        "by outcome: " + ", ".join(f"{k} {v}" for k, v in stats["by_outcome"].items()),
        "by risk: " + ", ".join(f"{k} {v}" for k, v in stats["by_risk"].items()),
        f"approved {rate('approval_rate')}, denied {rate('denial_rate')}, "
        f"expired {rate('expiry_rate')} (of finished requests)",
        f"time to decision: median {human_duration(stats['median_seconds_to_decision'])}, "
        f"p90 {human_duration(stats['p90_seconds_to_decision'])}",
        "",
        render_table(
            [
                {
                    "agent": a["agent"],
                    "requests": str(a["total"]),
                    "denied": str(a["denied"]),
                    "denial rate": f"{a['denial_rate']:.1%}",
                }
                for a in stats["agents"]
            ],
            ("agent", "requests", "denied", "denial rate"),
        ),
        "",
        render_table(
            [
                {
                    "approver": a["user"],
                    "votes": str(a["votes"]),
                    "approvals": str(a["approvals"]),
                    "denials": str(a["denials"]),
                }
                for a in stats["busiest_approvers"]
            ],
            ("approver", "votes", "approvals", "denials"),
        ),
    ]
    return "\n".join(lines)
