"""`countersign exec` and `countersign request`, run as real subprocesses against a server."""

from __future__ import annotations

import asyncio
import io
import json
import os
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.integrations.exec_gate import Progress
from bot.models import ApprovalRequest
from tests.integrations.conftest import Gateway
from tests.support.redis_server import free_port

COUNTERSIGN = str(Path(sys.executable).parent / "countersign")


async def run(gateway_url: str, token: str, *args: str, stdin: bytes = b"") -> tuple[int, str, str]:
    env = {**os.environ, "COUNTERSIGN_URL": gateway_url, "COUNTERSIGN_TOKEN": token}
    process = await asyncio.create_subprocess_exec(
        COUNTERSIGN,
        *args,
        env=env,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate(stdin)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


def touch_and_exit(marker: Path, code: int) -> list[str]:
    script = (
        f"import pathlib, sys; pathlib.Path({str(marker)!r}).write_text('ran'); sys.exit({code})"
    )
    return [sys.executable, "-c", script]


async def exec_gate(
    gateway: Gateway, argv: list[str], *options: str
) -> asyncio.Task[tuple[int, str, str]]:
    args = ["exec", "--action", "deploy.web", "--resource", "web", "--env", "staging", *options]
    return asyncio.create_task(run(gateway.url, gateway.token, *args, "--", *argv))


async def test_approved_command_runs_with_its_exit_status(
    slack_gateway: Gateway, tmp_path: Path
) -> None:
    gateway = slack_gateway  # approvals are signed clicks on the Slack card
    marker = tmp_path / "ran"
    diff = tmp_path / "change.diff"
    diff.write_text("- replicas: 2\n+ replicas: 3\n")
    argv = touch_and_exit(marker, 9)
    running = await exec_gate(
        gateway, argv, "--diff-file", str(diff), "--scope", "ecs:UpdateService"
    )
    request = await gateway.pending()
    assert request.command == argv
    assert request.diff == "- replicas: 2\n+ replicas: 3\n"
    assert request.scope.permissions == ["ecs:UpdateService"]
    await gateway.approve(request.id)
    code, _, err = await running
    assert code == 9
    assert marker.read_text() == "ran"
    assert f"waiting: {request.id} (medium): 0 of 1 approvals" in err
    assert "approved by U0ALICE01; running" in err


async def test_denied_command_never_runs_and_exits_3_with_the_reason(
    slack_gateway: Gateway, tmp_path: Path
) -> None:
    gateway = slack_gateway  # Deny on the Slack card, the reason typed in the modal
    marker = tmp_path / "ran"
    running = await exec_gate(gateway, touch_and_exit(marker, 0))
    await gateway.decide_next("deny", reason="not during the incident")
    code, _, err = await running
    assert code == 3
    assert "Denied by U0CAROL03: not during the incident" in err
    assert not marker.exists()


async def test_expired_command_never_runs_and_exits_4(gateway: Gateway, tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    running = await exec_gate(gateway, touch_and_exit(marker, 0))
    await gateway.decide_next("expire")
    code, _, err = await running
    assert code == 4
    assert "expired" in err
    assert not marker.exists()


async def test_unreachable_countersign_exits_5_and_never_runs(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    url = f"http://127.0.0.1:{free_port()}"
    code, _, err = await run(
        url,
        "cs_x",
        "exec",
        "--action",
        "deploy.web",
        "--patience",
        "0.5",
        "--",
        *touch_and_exit(marker, 0),
    )
    assert code == 5
    assert "unreachable" in err
    assert not marker.exists()


async def test_request_prints_the_decision_as_json(gateway: Gateway) -> None:
    body = {
        "action": "db.migrate",
        "summary": "Add index on orders.created_at",
        "resource": "orders",
    }
    asking = asyncio.create_task(
        run(gateway.url, gateway.token, "request", stdin=json.dumps(body).encode())
    )
    await gateway.decide_next("deny", reason="needs a DBA review first")
    code, out, _ = await asking
    decision = json.loads(out)
    assert code == 3
    assert decision["status"] == "denied"
    assert decision["denial"]["reason"] == "needs a DBA review first"


async def test_request_can_be_approved_and_carries_a_grant(gateway: Gateway) -> None:
    body = {"action": "deploy.web", "summary": "Deploy web 1.5"}
    asking = asyncio.create_task(
        run(gateway.url, gateway.token, "request", stdin=json.dumps(body).encode())
    )
    await gateway.decide_next("approve")
    code, out, _ = await asking
    assert code == 0
    assert json.loads(out)["grant"]


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_redraws_one_line_on_a_terminal() -> None:
    now = datetime.now(UTC)
    request = ApprovalRequest.model_validate(
        {
            "id": "req_1",
            "agent": "a",
            "status": "pending",
            "risk": "critical",
            "risk_reasons": [],
            "rule": "r",
            "required_approvals": 2,
            "eligible_groups": [],
            "channel": "#c",
            "approvals": [{"user": "U0ALICE01", "at": now}],
            "created_at": now,
            "expires_at": now + timedelta(minutes=9, seconds=30),
            "action_hash": "0" * 64,
            "action": "environment.recreate",
            "summary": "s",
            "ttl_seconds": 600,
        }
    )
    screen = Terminal()
    progress = Progress(screen)
    progress(request)
    progress(request)
    progress.done()
    lines = screen.getvalue().split("\r\x1b[2K")
    assert len(lines) == 3 and screen.getvalue().endswith("\n")
    assert "req_1 (critical): 1 of 2 approvals (U0ALICE01), 9m 2" in lines[1]
