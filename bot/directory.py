"""Who is in a Slack user group. The Slack adapter supplies the real lookup."""

from __future__ import annotations

from typing import Protocol


class DirectoryUnavailable(Exception):
    """Group membership could not be established; eligibility must then be refused."""


class Directory(Protocol):
    async def members(self, usergroup: str) -> set[str]:
        """User IDs in a Slack user group; raises DirectoryUnavailable when unknown."""
        ...


class StaticDirectory:
    """Membership known up front: dev mode, and deployments without user groups."""

    def __init__(self, groups: dict[str, set[str]] | None = None) -> None:
        self.groups = groups or {}

    async def members(self, usergroup: str) -> set[str]:
        if usergroup not in self.groups:
            raise DirectoryUnavailable(f"user group {usergroup} is unknown")
        return self.groups[usergroup]
