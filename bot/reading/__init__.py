"""Risk reading: what a request will really run, read from its command, params and diff.

`read_request` is what policy calls. Every reader fails closed: a construct it cannot read
(eval, a variable as the program, a download piped into a shell, code it cannot follow, text
that does not parse, a reading that runs out of time) is a finding of its own, at least high.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache

from bot.models import RequestIn
from bot.reading.calls import read_calls
from bot.reading.commands import Reader, Step
from bot.reading.diffs import read_diff
from bot.reading.findings import Budget, Effect, Finding, OutOfTime, opaque
from bot.reading.params import read_params

__all__ = ["Budget", "Effect", "Finding", "Reading", "read_request", "warm"]

TOO_LARGE = opaque("too large to read in time")


@cache
def warm() -> None:
    """Load the catalog, the shell grammar and the SQL parser now, so that the first request
    does not spend its reading budget on start-up work (once per process)."""
    reading = read_request(_WARM_UP, Budget(60.0))
    assert reading.findings, "warm-up request must read as destructive"


_WARM_UP = RequestIn(
    action="warm.up",
    summary="warm up",
    command="sudo bash -c 'kubectl delete ns x' && psql -c 'DROP TABLE x'",
    params={"code": "print(1)", "query": "SELECT 1"},
    diff="+++ b/m.sql\n+DROP TABLE x;\n",
)


@dataclass
class Reading:
    """What reading found in one request."""

    findings: list[Finding] = field(default_factory=list)
    steps: list[Step] = field(default_factory=list)  # the command's simple commands
    simple_command: bool = False  # the command is one simple command and nothing more


def read_request(request: RequestIn, budget: Budget) -> Reading:
    """Read a request's command, params and diff; running out of budget is a finding."""
    reading = Reading()
    try:
        _read_command(request.command, budget, reading)
        reading.findings += read_params(request.params, budget, _text(request.command))
        reading.findings += read_calls(request.params)
        if request.diff:
            reading.findings += read_diff(request.diff, budget)
    except OutOfTime:
        reading.findings.append(TOO_LARGE)
        reading.simple_command = False
    return reading


def _text(command: str | list[str]) -> str:
    return command if isinstance(command, str) else ""


def _read_command(command: str | list[str], budget: Budget, reading: Reading) -> None:
    if not command:
        return
    reader = Reader(budget)
    if isinstance(command, list):
        reader.argv(command)
    else:
        reader.script(command)
    reading.findings += reader.findings
    reading.steps = reader.steps
    reading.simple_command = reader.simple
