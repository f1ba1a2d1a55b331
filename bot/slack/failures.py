"""Failures of the Slack Web API: how to describe them, and when Slack asks us to wait."""

from __future__ import annotations

import aiohttp
from slack_sdk.errors import SlackApiError

# What a call to the Slack Web API can fail with: Slack's answer, or the connection to it.
SLACK_FAILURES = (SlackApiError, aiohttp.ClientError, OSError, TimeoutError)


def describe(exc: BaseException) -> str:
    """`429 ratelimited`, `500`, `200 channel_not_found`, or the exception's own text."""
    if not isinstance(exc, SlackApiError):
        return f"{type(exc).__name__}: {exc}"
    data = exc.response.data
    error = data.get("error", "") if isinstance(data, dict) else ""
    return f"{exc.response.status_code} {error}".strip()


def retry_after(exc: SlackApiError) -> float | None:
    """Seconds Slack asked us to wait (a 429's Retry-After), or None for other failures."""
    if exc.response.status_code != 429:
        return None
    try:
        return max(float(exc.response.headers.get("Retry-After", "1")), 1.0)
    except ValueError:
        return 1.0
