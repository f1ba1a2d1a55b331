"""A fake Slack Web API: a real HTTP server that records every call and answers like Slack.

Point a Slack client at `fake.api_url` (SLACK_API_URL). It implements the methods Countersign
uses, keeps the messages it was sent (so a test can read the card as it stands), checks
blocks against Block Kit's limits (answering `invalid_blocks` as Slack does), and can be told
to fail: `fake.fail("chat.postMessage", status=429, retry_after=7, times=2)`, or to do the
work and then fail, as when Slack's answer is lost: `fake.fail("chat.postMessage", lost=True)`.
Messages keep their `metadata`; `conversations.history` returns it with `include_all_metadata`.

It also plays Slack's side of Socket Mode: `apps.connections.open` hands out a `ws://` URL of
this server, which greets each connection with `hello`, and `send_envelope` pushes what Slack
would (an `interactive` payload, a `slash_commands` form, an `events_api` event); the app's
acks are kept by envelope id.

    async with FakeSlack() as slack:
        slack.usergroups["S0ONCALL1"] = ["U0GROUP01"]
        ...
        posted = await slack.wait_until(lambda: slack.calls_to("chat.postMessage"))
        envelope = await slack.send_envelope("interactive", block_action(...))
        ack = await slack.ack_of(envelope)
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import WSMsgType, web

from tests.support.redis_server import free_port

MESSAGE_BLOCKS = 50
VIEW_BLOCKS = 100


@dataclass
class Call:
    method: str
    args: dict[str, Any]
    status: int = 200
    response: dict[str, Any] = field(default_factory=dict)
    authorization: str = ""  # the token the caller sent, as `Bearer …`
    peer: str = ""  # the caller's end of the TCP connection, `host:port`

    @property
    def ok(self) -> bool:
        return self.status == 200 and bool(self.response.get("ok"))


@dataclass
class Failure:
    status: int
    error: str
    retry_after: int | None
    times: int
    lost: bool = False  # the call took effect; only its answer fails


@dataclass
class Message:
    channel: str
    ts: str
    text: str
    blocks: list[dict[str, Any]]
    thread_ts: str | None = None
    updates: int = 0
    metadata: dict[str, Any] | None = None


class FakeSlack:
    def __init__(self) -> None:
        self.port = free_port()
        self.calls: list[Call] = []
        self.usergroups: dict[str, list[str]] = {}
        self.messages: dict[tuple[str, str], Message] = {}
        self.channel_names: dict[str, str] = {}  # id -> name, for channels posted to by name
        self.ephemerals: list[dict[str, Any]] = []
        self.responses: list[dict[str, Any]] = []  # posts to response_url
        self.views: dict[str, dict[str, Any]] = {}  # open modals by id; homes by "home:<user>"
        self._failures: dict[str, list[Failure]] = {}
        self._held: dict[str, asyncio.Event] = {}
        self.sockets: list[web.WebSocketResponse] = []  # open Socket Mode connections
        self.acks: dict[str, dict[str, Any]] = {}  # Socket Mode acks by envelope id
        self._seq = itertools.count(1)
        self._runner: web.AppRunner | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/api/"

    def response_url(self, name: str = "r") -> str:
        return f"{self.base_url}/respond/{name}"

    async def __aenter__(self) -> FakeSlack:
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._api)
        app.router.add_post("/respond/{name}", self._respond)
        app.router.add_get("/socket", self._socket)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        for socket in list(self.sockets):
            await socket.close()
        if self._runner is not None:
            await self._runner.cleanup()

    # --- scripting and inspection -----------------------------------------------------------

    def hold(self, method: str) -> asyncio.Event:
        """Calls of `method` wait for an answer until the returned event is set."""
        return self._held.setdefault(method, asyncio.Event())

    def fail(
        self,
        method: str,
        *,
        status: int = 500,
        error: str = "internal_error",
        retry_after: int | None = None,
        times: int = 1,
        lost: bool = False,
    ) -> None:
        """Answer the next `times` calls of `method` with this failure (`lost`: after doing it)."""
        error = "ratelimited" if status == 429 else error
        failure = Failure(status, error, retry_after, times, lost)
        self._failures.setdefault(method, []).append(failure)

    def calls_to(self, method: str, *, ok: bool | None = None) -> list[Call]:
        return [c for c in self.calls if c.method == method and (ok is None or c.ok == ok)]

    def channel_id(self, name: str) -> str:
        """The id this fake gives a channel name (`#prod-approvals` -> `C…`) or a DM."""
        if not name.startswith("#"):
            return name
        channel = "C" + hashlib.sha256(name.encode()).hexdigest()[:8].upper()
        self.channel_names[channel] = name[1:]
        return channel

    def thread(self, channel: str, ts: str) -> list[Message]:
        """Replies in a message's thread, oldest first."""
        return [m for m in self.messages.values() if m.channel == channel and m.thread_ts == ts]

    def in_channel(self, name: str) -> list[Message]:
        """Top-level messages in a channel, oldest first."""
        channel = self.channel_id(name)
        return [m for m in self.messages.values() if m.channel == channel and not m.thread_ts]

    async def wait_until(self, check: Callable[[], Any], timeout: float = 20.0) -> Any:
        """Poll `check` until it returns something truthy (generous timeout, no timing asserts)."""
        async with asyncio.timeout(timeout):
            while not (result := check()):
                await asyncio.sleep(0.05)
            return result

    # --- HTTP --------------------------------------------------------------------------------

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        args = await _arguments(request)
        if method in self._held:
            await self._held[method].wait()
        failure = self._next_failure(method)
        handler = getattr(self, "_" + method.replace(".", "_"), None)
        if failure is not None:
            if failure.lost and handler:
                handler(args)
            return self._answer_failure(method, args, failure)
        body = handler(args) if handler else {"ok": False, "error": "unknown_method"}
        auth = request.headers.get("Authorization", "")
        address = request.transport.get_extra_info("peername") if request.transport else None
        peer = "{}:{}".format(*address[:2]) if address else ""
        self.calls.append(Call(method, args, 200, body, auth, peer))
        return web.json_response(body)

    async def _respond(self, request: web.Request) -> web.Response:
        body = json.loads(await request.text())
        self.responses.append(body)
        self.calls.append(Call("response_url", body, 200, {"ok": True}))
        return web.json_response({"ok": True})

    # --- Socket Mode -------------------------------------------------------------------------

    async def send_envelope(
        self, kind: str, payload: dict[str, Any], *, accepts_response_payload: bool = False
    ) -> str:
        """Push one envelope to the app's newest connection (waiting for one); its id."""
        socket = await self.wait_until(lambda: self.sockets[-1] if self.sockets else None)
        envelope_id = f"env-{next(self._seq)}"
        await socket.send_json(
            {
                "envelope_id": envelope_id,
                "type": kind,
                "payload": payload,
                "accepts_response_payload": accepts_response_payload,
            }
        )
        return envelope_id

    async def ack_of(self, envelope_id: str) -> dict[str, Any]:
        """The app's ack of an envelope, once it arrived."""
        ack: dict[str, Any] = await self.wait_until(lambda: self.acks.get(envelope_id))
        return ack

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse()  # answers the client's pings itself
        await socket.prepare(request)
        await socket.send_json(
            {
                "type": "hello",
                "num_connections": len(self.sockets) + 1,
                "debug_info": {"host": "fake-slack", "approximate_connection_time": 3600},
                "connection_info": {"app_id": "A0TEST"},
            }
        )
        self.sockets.append(socket)
        try:
            async for message in socket:
                if message.type == WSMsgType.TEXT:
                    ack = json.loads(message.data)
                    self.acks[str(ack.get("envelope_id"))] = ack
        finally:
            self.sockets.remove(socket)
        return socket

    def _next_failure(self, method: str) -> Failure | None:
        queue = self._failures.get(method) or []
        if not queue:
            return None
        failure = queue[0]
        failure.times -= 1
        if failure.times <= 0:
            queue.pop(0)
        return failure

    def _answer_failure(self, method: str, args: dict[str, Any], f: Failure) -> web.Response:
        self.calls.append(Call(method, args, f.status, {"ok": False, "error": f.error}))
        if f.status >= 500:
            return web.Response(status=f.status, text="<html>oops</html>", content_type="text/html")
        headers = {"Retry-After": str(f.retry_after)} if f.retry_after is not None else {}
        return web.json_response({"ok": False, "error": f.error}, status=f.status, headers=headers)

    # --- Web API methods ---------------------------------------------------------------------

    def _conversations_replies(self, args: dict[str, Any]) -> dict[str, Any]:
        """A thread: its parent, then the replies oldest first, paged by an offset cursor."""
        channel, parent = str(args.get("channel", "")), str(args.get("ts", ""))
        if (channel, parent) not in self.messages:
            return {"ok": False, "error": "thread_not_found"}
        replies = [
            m for m in self.messages.values() if m.channel == channel and m.thread_ts == parent
        ]
        found = [self.messages[(channel, parent)], *sorted(replies, key=lambda m: float(m.ts))]
        return _page(found, args)

    def _apps_connections_open(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "url": f"ws://127.0.0.1:{self.port}/socket?ticket={next(self._seq)}"}

    def _auth_test(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "user_id": "U0BOT0001", "bot_id": "B0BOT0001", "team_id": "T0TEST"}

    def _chat_postMessage(self, args: dict[str, Any]) -> dict[str, Any]:
        problems = _blocks_problems(args, MESSAGE_BLOCKS)
        if problems:
            return {"ok": False, "error": "invalid_blocks", "errors": problems}
        channel = self.channel_id(str(args["channel"]))
        ts = f"{1_700_000_000 + next(self._seq)}.000100"
        blocks = list(args.get("blocks") or [])
        message = Message(channel, ts, str(args.get("text", "")), blocks, args.get("thread_ts"))
        message.metadata = _json_arg(args["metadata"]) if args.get("metadata") else None
        self.messages[(channel, ts)] = message
        return {"ok": True, "channel": channel, "ts": ts, "message": {"text": message.text}}

    def _chat_update(self, args: dict[str, Any]) -> dict[str, Any]:
        problems = _blocks_problems(args, MESSAGE_BLOCKS)
        if problems:
            return {"ok": False, "error": "invalid_blocks", "errors": problems}
        message = self.messages.get((str(args["channel"]), str(args["ts"])))
        if message is None:
            return {"ok": False, "error": "message_not_found"}
        message.text = str(args.get("text", message.text))
        message.blocks = list(args.get("blocks") or [])
        message.updates += 1
        return {"ok": True, "channel": message.channel, "ts": message.ts}

    def _chat_postEphemeral(self, args: dict[str, Any]) -> dict[str, Any]:
        self.ephemerals.append(args)
        return {"ok": True, "message_ts": f"{1_700_000_000 + next(self._seq)}.000200"}

    def _chat_getPermalink(self, args: dict[str, Any]) -> dict[str, Any]:
        ts = str(args["message_ts"]).replace(".", "")
        return {
            "ok": True,
            "permalink": f"https://fake-slack.test/archives/{args['channel']}/p{ts}",
        }

    def _conversations_history(self, args: dict[str, Any]) -> dict[str, Any]:
        """Top-level messages, newest first, paged by an offset cursor."""
        channel = str(args.get("channel", ""))
        if channel.startswith("#"):
            return {"ok": False, "error": "channel_not_found"}
        found = [m for m in self.messages.values() if m.channel == channel and not m.thread_ts]
        found.sort(key=lambda m: float(m.ts), reverse=True)
        return _page(found, args)

    def _conversations_list(self, args: dict[str, Any]) -> dict[str, Any]:
        channels = [{"id": i, "name": n} for i, n in sorted(self.channel_names.items())]
        return {"ok": True, "channels": channels, "response_metadata": {"next_cursor": ""}}

    def _conversations_open(self, args: dict[str, Any]) -> dict[str, Any]:
        users = str(args.get("users", ""))
        return {"ok": True, "channel": {"id": "D" + users.split(",")[0][1:]}}

    def _usergroups_users_list(self, args: dict[str, Any]) -> dict[str, Any]:
        group = str(args.get("usergroup", ""))
        if group not in self.usergroups:
            return {"ok": False, "error": "no_such_subteam"}
        return {"ok": True, "users": list(self.usergroups[group])}

    def _views_open(self, args: dict[str, Any]) -> dict[str, Any]:
        return self._store_view(f"V{next(self._seq):08d}", args)

    def _views_update(self, args: dict[str, Any]) -> dict[str, Any]:
        if args.get("view_id") not in self.views:
            return {"ok": False, "error": "not_found"}
        return self._store_view(str(args["view_id"]), args)

    def _views_publish(self, args: dict[str, Any]) -> dict[str, Any]:
        return self._store_view(f"home:{args['user_id']}", args)

    def _store_view(self, view_id: str, args: dict[str, Any]) -> dict[str, Any]:
        view = _json_arg(args["view"])
        problems = block_kit_problems(view.get("blocks") or [], VIEW_BLOCKS)
        if problems:
            return {"ok": False, "error": "invalid_arguments", "response_metadata": problems}
        stored = {**view, "id": view_id, "hash": f"h{next(self._seq)}"}
        self.views[view_id] = stored
        return {"ok": True, "view": stored}


