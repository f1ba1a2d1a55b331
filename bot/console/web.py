"""What every console page needs: templates, the session, the signed-in viewer, CSRF checks."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, PackageLoader, select_autoescape

from bot.console import render
from bot.console.session import COOKIE, ConsoleSettings, Session, credential_of, load, save
from bot.principals import Role
from bot.runtime import Runtime


class NotAnAuditor(Exception):
    """The SSO proxy vouches for someone the policy does not list under `auditors.emails`."""

    def __init__(self, who: str) -> None:
        super().__init__(who)
        self.who = who


@dataclass
class Console:
    runtime: Runtime
    settings: ConsoleSettings
    secret: bytes
    templates: Environment

    @classmethod
    def create(cls, runtime: Runtime, settings: ConsoleSettings) -> Console:
        templates = Environment(
            loader=PackageLoader("bot.console", "templates"),
            autoescape=select_autoescape(default=True),
            trim_blocks=True,
            lstrip_blocks=True,
        )
        render.install_filters(templates)
        return cls(runtime, settings, settings.secret(warn=not runtime.dev), templates)

    def now(self) -> datetime:
        return self.runtime.clock()

    def page(self, request: Request, session: Session, name: str, **context: Any) -> HTMLResponse:
        html = self.templates.get_template(name).render(
            session=session,
            dev=self.runtime.dev,
            now=self.now(),
            path=request.url.path,
            **context,
        )
        response = HTMLResponse(html, headers={"Cache-Control": "no-store"})
        save(session, self.secret, request, response)
        return response

    async def still_auditor(self, session: Session) -> bool:
        """Whether a signed-in session's principal may still use the console: an SSO identity
        still listed (with SSO still on), a token's holder still registered as an auditor and
        still holding the token it signed in with (rotating or removing it signs out)."""
        if session.who is None:
            return False
        if session.via == "sso":
            return bool(self.settings.sso_header) and self.runtime.policy.is_auditor_email(
                session.who
            )
        principals = self.runtime.principals
        principal, current = (
            await principals.get(session.who),
            await principals.token_hash(session.who),
        )
        if principal is None or principal.role is not Role.auditor or current is None:
            return False
        return hmac.compare_digest(credential_of(current), session.credential)

    def redirect(self, request: Request, session: Session, url: str) -> RedirectResponse:
        response = RedirectResponse(url, status_code=303)
        save(session, self.secret, request, response)
        return response


def console_of(request: Request) -> Console:
    console: Console = request.app.state.console
    return console


async def _console(request: Request) -> Console:
    return console_of(request)


ConsoleDep = Annotated[Console, Depends(_console)]  # async: no worker-thread hop


async def session_of(request: Request, console: ConsoleDep) -> Session:
    """The cookie's session, re-checked on every request (a removed auditor loses access at
    once); a trusted SSO header, when configured, signs its user in if they are an auditor."""
    session = load(request.cookies.get(COOKIE), console.secret)
    header = console.settings.sso_header
    user = request.headers.get(header, "").strip() if header else ""
    if user:
        if not console.runtime.policy.is_auditor_email(user):
            raise NotAnAuditor(user)
        if (session.who, session.via) != (user, "sso"):
            session.sign_in(user, "sso")
        return session
    if session.who is not None and not await console.still_auditor(session):
        return Session()  # signed out: the response replaces the cookie
    return session


SessionDep = Annotated[Session, Depends(session_of)]


async def refuse_non_auditor(request: Request, exc: Exception) -> HTMLResponse:
    """The console's answer to an SSO identity that is not an auditor: a 403 page."""
    assert isinstance(exc, NotAnAuditor)
    console = console_of(request)
    page = console.page(request, Session(), "forbidden.html", who=exc.who)
    page.status_code = 403
    return page


async def signed_in(request: Request, session: SessionDep) -> Session:
    """Pages for signed-in auditors only; everyone else is sent to sign in."""
    if session.who is None:
        raise HTTPException(303, "Sign in first.", headers={"Location": "/login"})
    return session


ViewerDep = Annotated[Session, Depends(signed_in)]


async def checked_form(session: ViewerDep, csrf: Annotated[str, Form()] = "") -> Session:
    """A signed-in POST whose form carries this session's CSRF token."""
    if not session.check_csrf(csrf):
        raise HTTPException(403, "The form has expired or came from another site; reload it.")
    return session


CheckedDep = Annotated[Session, Depends(checked_form)]
