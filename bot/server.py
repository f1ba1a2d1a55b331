"""Start the process: `countersign serve` (production) and `countersign dev` (embedded)."""

from __future__ import annotations

import asyncio
import logging

import uvicorn
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import FastAPI

from bot.api.app import Adapter, create_app
from bot.console import install_console
from bot.console.demo import DEV_AUDITOR_TOKEN, DEV_TOKEN
from bot.grants import GrantSigner
from bot.integrations.http import install_integrations
from bot.policy import Policy
from bot.principals import Principal, Role
from bot.runtime import Runtime, connect_redis, load_signer
from bot.settings import Settings
from bot.slack.adapter import slack_adapter

log = logging.getLogger(__name__)


def production_adapters(settings: Settings) -> list[Adapter]:
    """The adapters `serve` runs: Slack, when configured."""
    return [slack_adapter(settings)]


def serve(settings: Settings) -> int:
    settings.require_for_serve()
    policy = Policy.load(settings.config_dir)
    assert settings.redis_url is not None
    runtime = Runtime(
        settings=settings,
        redis=connect_redis(settings.redis_url),
        policy=policy,
        signer=load_signer(settings),
    )
    app = create_app(
        runtime, [*production_adapters(settings), install_integrations, install_console]
    )
    _run(app, settings.host, settings.port)
    return 0


def dev(settings: Settings, port: int | None = None) -> int:
    """Embedded defaults: in-process fakeredis, example policy, a demo agent, a dev console."""
    from fakeredis import FakeAsyncRedis

    policy = Policy.load(settings.config_dir)
    runtime = Runtime(
        settings=settings,
        redis=FakeAsyncRedis(),
        policy=policy,
        signer=GrantSigner(Ed25519PrivateKey.generate()),
        dev=True,
    )
    app = create_app(runtime, [install_console, install_integrations])
    port = port or settings.port
    asyncio.run(_register_demo_agent(runtime))
    _print_banner(settings, port)
    _run(app, "127.0.0.1", port)
    return 0


async def _register_demo_agent(runtime: Runtime) -> None:
    demo = Principal(name="demo-agent", owner="U0DEMO000", callback_hosts=["localhost"])
    await runtime.principals.add(demo, token=DEV_TOKEN)
    auditor = Principal(name="demo-auditor", role=Role.auditor)
    await runtime.principals.add(auditor, token=DEV_AUDITOR_TOKEN)


def _print_banner(settings: Settings, port: int) -> None:
    base = f"http://127.0.0.1:{port}"
    body = (
        '{"action":"environment.recreate","summary":"Recreate prod-cn-north-1",'
        '"resource":"prod-cn-north-1","environment":"prod",'
        '"command":"terraform destroy -auto-approve && terraform apply",'
        '"scope":{"permissions":["ec2:TerminateInstances","iam:*"]}}'
    )
    print(
        f"""
Countersign dev mode (in-memory Redis, policy from {settings.config_dir}/policy.yaml)
  Demo agent token: {DEV_TOKEN}
  Create a request:
    curl -s -X POST {base}/v1/requests -H 'Authorization: Bearer {DEV_TOKEN}' \\
      -H 'Content-Type: application/json' -d '{body}'
  Console (approve as demo approvers, history, dashboard): {base}/
    sign in with the auditor token {DEV_AUDITOR_TOKEN}
  API schema: {base}/docs
""",
        flush=True,
    )


def _run(app: FastAPI, host: str, port: int) -> None:
    uvicorn.run(app, host=host, port=port, log_config=None, proxy_headers=True)
