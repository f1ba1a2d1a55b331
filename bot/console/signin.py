"""Signing in to the console with an auditor token, and signing out."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from bot.console.demo import DEV_AUDITOR_TOKEN
from bot.console.session import credential_of
from bot.console.web import CheckedDep, ConsoleDep, SessionDep
from bot.principals import Role, hash_token

router = APIRouter(include_in_schema=False)


@router.get("/login", response_class=HTMLResponse)
async def login_form(request: Request, console: ConsoleDep, session: SessionDep) -> Response:
    if session.who is not None:
        return console.redirect(request, session, "/")
    return _form(request, console, session, "")


def _form(request: Request, console: ConsoleDep, session: SessionDep, error: str) -> HTMLResponse:
    page = console.page(
        request,
        session,
        "login.html",
        error=error,
        dev_token=DEV_AUDITOR_TOKEN if console.runtime.dev else "",
        sso=console.settings.sso_header,
    )
    page.status_code = 401 if error else 200
    return page


@router.post("/login", response_class=HTMLResponse)
async def login(
    request: Request,
    console: ConsoleDep,
    session: SessionDep,
    token: Annotated[str, Form(max_length=500)] = "",
    csrf: Annotated[str, Form()] = "",
) -> Response:
    """Auditor tokens sign in; agent tokens and unknown tokens do not."""
    if not session.check_csrf(csrf):
        return _form(request, console, session, "The form expired; try again.")
    token = token.strip()
    who = await console.runtime.principals.authenticate(token)
    if who is None:
        return _form(request, console, session, "That token is not valid.")
    if who.role is not Role.auditor:
        return _form(request, console, session, "Only auditor tokens can sign in to the console.")
    session.sign_in(who.name, "token", credential_of(hash_token(token)))
    return console.redirect(request, session, "/")


@router.post("/logout")
async def logout(request: Request, console: ConsoleDep, session: CheckedDep) -> RedirectResponse:
    session.who, session.changed = None, True
    return console.redirect(request, session, "/login")
