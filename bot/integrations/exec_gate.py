"""`countersign exec`: run a command only once people approved exactly that argv.

Exit codes: the command's own when it ran; 2 invalid input or refused by the API;
3 denied; 4 expired; 5 Countersign unreachable; 6 cancelled; 7 approved but the grant did
not match (the command did not run); 130 interrupted (the request is cancelled).
"""

from __future__ import annotations

import shlex
import subprocess
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TextIO

from bot.client import (
    ApiError,
    Cancelled,
    ClientError,
    Countersign,
    Denied,
    Expired,
    GrantMismatch,
    Unreachable,
)
from bot.models import ApprovalRequest, RequestIn, Status

EXIT_INVALID = 2
EXIT_DENIED = 3
EXIT_EXPIRED = 4
EXIT_UNREACHABLE = 5
EXIT_CANCELLED = 6
EXIT_GRANT_MISMATCH = 7
EXIT_INTERRUPTED = 130

EXIT_BY_STATUS = {
    Status.approved: 0,
    Status.pending: 0,
    Status.denied: EXIT_DENIED,
    Status.expired: EXIT_EXPIRED,
    Status.cancelled: EXIT_CANCELLED,
}
EXIT_BY_ERROR: list[tuple[type[ClientError], int]] = [
    (Denied, EXIT_DENIED),
    (Expired, EXIT_EXPIRED),
    (Cancelled, EXIT_CANCELLED),
    (Unreachable, EXIT_UNREACHABLE),
    (GrantMismatch, EXIT_GRANT_MISMATCH),
    (ApiError, EXIT_INVALID),
]


def exit_code_of(error: ClientError) -> int:
    return next((code for kind, code in EXIT_BY_ERROR if isinstance(error, kind)), EXIT_INVALID)


def default_summary(argv: Sequence[str]) -> str:
    text = f"Run: {shlex.join(argv)}"
    return text if len(text) <= 300 else text[:297] + "..."


def time_left(request: ApprovalRequest) -> str:
    seconds = max(0, int((request.expires_at - datetime.now(UTC)).total_seconds()))
    return f"{seconds // 60}m {seconds % 60:02d}s left"


def progress_text(request: ApprovalRequest) -> str:
    who = ", ".join(a.user for a in request.approvals)
    votes = f"{len(request.approvals)} of {request.required_approvals} approvals"
    return (
        f"{request.id} ({request.risk}): {votes}{f' ({who})' if who else ''}, {time_left(request)}"
    )


class Progress:
    """One line redrawn in place on a terminal; a plain line per change otherwise."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.live = stream.isatty()
        self.last = ""

    def __call__(self, request: ApprovalRequest) -> None:
        text = progress_text(request)
        if self.live:
            self.stream.write(f"\r\x1b[2Kcountersign: waiting: {text}")
        elif text.split(",")[0] != self.last.split(",")[0]:  # approvals changed, not the clock
            self.stream.write(f"countersign: waiting: {text}\n")
        self.last = text
        self.stream.flush()

    def done(self) -> None:
        if self.live and self.last:
            self.stream.write("\n")
            self.stream.flush()


def run_command(argv: Sequence[str]) -> int:
    """Run exactly `argv` (no shell); a signal death exits 128 + signal, as shells do."""
    try:
        code = subprocess.run(list(argv), check=False).returncode  # noqa: S603 - approved argv
    except FileNotFoundError:
        print(f"countersign: {argv[0]}: command not found", file=sys.stderr)
        return 127
    return 128 - code if code < 0 else code


def gate(client: Countersign, body: RequestIn, argv: Sequence[str], stderr: TextIO) -> int:
    """Ask, wait, check the grant against `body`, then run `argv`; returns the exit code."""
    progress = Progress(stderr)
    created: list[ApprovalRequest] = []

    def on_update(request: ApprovalRequest) -> None:
        created[:] = [request]
        progress(request)

    try:
        approved = client.request_approval(body, on_update=on_update)
    except ClientError as exc:
        progress.done()
        print(f"countersign: {exc.message}", file=stderr)
        return exit_code_of(exc)
    except KeyboardInterrupt:
        progress.done()
        if created:
            client.cancel(created[0].id, "interrupted by the operator")
        print("countersign: interrupted; request cancelled", file=stderr)
        return EXIT_INTERRUPTED
    progress.done()
    approvers = ", ".join(a.user for a in approved.approvals) or approved.decided_by or "policy"
    print(f"countersign: {approved.id} approved by {approvers}; running", file=stderr)
    return run_command(argv)
