"""`countersign serve` and `countersign dev`."""

from __future__ import annotations

import argparse

from bot.commands import Commands
from bot.settings import Settings


def register(commands: Commands) -> None:
    serve = commands.add_parser("serve", help="run the production server on $PORT")
    serve.set_defaults(run=_serve)
    dev = commands.add_parser("dev", help="run on embedded defaults (no Slack, no Redis)")
    dev.add_argument("--port", type=int, default=None, help="default $PORT or 8080")
    dev.set_defaults(run=_dev)


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    from bot import server

    return server.serve(settings)


def _dev(args: argparse.Namespace, settings: Settings) -> int:
    from bot import server

    return server.dev(settings, port=args.port)
