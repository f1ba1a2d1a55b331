"""Console sign-in state: a signed, HTTP-only cookie holding who signed in and a CSRF token.

The cookie is `base64(json).hmac_sha256`; nothing in it is secret, but nobody without the
session secret can forge or alter it. Every form carries the CSRF token, and a POST whose token
does not match the cookie's is refused.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import secrets
import time
from dataclasses import dataclass, field

from fastapi import Request, Response
from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

log = logging.getLogger(__name__)

COOKIE = "countersign_session"
MAX_AGE = 12 * 3600


class ConsoleSettings(BaseSettings):
    """The console's own settings, read once when it is installed."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    session_secret: SecretStr | None = Field(default=None, alias="COUNTERSIGN_SESSION_SECRET")
    sso_header: str | None = Field(
        default=None,
        alias="COUNTERSIGN_SSO_HEADER",
        description="header an SSO proxy sets to the signed-in user, e.g. X-Forwarded-Email",
    )

    def secret(self, warn: bool = True) -> bytes:
        if self.session_secret is not None:
            return self.session_secret.get_secret_value().encode()
        if warn:
            log.warning(
                "COUNTERSIGN_SESSION_SECRET is unset: console sign-ins last until this process "
                "stops and are not shared between replicas"
            )
        return secrets.token_bytes(32)


@dataclass
class Session:
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    who: str | None = None
    via: str = ""  # "token" or "sso"
    issued: int = field(default_factory=lambda: int(time.time()))
    changed: bool = True  # new or altered: the response must (re)set the cookie
    credential: str = ""  # for "token": which token it was (see `credential_of`)

    def sign_in(self, who: str, via: str, credential: str = "") -> None:
        """A fresh CSRF token on every sign-in, so a token seen before it is useless after."""
        self.who, self.via, self.credential, self.changed = who, via, credential, True
        self.csrf, self.issued = secrets.token_urlsafe(24), int(time.time())

    def check_csrf(self, token: str) -> bool:
        return hmac.compare_digest(self.csrf.encode(), token.encode())


def credential_of(token_hash: str) -> str:
    """What a session keeps of the token it signed in with: enough to notice the token was
    replaced or removed, nothing that helps to recover or guess it."""
    return hashlib.sha256(f"console-session:{token_hash}".encode()).hexdigest()[:32]


def _mac(secret: bytes, payload: bytes) -> str:
    return hmac.new(secret, payload, hashlib.sha256).hexdigest()


def dump(session: Session, secret: bytes) -> str:
    data = {
        "csrf": session.csrf,
        "who": session.who,
        "via": session.via,
        "iat": session.issued,
        "cred": session.credential,
    }
    payload = base64.urlsafe_b64encode(json.dumps(data).encode())
    return f"{payload.decode()}.{_mac(secret, payload)}"


def load(cookie: str | None, secret: bytes) -> Session:
    """The session in a cookie, or a new anonymous one when it is missing, forged or old."""
    payload, _, mac = (cookie or "").rpartition(".")
    if not payload or not hmac.compare_digest(mac, _mac(secret, payload.encode())):
        return Session()
    data = json.loads(base64.urlsafe_b64decode(payload))
    if data["iat"] + MAX_AGE < time.time():
        return Session()
    credential = data.get("cred", "")
    return Session(data["csrf"], data["who"], data["via"], data["iat"], False, credential)


def save(session: Session, secret: bytes, request: Request, response: Response) -> None:
    if session.changed:
        response.set_cookie(
            COOKIE,
            dump(session, secret),
            max_age=MAX_AGE,
            httponly=True,
            samesite="lax",
            secure=request.url.scheme == "https",
        )
