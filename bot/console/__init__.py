"""The web console for managers and auditors, served by the same process at `/`.

Server-rendered Jinja2 pages (`templates/`) and one stylesheet (`static/`); no front-end build.
Sign-in takes an auditor token (or a trusted SSO header naming one of the policy's auditor
e-mails); `countersign dev` adds demo voting.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from bot.console import demo, pages, signin
from bot.console.session import ConsoleSettings
from bot.console.web import Console, NotAnAuditor, refuse_non_auditor
from bot.runtime import Runtime

STATIC_PATH = "/console/static"


def install_console(app: FastAPI, runtime: Runtime) -> None:
    """Adapter: the console's routes (and, in dev mode, demo voting) on the app."""
    app.state.console = Console.create(runtime, ConsoleSettings())
    app.add_exception_handler(NotAnAuditor, refuse_non_auditor)
    app.mount(STATIC_PATH, StaticFiles(packages=[("bot.console", "static")]), name="console")
    app.include_router(signin.router)
    app.include_router(pages.router)
    if runtime.dev:
        app.include_router(demo.router)
