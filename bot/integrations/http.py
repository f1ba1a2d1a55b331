"""The integrations' HTTP routes, mounted on the main app by `countersign serve` and `dev`."""

from __future__ import annotations

from fastapi import FastAPI

from bot.integrations.humanlayer import install_humanlayer
from bot.integrations.mcp_server import install_mcp
from bot.runtime import Runtime


def install_integrations(app: FastAPI, runtime: Runtime) -> None:
    """Adapter: `/humanlayer/v1` with its contact desk, and MCP at `/mcp`."""
    install_humanlayer(app, runtime)
    install_mcp(app, runtime)
