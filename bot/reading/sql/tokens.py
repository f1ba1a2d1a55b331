"""Reading SQL that does not parse, from sqlglot's tokens: the statement starts that destroy
(DROP, TRUNCATE, DELETE or UPDATE with no WHERE, ALTER ... DROP, GRANT, REVOKE), and the ALTERs
that take a protection away (a role's power over the server, a table's row-level security or
triggers).

Tokens keep string literals and quoted names apart from keywords, so `'drop table'` in a
literal is no DROP.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlglot import Token, TokenType

from bot.reading.findings import Effect, Finding, opaque
from bot.reading.sql.statements import calls, drops_part, shorten

STRING_TOKENS = frozenset(
    {
        TokenType.STRING,
        TokenType.HEREDOC_STRING,
        TokenType.NATIONAL_STRING,
        TokenType.RAW_STRING,
        TokenType.UNICODE_STRING,
        TokenType.BYTE_STRING,
        TokenType.BIT_STRING,
        TokenType.HEX_STRING,
        TokenType.IDENTIFIER,
    }
)
_DROP_OBJECTS = frozenset({"AGGREGATE", "CAST", "COLLATION", "COLUMN", "CONSTRAINT", "DATABASE",
                           "DOMAIN", "EVENT", "EXTENSION", "FOREIGN", "FUNCTION", "INDEX",
                           "KEYSPACE", "LANGUAGE", "MATERIALIZED", "OPERATOR", "OWNED", "PARTITION",
                           "POLICY", "PROCEDURE", "PUBLICATION", "ROLE", "RULE", "SCHEMA",
                           "SEQUENCE", "SERVER", "SUBSCRIPTION", "TABLE", "TABLESPACE", "TEMP",
                           "TEMPORARY", "TRIGGER", "TYPE", "USER", "VIEW"})  # fmt: skip
_PARTS_OF_A_TABLE = frozenset({"COLUMN", "CONSTRAINT", "PARTITION"})
_NAME_SKIPS = frozenset({"BY", "EXISTS", "FROM", "IF", "INTO", "ONLY", "TABLE"})
_QUERY_WORDS = frozenset({"SELECT", "WITH"})
LITERALS = STRING_TOKENS - {TokenType.IDENTIFIER}
_NAME_ENDS = frozenset({",", "(", ")"})
_ROLE_POWERS = frozenset({"BYPASSRLS", "CREATEDB", "CREATEROLE", "REPLICATION", "SUPERUSER"})
# ALTER TABLE clauses that switch a protection off, and what they do to the table.
_SWITCHED_OFF = (
    (("DISABLE", "ROW", "LEVEL", "SECURITY"), "turns off row-level security on {}"),
    (("NO", "FORCE", "ROW", "LEVEL", "SECURITY"), "lets the owner of {} bypass row-level security"),
    (("DISABLE", "TRIGGER", "ALL"), "turns off every trigger on {}, foreign-key checks included"),
    (("DISABLE", "TRIGGER", "USER"), "turns off the triggers on {}"),
)
_NAME_PARTS = 9  # tokens of one name: `"db"."schema"."table"` is five
_SHOWN_TOKENS = 20
_MOST_FINDINGS = 20  # a statement that names more destructions is no less destructive


def read_tokens(tokens: list[Token]) -> list[Finding]:
    """What destroys among the keywords of one statement's tokens (the first few, if many)."""
    return _destroyed(_Scan(tokens))


def read_long(tokens: list[Token]) -> list[Finding]:
    """A statement too long to parse, read by its words: what destroys, the functions it calls,
    and a plain INSERT of many rows. Anything else is opaque."""
    scan = _Scan(tokens)
    found = _destroyed(scan) + scan.calls()
    if found:
        return found
    if scan.words[0] in ("INSERT", "REPLACE") and _QUERY_WORDS.isdisjoint(scan.words):
        table = scan.name_after(1)
        return [Finding(Effect.mutating, f"changes data: {scan.words[0]} INTO {table}")]
    return [opaque("an SQL statement too long to parse")]


def _destroyed(scan: _Scan) -> list[Finding]:
    found: list[Finding] = []
    for at, word in enumerate(scan.words):
        reader = _TOKEN_READERS.get(word)
        finding = reader(scan, at) if reader else None
        found.extend([finding] if finding else [])
        if len(found) >= _MOST_FINDINGS:
            break
    return found


