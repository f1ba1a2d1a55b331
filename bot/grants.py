"""Grants: Ed25519-signed proof that a request was approved, bound to its exact action.

A grant is `base64url(payload JSON) + "." + base64url(signature)`. Executors check it
offline with the public key from `GET /v1/keys`, or with `POST /v1/grants/verify`.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from bot.errors import ConfigError
from bot.models import ApprovalRequest, Status

GRANT_VALIDITY = timedelta(minutes=15)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class GrantCheck:
    valid: bool
    reason: str = ""
    claims: dict[str, Any] | None = None


class GrantSigner:
    def __init__(self, key: Ed25519PrivateKey, key_id: str = "countersign-1") -> None:
        self.key = key
        self.key_id = key_id

    @classmethod
    def from_pem(cls, pem: bytes) -> GrantSigner:
        try:
            key = serialization.load_pem_private_key(pem, password=None)
        except ValueError as exc:
            raise ConfigError(f"COUNTERSIGN_GRANT_KEY: not a PEM private key ({exc})") from None
        if not isinstance(key, Ed25519PrivateKey):
            raise ConfigError("COUNTERSIGN_GRANT_KEY: must be an Ed25519 private key")
        return cls(key)

    @classmethod
    def from_file(cls, path: Path) -> GrantSigner:
        """Load the key, creating it (mode 600) on first start."""
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            pem = Ed25519PrivateKey.generate().private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
            path.touch(mode=0o600)
            path.write_bytes(pem)
        return cls.from_pem(path.read_bytes())

    def public_pem(self) -> str:
        return (
            self.key.public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            .decode()
        )

    def public_jwk(self) -> dict[str, str]:
        raw = self.key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        return {"kty": "OKP", "crv": "Ed25519", "kid": self.key_id, "x": _b64(raw), "alg": "EdDSA"}

    def grant_for(self, request: ApprovalRequest) -> str | None:
        """The grant of an approved request (deterministic: the same every time it is read)."""
        if request.status is not Status.approved or request.decided_at is None:
            return None
        claims = {
            "kid": self.key_id,
            "request_id": request.id,
            "agent": request.agent,
            "action": request.action,
            "action_hash": request.action_hash,
            "approvers": [a.user for a in request.approvals],
            "iat": int(request.decided_at.timestamp()),
            "exp": int((request.decided_at + GRANT_VALIDITY).timestamp()),
        }
        payload = json.dumps(claims, sort_keys=True, separators=(",", ":")).encode()
        return f"{_b64(payload)}.{_b64(self.key.sign(payload))}"

    def verify(self, grant: str, *, action_hash: str | None, now: datetime) -> GrantCheck:
        return verify_grant(self.key.public_key(), grant, action_hash=action_hash, now=now)


def verify_grant(
    public_key: Ed25519PublicKey, grant: str, *, action_hash: str | None, now: datetime
) -> GrantCheck:
    """Check signature, expiry and (when given) that the grant covers exactly this action."""
    try:
        payload_b64, signature_b64 = grant.split(".")
        payload = _unb64(payload_b64)
        public_key.verify(_unb64(signature_b64), payload)
        claims: dict[str, Any] = json.loads(payload)
    except (ValueError, InvalidSignature):
        return GrantCheck(False, "signature invalid or grant malformed")
    if claims.get("exp", 0) < now.timestamp():
        return GrantCheck(False, "grant expired", claims)
    if action_hash is not None and claims.get("action_hash") != action_hash:
        return GrantCheck(False, "grant is for a different action (action_hash differs)", claims)
    return GrantCheck(True, "", claims)
