"""The benchmark's own server assembly: the production app plus a baseline endpoint.

Run as `python -m bench.app PORT REDIS_URL WORKDIR SLACK_API_URL`; the Slack adapter talks
to the fake Slack at SLACK_API_URL and verifies clicks signed with `bench.slack`'s secret.
The baseline (`POST /bench/baseline`) validates the same body as `POST /v1/requests` and
does one Redis write, so intake is measured against the cheapest endpoint that could still
accept a request durably.
It exists only here, never in production routes.
"""

from __future__ import annotations

import logging
import sys
import uuid
from pathlib import Path

import uvicorn
from fastapi import FastAPI

from bench.slack import SIGNING_SECRET
from bot.api.app import create_app
from bot.models import RequestIn
from bot.policy import Policy
from bot.runtime import Runtime, connect_redis, load_signer
from bot.server import production_adapters
from bot.settings import Settings

ROOT = Path(__file__).resolve().parent.parent


def build(redis_url: str, workdir: Path, slack_api_url: str) -> FastAPI:
    settings = Settings(
        REDIS_URL=redis_url,
        COUNTERSIGN_CONFIG=ROOT / "config",
        COUNTERSIGN_GRANT_KEY_FILE=workdir / "grant.pem",
        SLACK_BOT_TOKEN="xoxb-bench",
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=slack_api_url,
    )
    runtime = Runtime(
        settings=settings,
        redis=connect_redis(redis_url),
        policy=Policy.load(settings.config_dir),
        signer=load_signer(settings),
    )
    app = create_app(runtime, production_adapters(settings))

    @app.post("/bench/baseline", status_code=201, include_in_schema=False)
    async def baseline(body: RequestIn) -> dict[str, str]:
        request_id = f"base_{uuid.uuid4().hex[:20]}"
        await runtime.redis.set(f"bench:{request_id}", body.model_dump_json())
        return {"id": request_id}

    return app


def main() -> None:
    port, redis_url, workdir, slack_api_url = sys.argv[1:5]
    logging.basicConfig(level=logging.WARNING)
    app = build(redis_url, Path(workdir), slack_api_url)
    uvicorn.run(app, host="127.0.0.1", port=int(port), log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