async def _arguments(request: web.Request) -> dict[str, Any]:
    """Query, form and JSON arguments together, as Slack accepts all three."""
    args: dict[str, Any] = dict(request.query)
    raw = await request.text()
    if request.content_type == "application/json" and raw:
        args.update(json.loads(raw))
    elif raw:
        args.update(dict(parse_qsl(raw)))
    for name in ("blocks", "view"):
        if isinstance(args.get(name), str):
            args[name] = json.loads(args[name])
    return args


def _page(found: list[Message], args: dict[str, Any]) -> dict[str, Any]:
    """One page of a history or thread answer, paged by an offset cursor."""
    start, limit = int(args.get("cursor") or 0), int(args.get("limit") or 100)
    metadata = str(args.get("include_all_metadata", "")).lower() in ("1", "true")
    messages = [_history_entry(m, metadata) for m in found[start : start + limit]]
    more = str(start + limit) if start + limit < len(found) else ""
    return {"ok": True, "messages": messages, "response_metadata": {"next_cursor": more}}


def _history_entry(message: Message, metadata: bool) -> dict[str, Any]:
    """A message as conversations.history shows it (posted by this fake's bot)."""
    entry = {"type": "message", "ts": message.ts, "text": message.text, "bot_id": "B0BOT0001"}
    if metadata and message.metadata:
        entry["metadata"] = message.metadata
    return entry


