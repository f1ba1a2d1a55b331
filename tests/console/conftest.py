"""A running console: a real server with the console adapter, an auditor and an agent token."""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from bot.console import install_console
from bot.models import RequestIn
from bot.principals import Principal, Role
from bot.runtime import Runtime
from tests.conftest import AgentFactory, Api, ApiFactory, RuntimeFactory

BIG_DIFF_LINES = 3000
HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def big_diff(lines: int = BIG_DIFF_LINES) -> str:
    """A unified diff of `lines` changed lines, with a hostile line in the middle."""
    body = []
    for n in range(lines // 2):
        body += [f'-  instance_type = "m5.large"  # {n}', f'+  instance_type = "m7g.xlarge"  # {n}']
    body.insert(len(body) // 2, f"+# {HOSTILE}")
    return "--- a/main.tf\n+++ b/main.tf\n@@ -1,1500 +1,1500 @@\n" + "\n".join(body) + "\n"


PROD_RECREATE = RequestIn(
    action="environment.recreate",
    summary=f"Recreate prod-cn-north-1 {HOSTILE}",
    resource="prod-cn-north-1",
    environment="prod",
    command="terraform destroy -auto-approve && terraform apply",
    diff=big_diff(),
    scope={"permissions": ["ec2:TerminateInstances", "cloudformation:DeleteStack", "iam:*"]},
    justification=f"Drift cannot be repaired in place. {HOSTILE}",
)


@dataclass
class Console:
    api: Api
    runtime: Runtime
    agent: Principal
    agent_token: str
    auditor_token: str

    @property
    def base_url(self) -> str:
        return self.api.base_url

    async def submit(self, body: RequestIn = PROD_RECREATE, **changes: Any) -> str:
        request = body.model_copy(update=changes)
        return (await self.runtime.service.submit(self.agent, request)).request.id

    async def signed_in(self) -> httpx.AsyncClient:
        """A client holding a signed-in session cookie."""
        client = httpx.AsyncClient(base_url=self.base_url, timeout=30)
        form = await client.get("/login")
        await client.post("/login", data={"token": self.auditor_token, "csrf": csrf_of(form.text)})
        return client


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "no CSRF field in the page"
    return found.group(1)


ConsoleFactory = Callable[..., contextlib.AbstractAsyncContextManager[Console]]


@pytest.fixture
def console(
    serve_api: ApiFactory, make_runtime: RuntimeFactory, add_agent: AgentFactory
) -> ConsoleFactory:
    """`async with console(dev=True) as c:` a served console; dev adds demo voting."""

    @contextlib.asynccontextmanager
    async def start(dev: bool = False, **env: str) -> AsyncIterator[Console]:
        agent, agent_token = await add_agent("infra-bot")
        _, auditor_token = await add_agent("auditor-1", role=Role.auditor)
        with pytest.MonkeyPatch.context() as patch:
            for name, value in {"COUNTERSIGN_SESSION_SECRET": "test-secret", **env}.items():
                patch.setenv(name, value)
            runtime = make_runtime(dev=dev)
            async with serve_api(runtime=runtime, adapters=[install_console]) as api:
                yield Console(api, runtime, agent, agent_token, auditor_token)

    return start
