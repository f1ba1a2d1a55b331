"""Sign and send what Slack sends: interactive payloads, slash commands and events.

Bodies are signed with the documented v0 scheme (HMAC-SHA256 of `v0:<timestamp>:<body>`) and
POSTed over real HTTP, exactly as Slack would. Reusable by any end-to-end test:

    slack = SlackSender(http_client, "signing-secret", response_url=fake.response_url())
    await slack.click("U0ALICE01", "countersign.approve", request_id, channel=..., ts=...)
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
from typing import Any
from urllib.parse import urlencode

import httpx

EVENTS_PATH = "/slack/events"
_ids = itertools.count(1)


def signature(secret: str, timestamp: int, body: bytes) -> str:
    base = f"v0:{timestamp}:".encode() + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def signed_headers(secret: str, body: bytes, timestamp: int | None = None) -> dict[str, str]:
    """Headers Slack sends with a body: a fresh timestamp unless one is given."""
    stamp = int(time.time()) if timestamp is None else timestamp
    return {
        "X-Slack-Request-Timestamp": str(stamp),
        "X-Slack-Signature": signature(secret, stamp, body),
    }


def trigger_id() -> str:
    return f"{next(_ids)}.{int(time.time() * 1000)}.fake"


def block_action(
    user: str,
    action_id: str,
    value: str,
    *,
    channel: str | None = None,
    ts: str | None = None,
    view: dict[str, Any] | None = None,
    response_url: str | None = None,
) -> dict[str, Any]:
    """A `block_actions` payload: a click on a message button, or in a view (home, modal)."""
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": {"id": user, "username": user.lower(), "team_id": "T0TEST"},
        "team": {"id": "T0TEST", "domain": "test"},
        "api_app_id": "A0TEST",
        "token": "legacy-verification-token",
        "trigger_id": trigger_id(),
        "actions": [
            {
                "type": "button",
                "action_id": action_id,
                "block_id": "decision",
                "value": value,
                "action_ts": f"{time.time():.6f}",
            }
        ],
    }
    if channel is not None:
        payload["channel"] = {"id": channel, "name": "approvals"}
        payload["container"] = {"type": "message", "channel_id": channel, "message_ts": ts}
        payload["message"] = {"ts": ts, "text": ""}
    if view is not None:
        payload["view"] = view
        payload["container"] = {"type": "view", "view_id": view.get("id")}
    if response_url is not None:
        payload["response_url"] = response_url
    return payload


def view_submission(user: str, view: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    """A modal submitted with `values` ({block_id: {action_id: {"type":…, "value":…}}})."""
    submitted = {**view, "state": {"values": values}}
    return {
        "type": "view_submission",
        "user": {"id": user, "username": user.lower(), "team_id": "T0TEST"},
        "team": {"id": "T0TEST", "domain": "test"},
        "api_app_id": "A0TEST",
        "trigger_id": trigger_id(),
        "view": submitted,
    }


def slash_command(user: str, text: str, *, channel: str, response_url: str) -> dict[str, str]:
    """The fields of `/countersign <text>` typed by `user` in `channel`."""
    return {
        "token": "legacy-verification-token",
        "team_id": "T0TEST",
        "channel_id": channel,
        "user_id": user,
        "user_name": user.lower(),
        "command": "/countersign",
        "text": text,
        "api_app_id": "A0TEST",
        "response_url": response_url,
        "trigger_id": trigger_id(),
    }


class SlackSender:
    """Sends signed Slack requests to a running Countersign over HTTP."""

    def __init__(
        self, http: httpx.AsyncClient, secret: str, *, response_url: str, path: str = EVENTS_PATH
    ) -> None:
        self.http = http
        self.secret = secret
        self.response_url = response_url
        self.path = path

    async def send(
        self,
        body: bytes,
        content_type: str,
        *,
        timestamp: int | None = None,
        secret: str | None = None,
        retry_num: int | None = None,
    ) -> httpx.Response:
        """POST a body signed with `secret` (default: the right one) at `timestamp`."""
        headers = signed_headers(secret or self.secret, body, timestamp)
        headers["Content-Type"] = content_type
        if retry_num is not None:
            headers["X-Slack-Retry-Num"] = str(retry_num)
            headers["X-Slack-Retry-Reason"] = "http_timeout"
        return await self.http.post(self.path, content=body, headers=headers)

    async def interact(self, payload: dict[str, Any], **options: Any) -> httpx.Response:
        body = urlencode({"payload": json.dumps(payload)}).encode()
        return await self.send(body, "application/x-www-form-urlencoded", **options)

    async def click(self, user: str, action_id: str, value: str, **where: Any) -> httpx.Response:
        """A button click in a message (`channel`, `ts`) or a view (`view`)."""
        payload = block_action(user, action_id, value, response_url=self.response_url, **where)
        return await self.interact(payload)

    async def command(
        self, user: str, text: str, *, channel: str = "C0GENERAL", **options: Any
    ) -> httpx.Response:
        """`/countersign <text>` typed by `user` in `channel`."""
        form = slash_command(user, text, channel=channel, response_url=self.response_url)
        return await self.send(
            urlencode(form).encode(), "application/x-www-form-urlencoded", **options
        )

    async def event(
        self, event: dict[str, Any], *, event_id: str, **options: Any
    ) -> httpx.Response:
        body = {
            "type": "event_callback",
            "team_id": "T0TEST",
            "api_app_id": "A0TEST",
            "event": event,
            "event_id": event_id,
            "event_time": int(time.time()),
        }
        return await self.send(json.dumps(body).encode(), "application/json", **options)