def _json_arg(value: Any) -> dict[str, Any]:
    return json.loads(value) if isinstance(value, str) else dict(value)


def _blocks_problems(args: dict[str, Any], max_blocks: int) -> list[str]:
    problems = block_kit_problems(list(args.get("blocks") or []), max_blocks)
    if len(str(args.get("text", ""))) > 40_000:
        problems.append("text: longer than 40000 characters")
    return problems


# --- Block Kit limits ------------------------------------------------------------------------

TEXT_LIMITS = {"header": 150, "section": 3000, "field": 2000, "context": 3000}
BUTTON_TEXT = 75
BUTTON_VALUE = 2000
ID_LIMIT = 255


def units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def block_kit_problems(blocks: list[dict[str, Any]], max_blocks: int = MESSAGE_BLOCKS) -> list[str]:
    """Every way these blocks break Block Kit's documented limits (empty when none)."""
    problems: list[str] = []
    if len(blocks) > max_blocks:
        problems.append(f"{len(blocks)} blocks; the limit is {max_blocks}")
    for index, block in enumerate(blocks):
        problems += [f"blocks[{index}] ({block.get('type')}): {p}" for p in _block_problems(block)]
    return problems


def _text_problems(text: Any, limit: int, where: str) -> list[str]:
    if not isinstance(text, dict) or text.get("type") not in ("plain_text", "mrkdwn"):
        return [f"{where}: not a text object"]
    value = text.get("text")
    if not isinstance(value, str) or not value:
        return [f"{where}: empty text"]
    if units(value) > limit:
        return [f"{where}: {units(value)} characters; the limit is {limit}"]
    if text["type"] == "plain_text" and "verbatim" in text:
        return [f"{where}: plain_text cannot be verbatim"]
    return []


