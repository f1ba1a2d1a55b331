"""Who is in a Slack user group, asked of Slack (`usergroups.users.list`) and cached briefly.

A failed lookup raises `DirectoryUnavailable`, so the core refuses the vote: when Slack cannot
say who is in a group, nobody gets in through it. The cache lives in process memory on purpose:
it only saves calls, and losing it loses nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from slack_sdk.web.async_client import AsyncWebClient

from bot.clock import Clock
from bot.directory import DirectoryUnavailable
from bot.slack.failures import SLACK_FAILURES, describe

log = logging.getLogger(__name__)

CACHE_SECONDS = 60.0


@dataclass
class SlackDirectory:
    client: AsyncWebClient
    clock: Clock
    ttl: timedelta = timedelta(seconds=CACHE_SECONDS)
    _cache: dict[str, tuple[datetime, set[str]]] = field(default_factory=dict)
    failures: dict[str, str] = field(default_factory=dict)

    async def members(self, usergroup: str) -> set[str]:
        """User IDs in the group; raises DirectoryUnavailable when Slack cannot say."""
        cached = self._cache.get(usergroup)
        if cached and self.clock() - cached[0] < self.ttl:
            return cached[1]
        try:
            response = await self.client.usergroups_users_list(usergroup=usergroup)
        except SLACK_FAILURES as exc:
            self.failures[usergroup] = describe(exc)
            log.warning("usergroups.users.list %s failed: %s", usergroup, self.failures[usergroup])
            raise DirectoryUnavailable(
                f"user group {usergroup}: {self.failures[usergroup]}"
            ) from exc
        users = set(response.get("users") or [])
        self._cache[usergroup] = (self.clock(), users)
        self.failures.pop(usergroup, None)
        return users

    def failed(self, usergroups: list[str]) -> list[str]:
        """Which of these groups Slack could not list at the last try."""
        return [g for g in usergroups if g in self.failures]
