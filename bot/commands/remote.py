"""Calling a running Countersign's HTTP API from the CLI with an auditor token."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from typing import Any

import httpx
from pydantic import Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.errors import ConfigError, CountersignError

TIMEOUT = httpx.Timeout(30.0, read=300.0)  # exports stream for a while


class RemoteSettings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    url: str = Field(alias="COUNTERSIGN_URL")
    token: SecretStr = Field(alias="COUNTERSIGN_TOKEN")


class RemoteError(CountersignError):
    """The server answered with an error; `message` is what it said."""


def remote_settings() -> RemoteSettings:
    try:
        return RemoteSettings()
    except ValidationError as exc:
        error = exc.errors()[0]
        name = error["loc"][0] if error["loc"] else "?"
        problem = "is missing, and has no default" if error["type"] == "missing" else "is invalid"
        raise ConfigError(f"Config '{name}' {problem}.") from None


def run(command: Coroutine[Any, Any, int]) -> int:
    """Run a remote command; server errors and network failures print one line and exit 1."""
    try:
        return asyncio.run(command)
    except RemoteError as exc:
        print(f"countersign: {exc.message}", file=sys.stderr)
    except httpx.HTTPError as exc:
        print(f"countersign: cannot reach the server: {exc}", file=sys.stderr)
    return 1


@asynccontextmanager
async def client() -> AsyncIterator[httpx.AsyncClient]:
    settings = remote_settings()
    headers = {"Authorization": f"Bearer {settings.token.get_secret_value()}"}
    async with httpx.AsyncClient(
        base_url=settings.url.rstrip("/"), headers=headers, timeout=TIMEOUT
    ) as http:
        yield http


def query(params: dict[str, Any]) -> dict[str, Any]:
    """Query parameters without the unset ones."""
    return {k: v for k, v in params.items() if v not in (None, "")}


async def get_json(path: str, params: dict[str, Any]) -> Any:
    async with client() as http:
        response = await http.get(path, params=query(params))
        if response.is_error:
            _raise_for(response)
        return response.json()


async def stream_lines(path: str, params: dict[str, Any]) -> AsyncIterator[str]:
    """The response body line by line, as the server streams it."""
    async with client() as http, http.stream("GET", path, params=query(params)) as response:
        if response.is_error:
            await response.aread()
            _raise_for(response)
        async for line in response.aiter_lines():
            yield line


def _raise_for(response: httpx.Response) -> None:
    try:
        message = response.json()["error"]["message"]
    except (ValueError, KeyError, TypeError):
        message = response.text[:200]
    raise RemoteError(f"HTTP {response.status_code}: {message}")
