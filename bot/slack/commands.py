"""`/countersign`: pending, show, history, stats, help. Every reply is ephemeral.

History and stats are for the policy's `auditors` only (users, or members of its Slack user
groups; a group Slack cannot list grants nothing). `show` is for those who may vote on the
request, the person it was made for, the agent's owner and auditors; anyone else is told the
request was not found, so a leaked id confirms nothing.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from bot import history, stats
from bot.directory import Directory, DirectoryUnavailable
from bot.errors import CountersignError, Forbidden, NotFound
from bot.models import ApprovalRequest
from bot.service import ApprovalService
from bot.slack import reports
from bot.slack.blocks import card, card_text
from bot.slack.home import awaiting_vote
from bot.slack.text import clip, code_safe

PAGE_SIZE = 10
BUTTON_VALUE_LIMIT = 2000
_MENTION = re.compile(r"^<@([UW][A-Z0-9]+)(\|[^>]*)?>$|^([UW][A-Z0-9]{2,20})$")
_FILTER_KEYS = {
    "agent": "agent",
    "user": "approver",
    "approver": "approver",
    "status": "status",
    "risk": "risk",
    "action": "action",
    "env": "environment",
    "environment": "environment",
}


class UsageError(CountersignError):
    """The command was not understood; the message says how to write it."""


Reply = dict[str, Any]


@dataclass
class Commands:
    service: ApprovalService
    directory: Directory

    async def run(self, user: str, text: str, cursor: str | None = None) -> Reply:
        """Run one `/countersign` invocation for `user`; returns what to respond."""
        name, _, rest = text.strip().partition(" ")
        handlers: dict[str, Callable[[str, str, str | None], Awaitable[Reply]]] = {
            "": self._help,
            "help": self._help,
            "pending": self._pending,
            "show": self._show,
            "history": self._history,
            "stats": self._stats,
        }
        handler = handlers.get(name.lower())
        if handler is None:
            raise UsageError(f"Unknown subcommand `{clip(code_safe(name), 40)}`. Try `help`.")
        return await handler(user, rest.strip(), cursor)

    async def _help(self, user: str, args: str, cursor: str | None) -> Reply:
        return reports.reply(reports.help_blocks(), "Countersign commands")

    async def _pending(self, user: str, args: str, cursor: str | None) -> Reply:
        requests = await awaiting_vote(self.service, user)
        blocks = reports.pending_blocks(requests, self.service.clock())
        return reports.reply(blocks, f"{len(requests)} requests await your vote")

    async def _show(self, user: str, args: str, cursor: str | None) -> Reply:
        if not args:
            raise UsageError("Say which request: `show req_…`.")
        request_id = args.split()[0]
        request = await self.service.get(request_id)
        if not await self._may_see(user, request):
            raise NotFound(request_id)  # the same answer as for an id that does not exist
        return reports.reply(card(request, self.service.clock()), card_text(request))

    async def _may_see(self, user: str, request: ApprovalRequest) -> bool:
        """Its eligible approvers, the person it was made for, the agent's owner, auditors."""
        if user in (request.on_behalf_of, request.agent_owner):
            return True
        policy = await self.service.store.policy_of(request.id)
        if policy is not None and await self.service.is_eligible(user, policy):
            return True
        return await self._is_auditor(user)

    async def _history(self, user: str, args: str, cursor: str | None) -> Reply:
        await self._require_auditor(user)
        found = parse_filter(args, self.service)
        page = await history.query(self.service.store, found, cursor=cursor, limit=PAGE_SIZE)
        more = _next_value(args, page.next_cursor) if page.next_cursor else None
        blocks = reports.history_blocks(page.requests, _described(args), more)
        return reports.reply(blocks, f"History: {len(page.requests)} requests")

    async def _stats(self, user: str, args: str, cursor: str | None) -> Reply:
        await self._require_auditor(user)
        window = parse_filter(args, self.service)
        if window.model_dump(exclude={"since", "until"}, exclude_none=True):
            raise UsageError("`stats` takes only `since:` and `until:`.")
        figures = await stats.stats(self.service.store, since=window.since, until=window.until)
        return reports.reply(reports.stats_blocks(figures, _described(args)), "Countersign stats")

    async def _require_auditor(self, user: str) -> None:
        if not await self._is_auditor(user):
            raise Forbidden("History and stats are only for auditors (`auditors` in policy.yaml).")

    async def _is_auditor(self, user: str) -> bool:
        auditors = self.service.policy.config.auditors
        groups = set()
        for group in auditors.usergroups:
            try:
                if user in await self.directory.members(group):
                    groups.add(group)
            except DirectoryUnavailable:
                continue
        return self.service.policy.is_auditor(user, groups)


def parse_filter(args: str, service: ApprovalService) -> history.HistoryFilter:
    """`agent:x user:@y status:approved risk:critical since:7d ...` -> a HistoryFilter."""
    fields: dict[str, Any] = {}
    for token in args.split():
        key, sep, value = token.partition(":")
        key = key.lower()
        if not sep or not value:
            raise UsageError(f"`{clip(code_safe(token), 60)}` is not a filter; write key:value.")
        if key in ("since", "until"):
            fields[key] = history.parse_moment(value, service.clock())
        elif key in _FILTER_KEYS:
            fields[_FILTER_KEYS[key]] = _user(value) if key in ("user", "approver") else value
        else:
            keys = ", ".join(f"`{k}:`" for k in [*_FILTER_KEYS, "since", "until"])
            raise UsageError(f"Unknown filter `{clip(code_safe(key), 40)}`. Filters: {keys}.")
    try:
        return history.HistoryFilter(**fields)
    except ValidationError as exc:
        problem = exc.errors()[0]
        raise UsageError(f"`{problem['loc'][0]}`: {code_safe(problem['msg'])}.") from None


def _user(value: str) -> str:
    match = _MENTION.match(value)
    if not match:
        raise UsageError("Name the user as a mention, e.g. `user:@alice`.")
    return match.group(1) or match.group(3)


def _described(args: str) -> str:
    return f"`{clip(code_safe(' '.join(args.split())), 300)}`" if args.strip() else ""


def _next_value(args: str, cursor: str) -> str | None:
    """What the "Next page" button carries: the query and where to resume."""
    value = json.dumps({"q": args, "cursor": cursor})
    return value if len(value) <= BUTTON_VALUE_LIMIT else None


def next_page(value: str) -> tuple[str, str]:
    """The query text and cursor a "Next page" button carried."""
    found = json.loads(value)
    return f"history {found['q']}", found["cursor"]
