"""The `countersign` command line. Each command group lives in `bot/commands/`."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from types import ModuleType

from bot.commands import agents, audit, history, integrations, outbox, policy, server
from bot.errors import ConfigError
from bot.settings import load_settings

# Each module has `register(commands)`, which adds its parsers and sets `run(args, settings)`.
COMMAND_MODULES: list[ModuleType] = [server, agents, policy, audit, history, integrations, outbox]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="countersign", description="Slack approval gateway for AI agents."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMAND_MODULES:
        module.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
        logging.basicConfig(
            level=settings.log_level.upper(),
            format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        )
        logging.getLogger("apscheduler").setLevel(logging.WARNING)
        code: int = args.run(args, settings)
        return code
    except ConfigError as exc:
        print(f"countersign: {exc.message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
