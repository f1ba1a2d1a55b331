"""SQL client commands: psql's backslash commands (mysql's few share the shape) and sqlite3's
dot-commands.

They are not SQL, so they are read here, one line each, and replaced by a statement end before
the SQL is parsed. Most only show things; a few run a shell, run SQL from a file that is not
shown, or write files.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from bot.reading.findings import Effect, Finding, opaque

_BACKSLASH_LINE = re.compile(r"^[ \t]*\\(?P<name>[A-Za-z_]+\+?|\S)(?P<arg>[^\n]*)", re.M)
_DOT_LINE = re.compile(r"^[ \t]*\.(?P<name>[A-Za-z_]+)(?P<arg>[^\n]*)", re.M)
_DOT_DIALECTS = (None, "sqlite")

_PSQL_READS = frozenset({"?", "a", "c", "cd", "connect", "conninfo", "copyright", "echo", "elif",
                         "else", "encoding", "endif", "errverbose", "f", "h", "help", "if", "l",
                         "list", "lo_list", "p", "print", "prompt", "pset", "q", "qecho", "quit",
                         "r", "reset", "s", "set", "setenv", "sf", "sv", "t", "timing", "u",
                         "unset", "warn", "watch", "x", "z"})  # fmt: skip
_PSQL_INCLUDES = frozenset({"i", "ir", "include", "include_relative", "."})  # `\.` is mysql's
_PSQL_OUTPUTS = frozenset({"g", "gx", "o", "out", "w", "write"})
_COPY = re.compile(
    r"\s*(?P<source>\(.*\)|[\w.\"]+(?:\s*\([^)]*\))?)\s+(?P<way>from|to)\s+(?P<target>.*)",
    re.I | re.S,
)

_SQLITE_READS = frozenset({"bail", "binary", "cd", "changes", "columns", "databases", "dbconfig",
                           "dbinfo", "dump", "echo", "eqp", "exit", "explain", "fullschema",
                           "header", "headers", "help", "indexes", "indices", "limit", "lint",
                           "mode", "nullvalue", "parameter", "print", "prompt", "quit", "scanstats",
                           "schema", "separator", "sha3sum", "show", "stats", "tables", "timeout",
                           "timer", "version", "vfsinfo", "vfslist", "vfsname",
                           "width"})  # fmt: skip
_SQLITE_PIPES = frozenset({"import", "once", "output", "read"})


def split_client_commands(text: str, dialect: str | None) -> tuple[str, list[Finding]]:
    """The SQL in `text`, each client-command line replaced by `;`, and what those lines do."""
    found: list[Finding] = []

    def read_line(match: re.Match[str], reader: Callable[[str, str], Finding | None]) -> str:
        finding = reader(match["name"].lower().rstrip("+"), match["arg"].strip())
        found.extend([finding] if finding else [])
        return ";"

    sql = _BACKSLASH_LINE.sub(lambda match: read_line(match, _psql), text)
    if dialect in _DOT_DIALECTS:
        sql = _DOT_LINE.sub(lambda match: read_line(match, _sqlite), sql)
    return sql, found


def _psql(name: str, arg: str) -> Finding | None:
    if name == "!" or (name in _PSQL_OUTPUTS and _pipes(arg)):
        return opaque("psql shell escape")
    if name in _PSQL_INCLUDES:
        return _runs_file(arg)
    if name.startswith("d") or name in _PSQL_READS:
        return None
    reader = _PSQL_OTHERS.get(name)
    return reader(arg) if reader else opaque(f"psql command \\{name}")


def _sqlite(name: str, arg: str) -> Finding | None:
    if name in ("shell", "system") or (name in _SQLITE_PIPES and _pipes(arg)):
        return opaque("sqlite3 shell escape")
    if name in _SQLITE_READS:
        return None
    reader = _SQLITE_OTHERS.get(name)
    return reader(arg) if reader else opaque(f"sqlite3 command .{name}")


def _pipes(arg: str) -> bool:
    return arg.strip("'\" ").startswith("|")


def _runs_file(arg: str) -> Finding:
    return Finding(Effect.mutating, f"runs SQL from file {arg or '(none named)'} (not shown)")


def _writes_output(arg: str) -> Finding | None:
    return Finding(Effect.mutating, f"writes query output to file {arg}") if arg else None


def _copy(arg: str) -> Finding | None:
    copy = _COPY.match(arg)
    if copy is None:
        return opaque("psql \\copy that does not parse")
    if re.search(r"\bprogram\b", copy["target"], re.I):
        return opaque("psql shell escape")
    if copy["way"].lower() == "from":
        return Finding(Effect.mutating, f"loads data into {copy['source']} from a file")
    if copy["target"].split()[0].lower() in ("stdout", "pstdout"):
        return None
    return Finding(Effect.mutating, f"writes {copy['source']} to file {copy['target']}")


def _gexec(arg: str) -> Finding:
    return opaque("psql \\gexec runs query results as SQL")


def _lo_unlink(arg: str) -> Finding:
    return Finding(Effect.destructive, f"deletes large object {arg}")


def _lo_import(arg: str) -> Finding:
    return Finding(Effect.mutating, f"stores file {arg} as a large object")


def _lo_export(arg: str) -> Finding:
    return Finding(Effect.mutating, f"writes a large object to file {arg}")


def _sqlite_import(arg: str) -> Finding:
    return Finding(Effect.mutating, f"loads data from a file: .import {arg}")


def _sqlite_restore(arg: str) -> Finding:
    return Finding(Effect.destructive, f"replaces the database with backup {arg}")


def _sqlite_backup(arg: str) -> Finding:
    return Finding(Effect.mutating, f"writes a copy of the database to {arg}")


def _sqlite_open(arg: str) -> Finding | None:
    if "--new" not in arg.split():
        return None
    return Finding(Effect.destructive, f"empties database file {arg.split()[-1]}")


_PSQL_OTHERS: dict[str, Callable[[str], Finding | None]] = {
    **dict.fromkeys(_PSQL_OUTPUTS, _writes_output),
    "copy": _copy,
    "gexec": _gexec,
    "lo_export": _lo_export,
    "lo_import": _lo_import,
    "lo_unlink": _lo_unlink,
}
_SQLITE_OTHERS: dict[str, Callable[[str], Finding | None]] = {
    "backup": _sqlite_backup,
    "clone": _sqlite_backup,
    "import": _sqlite_import,
    "once": _writes_output,
    "open": _sqlite_open,
    "output": _writes_output,
    "read": _runs_file,
    "restore": _sqlite_restore,
    "save": _sqlite_backup,
}