class _Scan:
    """A statement's tokens and their words: upper-cased keywords, "" for literals."""

    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.words = ["" if t.token_type in STRING_TOKENS else t.text.upper() for t in tokens]
        self.last_where = max((at for at, w in enumerate(self.words) if w == "WHERE"), default=-1)

    def name_after(self, at: int) -> str:
        """The name that starts at `at`, after TABLE, IF EXISTS ...: adjacent tokens, `a.b`."""
        while at < len(self.words) and self.words[at] in _NAME_SKIPS:
            at += 1
        end = at + 1
        while end < min(len(self.tokens), at + _NAME_PARTS) and self.joined(end):
            end += 1
        return shorten("".join(t.text for t in self.tokens[at:end])) or "?"

    def calls(self) -> list[Finding]:
        texts = [token.text for token in self.tokens]
        return [
            finding
            for at, word in enumerate(self.words[:-1])
            if texts[at + 1] == "("
            for finding in calls(word)
        ]

    def has(self, words: tuple[str, ...]) -> bool:
        """Whether the words come one after another somewhere in the statement."""
        size = len(words)
        return any(tuple(self.words[at : at + size]) == words for at in range(len(self.words)))

    def joined(self, at: int) -> bool:
        token = self.tokens[at]
        return token.start == self.tokens[at - 1].end + 1 and token.text not in _NAME_ENDS


def _token_drop(scan: _Scan, at: int) -> Finding | None:
    kind = scan.words[at + 1] if at + 1 < len(scan.words) else ""
    if kind not in _DROP_OBJECTS:
        return None
    name = scan.name_after(at + 2)
    if kind == "OWNED":
        return Finding(Effect.destructive, f"drops every object owned by {name}")
    if kind in _PARTS_OF_A_TABLE and scan.words[:2] == ["ALTER", "TABLE"]:
        return drops_part(scan.name_after(2), kind.lower(), name)
    return Finding(Effect.destructive, f"drops {kind.lower()} {name}")


def _token_truncate(scan: _Scan, at: int) -> Finding:
    return Finding(Effect.destructive, f"empties table {scan.name_after(at + 1)} (TRUNCATE)")


def _token_delete(scan: _Scan, at: int) -> Finding | None:
    if scan.words[at + 1 : at + 2] != ["FROM"] or scan.last_where > at:
        return None
    return Finding(Effect.destructive, f"deletes every row of {scan.name_after(at + 1)}")


def _token_update(scan: _Scan, at: int) -> Finding | None:
    if at != 0 or scan.last_where >= 0:
        return None
    return Finding(Effect.destructive, f"updates every row of {scan.name_after(1)}")


def _token_grant(scan: _Scan, at: int) -> Finding | None:
    if at != 0:
        return None
    shown = scan.tokens[1:_SHOWN_TOKENS]
    text = " ".join("'…'" if t.token_type in LITERALS else t.text for t in shown)
    verb = "grants" if scan.words[0] == "GRANT" else "revokes"
    return Finding(Effect.destructive, f"{verb} {shorten(text)}")


def _token_alter(scan: _Scan, at: int) -> Finding | None:
    if at == 0 and scan.words[1:2] == ["TABLE"]:
        return _token_switched_off(scan)
    return _token_role(scan, at)


def _token_switched_off(scan: _Scan) -> Finding | None:
    """ALTER TABLE that turns off the table's row-level security or its triggers."""
    for words, what in _SWITCHED_OFF:
        if scan.has(words):
            return Finding(Effect.destructive, what.format(scan.name_after(2)))
    return None


def _token_role(scan: _Scan, at: int) -> Finding | None:
    """CREATE or ALTER of a role that gives it a power over the whole server."""
    if at != 0 or scan.words[1:2] not in (["USER"], ["ROLE"], ["GROUP"]):
        return None
    powers = sorted(_ROLE_POWERS.intersection(scan.words))
    if not powers:
        return None
    return Finding(Effect.destructive, f"grants {', '.join(powers)} to {scan.name_after(2)}")


_TOKEN_READERS: dict[str, Callable[[_Scan, int], Finding | None]] = {
    "ALTER": _token_alter,
    "CREATE": _token_role,
    "DELETE": _token_delete,
    "DROP": _token_drop,
    "GRANT": _token_grant,
    "REVOKE": _token_grant,
    "TRUNCATE": _token_truncate,
    "UPDATE": _token_update,
}
