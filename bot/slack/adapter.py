"""Wires Slack into a Countersign app: bolt, the events endpoint, the outbox sink, the directory,
and the contact desk's questions.

`POST /slack/events` receives events, interactivity and the slash command, verified with the
signing secret (a bad or stale signature gets 401 and nothing else happens). With
SLACK_APP_TOKEN set, Socket Mode is used instead, so the server can sit behind a firewall.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import aiohttp
from fastapi import FastAPI, Request, Response
from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.api.app import Adapter
from bot.errors import ConfigError
from bot.runtime import Runtime
from bot.settings import Settings
from bot.slack import text
from bot.slack.cards import SLACK_TIMEOUT_S, SlackState
from bot.slack.directory import SlackDirectory
from bot.slack.finder import CardFinder
from bot.slack.listeners import Listeners
from bot.slack.notifier import Notifier
from bot.slack.questions import Questions

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"


def slack_adapter(settings: Settings) -> Adapter:
    """The Slack adapter for `create_app`; fails fast when the bot token is missing."""
    if settings.slack_bot_token is None:
        raise ConfigError("Config 'SLACK_BOT_TOKEN' is missing, and has no default.")
    if settings.slack_app_token is None and settings.slack_signing_secret is None:
        raise ConfigError("Config 'SLACK_SIGNING_SECRET' is missing, and has no default.")

    def install(app: FastAPI, runtime: Runtime) -> None:
        bolt, questions = build_bolt(settings, runtime)
        _around_runtime(app, lambda: _reusing_connections(bolt.client))
        # Adapters installed after this one (the contact desk) exist once the app starts.
        _while_running(app, lambda: _answering_questions(questions, runtime))
        if settings.slack_app_token is not None:
            token = settings.slack_app_token.get_secret_value()
            _while_running(app, lambda: _socket_mode(bolt, token))
        else:
            _mount_events(app, bolt)

    return install


def build_bolt(settings: Settings, runtime: Runtime) -> tuple[AsyncApp, Questions]:
    """The bolt app, its listeners, and the Slack parts of the runtime."""
    assert settings.slack_bot_token is not None
    token = settings.slack_bot_token.get_secret_value()
    text.prepare()
    # A timeout bounds every call (the card lock outlives none); no silent re-send of a call
    # whose connection dropped, which could post a card twice: the outbox retries instead.
    client = AsyncWebClient(
        token=token, base_url=settings.slack_api_url, timeout=SLACK_TIMEOUT_S, retry_handlers=[]
    )
    secret = settings.slack_signing_secret
    bolt = AsyncApp(
        client=client,  # carries the bot token
        signing_secret=secret.get_secret_value() if secret else None,
        request_verification_enabled=secret is not None,
    )
    directory = SlackDirectory(client, runtime.clock)
    runtime.use_directory(directory)
    state = SlackState(runtime.redis, runtime.keys)
    channel = runtime.policy.config.defaults.channel
    finder = CardFinder(client, state)
    questions = Questions(client, state, runtime.outbox, channel, finder)
    notifier = Notifier(runtime.service, client, state, runtime.clock, questions, finder)
    runtime.add_sink("slack", notifier)
    Listeners(runtime.service, state, directory, questions).register(bolt)
    runtime.extras["slack"] = bolt
    runtime.extras.setdefault("readiness", {})["slack"] = lambda: _readiness(state)
    return bolt, questions


async def _readiness(state: SlackState) -> dict[str, Any]:
    """Cards and questions Slack has not accepted yet show in /readyz; requests stay decidable."""
    cards, questions = await state.unposted(), await state.unposted_questions()
    errors = list(cards.items()) + list(questions.items())
    return {
        "unposted_cards": len(cards),
        "unposted_questions": len(questions),
        "errors": dict(errors[:10]),
    }


def _mount_events(app: FastAPI, bolt: AsyncApp) -> None:
    handler = AsyncSlackRequestHandler(bolt)

    @app.post(EVENTS_PATH, include_in_schema=False)
    async def slack_events(request: Request) -> Response:
        return await handler.handle(request)


def _while_running(app: FastAPI, session: Callable[[], AbstractAsyncContextManager[None]]) -> None:
    """Enter `session` after the app (and the runtime) started; leave it before they stop."""
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(asgi: FastAPI) -> AsyncIterator[Any]:
        async with inner(asgi) as state, session():
            yield state

    app.router.lifespan_context = lifespan


def _around_runtime(app: FastAPI, session: Callable[[], AbstractAsyncContextManager[None]]) -> None:
    """Enter `session` before the runtime starts; leave it after the runtime (and with it the
    outbox workers that may be mid-call) has stopped."""
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(asgi: FastAPI) -> AsyncIterator[Any]:
        async with session(), inner(asgi) as state:
            yield state

    app.router.lifespan_context = lifespan


@asynccontextmanager
async def _reusing_connections(client: AsyncWebClient) -> AsyncIterator[None]:
    """One HTTP session for every Web API call while the app runs, so connections (and their
    TLS handshakes) to Slack are reused rather than opened per call. A stale connection fails
    its call like any other network error; the outbox retries it."""
    session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=SLACK_TIMEOUT_S))
    client.session = session
    try:
        yield
    finally:
        client.session = None
        await session.close()


@asynccontextmanager
async def _answering_questions(questions: Questions, runtime: Runtime) -> AsyncIterator[None]:
    """Post agents' questions (HumanLayer contact requests) when the contact desk is mounted."""
    desk = runtime.extras.get("contacts")
    if desk is not None:
        await questions.attach(desk)
    yield


@asynccontextmanager
async def _socket_mode(bolt: AsyncApp, app_token: str) -> AsyncIterator[None]:
    """Connect to Slack over a WebSocket for as long as the app runs."""
    from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

    # Created here, inside the server's event loop: the client starts tasks when it is built.
    handler = AsyncSocketModeHandler(bolt, app_token)
    await handler.connect_async()  # type: ignore[no-untyped-call]
    log.info("slack: connected in Socket Mode")
    try:
        yield
    finally:
        await handler.close_async()  # type: ignore[no-untyped-call]
