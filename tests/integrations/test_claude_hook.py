"""`countersign hook claude` on PreToolUse payloads in Claude Code's format, against a server."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from tests.conftest import ROOT
from tests.integrations.conftest import Gateway
from tests.integrations.test_exec_gate import run
from tests.support.redis_server import free_port

PAYLOADS = Path(__file__).parent / "payloads"
HOOKS = str(ROOT / "config" / "hooks.yaml")


async def hook(url: str, token: str, payload: str, *options: str) -> tuple[int, str, str]:
    event = (PAYLOADS / payload).read_bytes()
    return await run(url, token, "hook", "claude", "--config", HOOKS, *options, stdin=event)


def decision_of(out: str) -> dict[str, Any]:
    output: dict[str, Any] = json.loads(out)["hookSpecificOutput"]
    assert output["hookEventName"] == "PreToolUse"
    return output


async def test_matching_bash_command_is_allowed_once_approved(slack_gateway: Gateway) -> None:
    gateway = slack_gateway  # approvals are signed clicks on the Slack card
    asking = asyncio.create_task(
        hook(gateway.url, gateway.token, "pretooluse_bash_terraform_destroy.json")
    )
    request = await gateway.pending()
    assert request.action == "shell.run"  # every Bash call; the server reads the command
    assert request.command == "cd envs/prod-cn-north-1 && terraform destroy -auto-approve"
    assert request.risk == "high" and request.required_approvals == 2
    assert "command: destroys infrastructure (terraform destroy -auto-approve)" in (
        request.risk_reasons
    )
    assert request.params["description"] == "Destroy the prod-cn-north-1 environment"
    assert request.metadata["claude_code"]["rule"] == "shell"
    assert request.ttl_seconds == 600
    await gateway.approve(request.id)
    code, out, _ = await asking
    assert code == 0
    output = decision_of(out)
    assert output["permissionDecision"] == "allow"
    assert output["permissionDecisionReason"] == (
        f"Countersign: approved by U0ALICE01, U0BOB0002 ({request.id})."
    )


async def test_denied_edit_is_denied_with_the_reason(slack_gateway: Gateway) -> None:
    gateway = slack_gateway  # Deny on the Slack card, the reason typed in the modal
    asking = asyncio.create_task(
        hook(gateway.url, gateway.token, "pretooluse_edit_prod_config.json")
    )
    request = await gateway.decide_next("deny", reason="scaling prod to zero needs a change ticket")
    assert request.action == "config.change"
    code, out, _ = await asking
    output = decision_of(out)
    assert code == 0 and output["permissionDecision"] == "deny"
    assert "scaling prod to zero needs a change ticket" in output["permissionDecisionReason"]


async def test_expired_request_is_denied(gateway: Gateway) -> None:
    asking = asyncio.create_task(
        hook(gateway.url, gateway.token, "pretooluse_bash_terraform_destroy.json")
    )
    await gateway.decide_next("expire")
    output = decision_of((await asking)[1])
    assert output["permissionDecision"] == "deny"
    assert "expired" in output["permissionDecisionReason"]


async def test_a_plain_read_is_allowed_at_once_by_policy(gateway: Gateway) -> None:
    code, out, err = await hook(gateway.url, gateway.token, "pretooluse_bash_ls.json")
    output = decision_of(out)
    assert code == 0 and output["permissionDecision"] == "allow", err
    assert output["permissionDecisionReason"].startswith("Countersign: approved by policy")
    keys = gateway.api.runtime.keys
    assert await gateway.api.runtime.store.count(keys.by_status("approved")) == 1


async def test_calls_no_rule_matches_get_no_answer_and_no_request(gateway: Gateway) -> None:
    code, out, err = await hook(gateway.url, gateway.token, "pretooluse_read_notes.json")
    assert (code, out) == (0, ""), err
    pending = await gateway.api.runtime.store.count(gateway.api.runtime.keys.by_created)
    assert pending == 0


async def test_unreachable_countersign_denies(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    code, out, _ = await hook(
        url, "cs_x", "pretooluse_bash_terraform_destroy.json", "--patience", "0.5"
    )
    output = decision_of(out)
    assert code == 0 and output["permissionDecision"] == "deny"
    assert "unreachable" in output["permissionDecisionReason"]


async def test_something_that_is_not_an_event_blocks(gateway: Gateway) -> None:
    code, _, err = await run(
        gateway.url, gateway.token, "hook", "claude", "--config", HOOKS, stdin=b"{}"
    )
    assert code == 2 and "not a PreToolUse event" in err
