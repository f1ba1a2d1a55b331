"""Operational endpoints: health, readiness, metrics, grant keys and grant verification."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from redis.exceptions import RedisError

from bot.api.auth import RuntimeDep
from bot.api.metrics import render_metrics
from bot.grants import GrantCheck
from bot.runtime import Runtime

router = APIRouter(tags=["operations"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is up (no dependency checks)."""
    return {"status": "ok"}


@router.get("/readyz", responses={503: {"description": "Not ready; `checks` says why"}})
async def readyz(runtime: RuntimeDep) -> JSONResponse:
    """Ready to serve: Redis reachable. Also reports persistence and delivery backlog."""
    checks: dict[str, Any] = {}
    ready = True
    try:
        await runtime.redis.ping()
        checks["redis"] = "ok"
        checks["redis_persistence"] = await _persistence(runtime)
        checks["outbox"] = await runtime.outbox.backlog()
    except (RedisError, OSError) as exc:
        ready, checks["redis"] = False, f"unreachable: {type(exc).__name__}"
    if runtime.scheduler.last_error:
        checks["scheduler"] = runtime.scheduler.last_error
    for name, probe in runtime.extras.get("readiness", {}).items():
        try:
            checks[name] = await probe()
        except (RedisError, OSError) as exc:  # adapters keep their state in Redis too
            ready, checks[name] = False, f"unavailable: {type(exc).__name__}"
    body = {"status": "ready" if ready else "unavailable", "checks": checks}
    return JSONResponse(body, status_code=200 if ready else 503)


async def _persistence(runtime: Runtime) -> str:
    if runtime.dev:
        return "off (dev mode: in-process memory)"
    info = await runtime.redis.info("persistence")
    aof = str(info.get("aof_enabled", "0")) == "1"
    rdb = info.get("rdb_last_save_time") is not None and info.get("rdb_saves", 0) != 0
    if aof:
        return "aof"
    return (
        "rdb only (writes since the last snapshot can be lost)"
        if rdb
        else "off (data lost on restart)"
    )


@router.get("/metrics", response_class=Response)
async def metrics(runtime: RuntimeDep) -> Response:
    """Prometheus metrics."""
    body, content_type = await render_metrics(runtime)
    return Response(body, media_type=content_type)


@router.get("/v1/keys", tags=["grants"])
async def keys(runtime: RuntimeDep) -> dict[str, Any]:
    """The public key that signs grants (PEM and JWK)."""
    return {"keys": [runtime.signer.public_jwk()], "pem": runtime.signer.public_pem()}


class VerifyIn(BaseModel):
    model_config = {"extra": "forbid"}
    grant: str = Field(min_length=1, max_length=8192)
    action_hash: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")


class VerifyOut(BaseModel):
    valid: bool
    reason: str = ""
    claims: dict[str, Any] | None = None


@router.post("/v1/grants/verify", response_model=VerifyOut, tags=["grants"])
async def verify(body: VerifyIn, runtime: RuntimeDep) -> VerifyOut:
    """Check a grant's signature, expiry and (optionally) that it covers this action_hash."""
    check: GrantCheck = runtime.signer.verify(
        body.grant, action_hash=body.action_hash, now=runtime.clock()
    )
    return VerifyOut(valid=check.valid, reason=check.reason, claims=check.claims)
