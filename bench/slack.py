"""The fake Slack Web API (`tests/support/fake_slack.py`) in its own process, for the bench.

`python -m bench.slack PORT` serves until killed. The bench server posts its cards and
updates here, as `serve` would post them to Slack, so intake pays for its Slack work too.
"""

from __future__ import annotations

import asyncio
import sys

from tests.support.fake_slack import FakeSlack

SIGNING_SECRET = "bench-signing-secret"


async def serve(port: int) -> None:
    slack = FakeSlack()
    slack.port = port
    async with slack:
        slack.usergroups["S0ONCALL1"] = ["U0GROUP01"]
        await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(serve(int(sys.argv[1])))
