"""Bearer-token authentication and per-principal rate limits."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from bot.principals import Principal, Role
from bot.runtime import Runtime

FAILED_AUTH_PER_MINUTE = 30
bearer = HTTPBearer(auto_error=False, description="An agent or auditor token")


def runtime_of(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


async def _hit(runtime: Runtime, subject: str, limit: int) -> int | None:
    """Count one hit in this minute; returns seconds to wait when over the limit."""
    now = runtime.clock().timestamp()
    window = int(now // 60)
    key = runtime.keys.rate(subject, window)
    async with runtime.redis.pipeline(transaction=True) as pipe:
        pipe.incr(key)
        pipe.expire(key, 120)
        count, _ = await pipe.execute()
    return None if int(count) <= limit else 60 - int(now % 60)


def _too_many(retry_after: int) -> HTTPException:
    return HTTPException(
        429, "Too many requests; slow down.", headers={"Retry-After": str(max(retry_after, 1))}
    )


async def principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    runtime = runtime_of(request)
    client = request.client.host if request.client else "unknown"
    now = runtime.clock().timestamp()  # the service's clock: tests can hold a minute still
    window = int(now // 60)
    found, hits = (
        await runtime.principals.authenticate_and_count(credentials.credentials, window)
        if credentials
        else (None, 0)
    )
    if found is None:
        wait = await _hit(runtime, f"authfail:{client}", FAILED_AUTH_PER_MINUTE)
        if wait is not None:
            raise _too_many(wait)
        raise HTTPException(
            401, "Missing or invalid bearer token.", headers={"WWW-Authenticate": "Bearer"}
        )
    if hits > found.rate_per_minute:
        raise _too_many(60 - int(now % 60))
    return found


async def agent(who: Annotated[Principal, Depends(principal)]) -> Principal:
    if who.role is not Role.agent:
        raise HTTPException(403, "This endpoint needs an agent token.")
    return who


async def auditor(who: Annotated[Principal, Depends(principal)]) -> Principal:
    if who.role is not Role.auditor:
        raise HTTPException(403, "This endpoint needs an auditor token.")
    return who


AgentDep = Annotated[Principal, Depends(agent)]
AuditorDep = Annotated[Principal, Depends(auditor)]


async def _runtime(request: Request) -> Runtime:
    return runtime_of(request)


# Every dependency here is `async def`: FastAPI runs a plain `def` one in a worker thread, a
# thread hop per request for what is an attribute read.
RuntimeDep = Annotated[Runtime, Depends(_runtime)]
