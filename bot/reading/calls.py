"""Structured tool calls: what the fields of `params` ask for, beyond text to read.

`{"kind": "StatefulSet", "replicas": 0}` scales to zero, `{"force": true}` forces, a member of
`allUsers` is everyone, `{"path": "/etc/ssh/sshd_config", "content": ...}` overwrites a system
file. Keys compare without case, `_` or `-` (`desiredCount` is `desired_count`).
"""

from __future__ import annotations

from collections.abc import Iterator
from fnmatch import fnmatchcase
from typing import Any

from bot.reading.commands import SYSTEM_FILES, is_secret_path
from bot.reading.findings import Effect, Finding

ZERO_KEYS = frozenset({"replicas", "desiredcount", "desiredcapacity", "nodecount", "numnodes"})
FORCE_KEYS = frozenset({"force", "forcedelete", "purge", "cascade", "skipfinalsnapshot"})
PRINCIPAL_KEYS = frozenset({"member", "members", "principal", "principals", "grantee"})
EVERYONE = frozenset({"allusers", "allauthenticatedusers", "*", "everyone", "public"})
ROLE_KEYS = frozenset({"role", "roles", "policyarn", "roledefinition", "clusterrole"})
ADMIN_ROLES = ("roles/owner", "roles/editor", "administratoraccess", "cluster-admin", "owner")
PATH_KEYS = frozenset({"path", "file", "filepath", "filename", "dest", "destination"})
CONTENT_KEYS = frozenset({"content", "contents", "data", "body", "text"})
URL_KEYS = frozenset({"url", "uri", "endpoint", "path"})
DESTRUCTIVE_URLS = ("*/_delete_by_query*", "*/_all", "*/_all/*", "*/_truncate*")


def read_calls(params: dict[str, Any]) -> list[Finding]:
    """Findings for what the mappings in `params` ask for."""
    found: list[Finding] = []
    for path, mapping in mappings(params, "params"):
        keys = {_key(k): v for k, v in mapping.items()}
        for finding in _asks(keys):
            if (placed := finding.at(path)) not in found:
                found.append(placed)
    return found


def mappings(value: Any, path: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every mapping in `value`, with its place (`params.args`)."""
    if isinstance(value, dict):
        yield path, value
        for key, child in value.items():
            yield from mappings(child, f"{path}.{key}")
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from mappings(child, f"{path}[{index}]")


def _key(key: object) -> str:
    return str(key).lower().replace("_", "").replace("-", "")


def _asks(keys: dict[str, Any]) -> list[Finding]:
    found = [*_zero(keys), *_forced(keys), *_everyone(keys), *_admin(keys)]
    found += [*_system_file(keys), *_destructive_url(keys), *_secret_file(keys)]
    return [*found, *_method(keys)]


def _secret_file(keys: dict[str, Any]) -> list[Finding]:
    paths = [v for k in PATH_KEYS & keys.keys() for v in _strings(keys[k])]
    hits = [p for p in paths if is_secret_path(p)]
    return [Finding(Effect.sensitive, f"names a credentials file ({p})") for p in hits]


def _method(keys: dict[str, Any]) -> list[Finding]:
    methods = [v.upper() for v in _strings(keys.get("method"))]
    changes = [m for m in methods if m in ("POST", "PUT", "PATCH")]
    return [Finding(Effect.mutating, f"sends an HTTP {m}") for m in changes]


def _destructive(reason: str) -> Finding:
    return Finding(Effect.destructive, reason)


def _zero(keys: dict[str, Any]) -> list[Finding]:
    hits = [k for k in ZERO_KEYS & keys.keys() if keys[k] in (0, "0") and keys[k] is not False]
    return [_destructive(f"scales to zero ({k}: 0)") for k in hits]


def _forced(keys: dict[str, Any]) -> list[Finding]:
    hits = [k for k in FORCE_KEYS & keys.keys() if keys[k] is True or keys[k] == "true"]
    return [_destructive(f"forces the operation ({k}: true)") for k in hits]


def _everyone(keys: dict[str, Any]) -> list[Finding]:
    values = [_strings(keys[k]) for k in PRINCIPAL_KEYS & keys.keys()]
    hits = [v for group in values for v in group if v.lower() in EVERYONE]
    return [_destructive(f"grants access to everyone ({v})") for v in hits]


def _admin(keys: dict[str, Any]) -> list[Finding]:
    values = [_strings(keys[k]) for k in ROLE_KEYS & keys.keys()]
    hits = [v for group in values for v in group if any(a in v.lower() for a in ADMIN_ROLES)]
    return [_destructive(f"grants an administrator role ({v})") for v in hits]


def _system_file(keys: dict[str, Any]) -> list[Finding]:
    if not CONTENT_KEYS & keys.keys():
        return []
    paths = [v for k in PATH_KEYS & keys.keys() for v in _strings(keys[k])]
    hits = [p for p in paths if any(fnmatchcase(p, glob) for glob in SYSTEM_FILES)]
    return [_destructive(f"overwrites system file {p}") for p in hits]


def _destructive_url(keys: dict[str, Any]) -> list[Finding]:
    urls = [v for k in URL_KEYS & keys.keys() for v in _strings(keys[k])]
    hits = [u for u in urls if any(fnmatchcase(u, glob) for glob in DESTRUCTIVE_URLS)]
    return [_destructive(f"calls an endpoint that deletes data ({u})") for u in hits]


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)]
    return []
