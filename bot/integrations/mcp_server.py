"""The MCP server: tools `request_approval` and `get_approval` for agents that speak MCP.

Over stdio (`countersign mcp`) the tools call COUNTERSIGN_URL with COUNTERSIGN_TOKEN. Over
streamable HTTP at `/mcp` on the Countersign server, the caller's own bearer token is checked
and then used for the same API calls, made in-process. Either way the tools are clients of the
HTTP API, so policy, auth and rate limits apply exactly as for any agent.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import httpx
from fastapi import FastAPI
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.streamable_http_manager import StreamableHTTPASGIApp
from mcp.server.transport_security import TransportSecuritySettings
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from bot.client import AsyncCountersign, NotApproved, require_approved
from bot.integrations.exec_gate import progress_text
from bot.models import ApprovalRequest, RequestIn
from bot.models import Scope as RequestScope
from bot.principals import Role
from bot.runtime import Runtime

PROGRESS_SECONDS = 10.0  # how often a waiting tool call reports progress
INSTRUCTIONS = (
    "Before any risky or irreversible action, call request_approval with the exact command "
    "and what it touches; act only if it returns approved: true, and then exactly as approved."
)

Clients = Callable[[Context], AbstractAsyncContextManager[AsyncCountersign]]


def decision_of(request: ApprovalRequest) -> dict[str, Any]:
    """What a tool returns: the state, the reason when not approved, the grant when approved."""
    reason = ""
    if request.status.terminal:
        try:
            require_approved(request)
        except NotApproved as exc:
            reason = exc.message
    return {
        "id": request.id,
        "status": request.status.value,
        "approved": request.status == "approved",
        "reason": reason,
        "risk": request.risk.value,
        "risk_reasons": request.risk_reasons,
        "required_approvals": request.required_approvals,
        "approvals": [{"user": a.user, "comment": a.comment} for a in request.approvals],
        "expires_at": request.expires_at.isoformat(),
        "action_hash": request.action_hash,
        "grant": request.grant,
    }


async def _wait(
    client: AsyncCountersign, request: ApprovalRequest, ctx: Context, seconds: float | None
) -> ApprovalRequest:
    """Wait in short long-polls, reporting approvals so far and time left after each."""
    left = seconds
    while not request.status.terminal and (left is None or left > 0):
        await ctx.report_progress(
            len(request.approvals), request.required_approvals, progress_text(request)
        )
        chunk = PROGRESS_SECONDS if left is None else min(PROGRESS_SECONDS, left)
        request = await client.wait(request.id, max_wait=chunk)
        left = None if left is None else left - chunk
    return request


def build_server(clients: Clients) -> MCPServer:
    server = MCPServer("countersign", instructions=INSTRUCTIONS)

    @server.tool()
    async def request_approval(
        action: str,
        summary: str,
        ctx: Context,
        resource: str = "",
        environment: str = "",
        command: str = "",
        diff: str = "",
        scope: RequestScope | None = None,
        justification: str = "",
        wait_seconds: float | None = None,
    ) -> dict[str, Any]:
        """Ask humans to approve an action and wait for their decision.

        `action` is a dotted verb (e.g. `db.migrate`); give the exact `command` and the
        `scope` permissions it uses. Waits until decided, or `wait_seconds` if given (then
        call get_approval with the id). Act only when `approved` is true.
        """
        body = RequestIn(
            action=action,
            summary=summary,
            resource=resource,
            environment=environment,
            command=command,
            diff=diff,
            scope=scope or RequestScope(),
            justification=justification,
        )
        async with clients(ctx) as client:
            request = await client.create(body)
            return decision_of(await _wait(client, request, ctx, wait_seconds))

    @server.tool()
    async def get_approval(
        request_id: str, ctx: Context, wait_seconds: float = 0
    ) -> dict[str, Any]:
        """The decision on an earlier request; waits up to `wait_seconds` while it is pending."""
        async with clients(ctx) as client:
            request = await client.get(request_id)
            return decision_of(await _wait(client, request, ctx, wait_seconds))

    return server


# --- stdio: `countersign mcp` ----------------------------------------------------------------


async def serve_stdio() -> None:
    """Serve MCP on stdin/stdout, calling COUNTERSIGN_URL with COUNTERSIGN_TOKEN."""
    async with AsyncCountersign.from_env() as client:
        server = build_server(lambda ctx: contextlib.nullcontext(client))
        await server.run_stdio_async()


# --- streamable HTTP at /mcp ---------------------------------------------------------------


def _in_process(app: FastAPI) -> Clients:
    """Clients that call this same app in-process, as the MCP caller (their bearer token)."""

    @asynccontextmanager
    async def client_for(ctx: Context) -> AsyncIterator[AsyncCountersign]:
        token = (ctx.headers or {}).get("authorization", "").removeprefix("Bearer ").strip()
        http = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://countersign.internal",
            headers={"Authorization": f"Bearer {token}"},
        )
        async with AsyncCountersign("http://countersign.internal", token, http=http) as client:
            yield client

    return client_for


class AgentsOnly:
    """401 unless the request carries a valid agent token (checked again by each API call)."""

    def __init__(self, app: ASGIApp, runtime: Runtime) -> None:
        self.app = app
        self.runtime = runtime

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        header = dict(scope.get("headers", [])).get(b"authorization", b"").decode()
        token = header.removeprefix("Bearer ").strip()
        found = await self.runtime.principals.authenticate(token) if token else None
        if found is None or found.role is not Role.agent:
            body = {
                "error": {"code": "unauthorized", "message": "An agent bearer token is needed."}
            }
            response = JSONResponse(body, 401, headers={"WWW-Authenticate": "Bearer"})
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


def install_mcp(app: FastAPI, runtime: Runtime) -> None:
    """Adapter: streamable HTTP MCP at `/mcp`, stateless so any replica can answer."""
    server = build_server(_in_process(app))
    # Bearer tokens, not the Host header, protect this endpoint, and it runs behind proxies.
    security = TransportSecuritySettings(enable_dns_rebinding_protection=False)
    server.streamable_http_app(stateless_http=True, transport_security=security)
    manager = server.session_manager
    endpoint = AgentsOnly(StreamableHTTPASGIApp(manager), runtime)
    app.router.routes.append(Route("/mcp", endpoint, include_in_schema=False))
    outer = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(application: Any) -> AsyncIterator[Any]:
        async with manager.run(), outer(application) as state:
            yield state

    app.router.lifespan_context = lifespan