def _block_problems(block: dict[str, Any]) -> list[str]:
    checks = {
        "header": _header_problems,
        "section": _section_problems,
        "context": _context_problems,
        "actions": _actions_problems,
        "input": lambda b: _text_problems(b.get("label"), 2000, "label"),
        "divider": lambda b: [],
    }
    check = checks.get(str(block.get("type")))
    if check is None:
        return [f"unexpected block type {block.get('type')!r}"]
    problems = check(block)
    if len(str(block.get("block_id", ""))) > ID_LIMIT:
        problems.append("block_id too long")
    return problems


def _header_problems(block: dict[str, Any]) -> list[str]:
    problems = _text_problems(block.get("text"), TEXT_LIMITS["header"], "text")
    if (block.get("text") or {}).get("type") != "plain_text":
        problems.append("header text must be plain_text")
    return problems


def _context_problems(block: dict[str, Any]) -> list[str]:
    elements = block.get("elements") or []
    problems = [] if 1 <= len(elements) <= 10 else [f"{len(elements)} elements; 1 to 10 allowed"]
    for n, element in enumerate(elements):
        problems += _text_problems(element, TEXT_LIMITS["context"], f"elements[{n}]")
    return problems


def _actions_problems(block: dict[str, Any]) -> list[str]:
    elements = block.get("elements") or []
    problems = [] if 1 <= len(elements) <= 25 else [f"{len(elements)} elements; 1 to 25 allowed"]
    for n, element in enumerate(elements):
        problems += _button_problems(element, f"elements[{n}]")
    return problems


