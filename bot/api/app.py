"""The ASGI application: one FastAPI app per Runtime, no globals."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.types import ASGIApp, Receive, Scope, Send

from bot import __version__
from bot.api import errors, history, ops, requests
from bot.api.metrics import Metrics
from bot.runtime import Runtime

MAX_BODY_BYTES = 8 * 1024 * 1024  # a 1 MiB diff can triple when JSON-escaped
Adapter = Callable[[FastAPI, Runtime], None]


class BodyLimit:
    """413 for bodies over the limit, checked on Content-Length and while streaming."""

    def __init__(self, app: ASGIApp, limit: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope["headers"]).get(b"content-length", b"0")
        if length.isdigit() and int(length) > self.limit:
            await self._reject(send)
            return
        seen = 0

        async def limited() -> dict[str, object]:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.limit:
                raise _TooLarge
            return dict(message)

        try:
            await self.app(scope, limited, send)
        except _TooLarge:
            await self._reject(send)

    async def _reject(self, send: Send) -> None:
        body = b'{"error":{"code":"too_large","message":"Request body is larger than %d bytes."}}'
        body = body.replace(b"%d", str(self.limit).encode())
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": body})


class _TooLarge(Exception):
    pass


def create_app(
    runtime: Runtime, adapters: list[Adapter] | None = None, manage_runtime: bool = True
) -> FastAPI:
    """Build the app; adapters (Slack, dev console) add their routes and sinks."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if manage_runtime:
            await runtime.start()
        try:
            yield
        finally:
            if manage_runtime:
                await runtime.stop()

    app = FastAPI(
        title="Countersign",
        version=__version__,
        lifespan=lifespan,
        description="Approval gateway for AI agents: ask before you act.",
    )
    app.state.runtime = runtime
    metrics = Metrics()
    runtime.extras["metrics"] = metrics
    runtime.service.on_decided.append(metrics.observe_decision)
    errors.install(app)
    app.include_router(requests.router)
    app.include_router(ops.router)
    app.include_router(history.router)
    for adapter in adapters or []:
        adapter(app, runtime)
    app.add_middleware(BodyLimit)
    return app
