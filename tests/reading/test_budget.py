"""Reading is bounded: what takes too long is rated high, and never holds the event loop."""

from __future__ import annotations

import asyncio
from pathlib import Path

from bot.models import RequestIn, Risk
from bot.policy import Policy
from bot.reading import Budget, read_request

CONFIG = Path(__file__).parents[2] / "config"
HOSTILE = RequestIn(action="ops.run", summary="s", command="echo " + "&<>" * 21_000)


def test_a_reading_that_runs_out_of_budget_is_too_large_to_read() -> None:
    reading = read_request(HOSTILE, Budget(0.05))
    assert [f.text for f in reading.findings] == ["cannot be read: too large to read in time"]
    assert not reading.simple_command


def test_out_of_budget_is_high_risk() -> None:
    decision = Policy.load(CONFIG).evaluate(HOSTILE, "bot", Budget(0.05))
    assert decision.risk is Risk.high and decision.required_approvals == 2
    assert "cannot be read: too large to read in time" in decision.risk_reasons


async def test_a_large_request_is_read_off_the_event_loop() -> None:
    policy = Policy.load(CONFIG)
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    ticker = asyncio.create_task(tick())
    decision = await policy.rate(HOSTILE, "bot")  # about READING_SECONDS of parsing
    ticker.cancel()
    assert decision.risk is Risk.high
    assert ticks >= 3  # read on the loop, the ticker would not have run at all