def _section_problems(block: dict[str, Any]) -> list[str]:
    problems = []
    if "text" not in block and "fields" not in block:
        problems.append("a section needs text or fields")
    if "text" in block:
        problems += _text_problems(block["text"], TEXT_LIMITS["section"], "text")
    fields = block.get("fields")
    if fields is not None:
        if not 1 <= len(fields) <= 10:
            problems.append(f"{len(fields)} fields; 1 to 10 allowed")
        for n, item in enumerate(fields):
            problems += _text_problems(item, TEXT_LIMITS["field"], f"fields[{n}]")
    return problems


def _button_problems(button: dict[str, Any], where: str) -> list[str]:
    if button.get("type") != "button":
        return [f"{where}: unexpected element {button.get('type')!r}"]
    problems = _text_problems(button.get("text"), BUTTON_TEXT, f"{where}.text")
    if (button.get("text") or {}).get("type") != "plain_text":
        problems.append(f"{where}: button text must be plain_text")
    if len(str(button.get("value", ""))) > BUTTON_VALUE:
        problems.append(f"{where}: value longer than {BUTTON_VALUE}")
    if len(str(button.get("action_id", ""))) > ID_LIMIT:
        problems.append(f"{where}: action_id too long")
    confirm = button.get("confirm")
    if confirm:
        limits = {"title": 100, "text": 300, "confirm": 30, "deny": 30}
        for part, limit in limits.items():
            problems += _text_problems(confirm.get(part), limit, f"{where}.confirm.{part}")
    return problems
