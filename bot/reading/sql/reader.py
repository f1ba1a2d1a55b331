"""Reading SQL text: client commands taken out, statements split on the tokenizer's semicolons
and parsed one at a time, so the budget is checked between them and a statement sqlglot cannot
parse hides nothing about the others.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass

from sqlglot import Token, TokenType, exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import ParseError, TokenError

from bot.reading.findings import Budget, Effect, Finding, opaque
from bot.reading.sql.clients import split_client_commands
from bot.reading.sql.statements import read_statement, shorten
from bot.reading.sql.tokens import LITERALS, STRING_TOKENS, read_long, read_tokens

MAX_SQL_CHARS = 1024 * 1024
NOT_PARSED = opaque("SQL that does not parse")

# With no dialect named, the ones agents send most are tried in turn; postgres first, since its
# tokenizer keeps a `$$ ... $$` body whole where the generic one would split it at each `;`.
_ANY_DIALECT: tuple[str | None, ...] = ("postgres", "mysql", "sqlite", None)

# First words of statements sqlglot keeps as a Command, or does not know, that only read.
_READ_WORDS = frozenset({"ANALYZE", "BEGIN", "CLOSE", "COMMIT", "DEALLOCATE", "DECLARE", "DESC",
                         "DESCRIBE", "END", "FETCH", "HELP", "LISTEN", "PREPARE", "RELEASE",
                         "ROLLBACK", "SAVEPOINT", "SHOW", "TABLE", "UNLISTEN", "USE",
                         "VALUES"})  # fmt: skip
# First words of statements that only show things, read as such even when no dialect sqlglot
# knows parses them: cqlsh's DESCRIBE KEYSPACE, DESC TABLES and the like.
_SHOWING_WORDS = frozenset({"DESC", "DESCRIBE"})
_STOPPING_WORDS = {
    "KILL": "ends a connection",
    "PURGE": "deletes binary logs",
    "SHUTDOWN": "shuts down the database server",
}
_REPLICATION = ("MASTER", "REPLICA", "SLAVE", "BINARY")
_EXPLAIN_OPTIONS = re.compile(r"(\s*(\([^)]*\)|ANALY[SZ]E\b|VERBOSE\b|FORMAT\s*=\s*\w+))*", re.I)
_QUOTE = re.compile(r"[A-Za-z&]{0,2}['$]")
# Text is tokenized a few KiB at a time, cut after a `;` that ends a line, so that the budget is
# checked between the pieces; a cut inside a string literal leaves it unterminated, and that
# piece is tried again with more text, at twice the length (so twice the work at most).
_CUT = re.compile(r";[ \t]*(?:--[^\n]*)?\n")
_LEAST_PIECE = 4096
_MOST_PIECE = 128 * 1024
_MOST_TOKENS_PARSED = 20_000  # sqlglot parses about a million tokens a minute
_RETRIED_TOKENS = 2_000  # a longer statement is parsed in the dialect that split it only
_DOLLAR_QUOTED = re.compile(r"^\$(\w*)\$(.*)\$\1\$$", re.S)


def read_sql(text: str, dialect: str | None, budget: Budget) -> list[Finding]:
    """What the SQL in `text` does, one finding per effect; reads give none.

    `dialect` is a sqlglot dialect ("postgres", "mysql", "sqlite" ...); None, or one sqlglot
    does not know, tries the common ones in turn. Findings are not placed.
    """
    if len(text) > MAX_SQL_CHARS:
        return [opaque("SQL too large to read")]
    _quiet_sqlglot()
    sql, found = split_client_commands(text, dialect)
    reader = _Reader(_dialects(dialect), budget)
    try:
        found += reader.read(sql)
    except RecursionError:
        found.append(opaque("SQL nested too deeply to read"))
    return list(dict.fromkeys(found))


def _dialects(dialect: str | None) -> tuple[str | None, ...]:
    if dialect is None:
        return _ANY_DIALECT
    try:
        Dialect.get_or_raise(dialect)
    except ValueError:
        return _ANY_DIALECT
    return (dialect,)


@dataclass(frozen=True)
class _Statement:
    """One statement's tokens, from `source` as `dialect` tokenized it."""

    source: str
    tokens: list[Token]
    dialect: str | None

    @property
    def text(self) -> str:
        return self.source[self.tokens[0].start : self.tokens[-1].end + 1]

    @property
    def first_word(self) -> str:
        return self.tokens[0].text.upper()

    @property
    def shown(self) -> str:
        """The statement for a reason, its string literals (a password, say) left out."""
        shown = ("'…'" if self.quoted(token) else token.text for token in self.tokens[:20])
        return shorten(" ".join(shown))

    def quoted(self, token: Token) -> bool:
        """A string literal as written; sqlglot also keeps a command's arguments as a string."""
        return token.token_type in LITERALS and bool(_QUOTE.match(self.source, token.start))

    @property
    def rest(self) -> str:
        return self.text[self.tokens[0].end - self.tokens[0].start + 1 :].strip()


class _Reader:
    """Reads statements in the dialects given, checking the budget between them."""

    def __init__(self, dialects: tuple[str | None, ...], budget: Budget) -> None:
        self.dialects = dialects
        self.budget = budget

    def read(self, sql: str) -> list[Finding]:
        found: list[Finding] = []
        for statement in self.statements(sql):
            self.budget.check()
            if isinstance(statement, Finding):
                found.append(statement)
            else:
                found.extend(self.statement(statement))
        return found

    def statements(self, sql: str) -> Iterator[_Statement | Finding]:
        """The statements of `sql`, tokenized a piece at a time; a finding for a piece that
        does not tokenize."""
        pending, tried = "", 0
        for piece in _pieces(sql):
            pending += piece
            if len(pending) > _MOST_PIECE:
                yield opaque("an SQL statement too long to read")
                pending, tried = "", 0
            elif len(pending) >= max(_LEAST_PIECE, 2 * tried):
                self.budget.check()
                statements = self.split(pending)
                if statements is None:
                    tried = len(pending)
                    continue
                yield from statements
                pending, tried = "", 0
        if pending.strip():
            statements = self.split(pending)
            yield from [NOT_PARSED] if statements is None else statements

    def split(self, sql: str) -> list[_Statement] | None:
        for dialect in self.dialects:
            try:
                tokens = Dialect.get_or_raise(dialect).tokenize(sql)
            except TokenError:
                continue
            return _statements(sql, tokens, dialect)
        return None

    def statement(self, statement: _Statement) -> list[Finding]:
        if len(statement.tokens) > _MOST_TOKENS_PARSED:
            return read_long(statement.tokens)
        trees = self.parse(statement)
        if trees is None:
            return _unparsed(statement)
        return [finding for tree in trees for finding in self.tree(tree, statement)]

    def parse(self, statement: _Statement) -> list[exp.Expr] | None:
        retried = len(statement.tokens) < _RETRIED_TOKENS
        for dialect in self.dialects if retried else (statement.dialect,):
            try:
                trees = _parse(statement, dialect)
            except (ParseError, TokenError, RecursionError):
                continue
            return [tree for tree in trees if tree is not None]
        return None

    def tree(self, tree: exp.Expr, statement: _Statement) -> list[Finding]:
        if isinstance(tree, exp.Describe):
            return self.describe(tree, statement)
        if isinstance(tree, exp.Transaction) and statement.first_word == "START":
            return self.command(statement)  # mysql parses START REPLICA as a transaction
        found = read_statement(tree)
        return self.command(statement) if found is None else found

    def describe(self, tree: exp.Describe, statement: _Statement) -> list[Finding]:
        analyzed = str(tree.args.get("style") or "").upper() == "ANALYZE"
        return self.tree(tree.this, statement) if analyzed else []

    def command(self, statement: _Statement) -> list[Finding]:
        """A statement sqlglot keeps as words: read from its first word and its tokens."""
        word = statement.first_word
        if word in _READ_WORDS or statement.text.upper().startswith("START TRANSACTION"):
            return []
        if word == "EXPLAIN":
            return self.explain(statement.rest)
        if word == "DO":
            return self.do_block(statement)
        return read_tokens(statement.tokens) or [
            _stopping(statement) or Finding(Effect.mutating, f"runs {statement.shown}")
        ]

    def explain(self, rest: str) -> list[Finding]:
        """EXPLAIN ANALYZE runs the statement it explains; EXPLAIN alone does not."""
        options = _EXPLAIN_OPTIONS.match(rest)
        if options is None or not re.search("ANALY[SZ]E", options[0], re.I):
            return []
        explained = rest[options.end() :]
        if re.match(r"\s*EXPLAIN\b", explained, re.I):
            return [opaque("EXPLAIN of an EXPLAIN")]
        return self.read(explained)

    def do_block(self, statement: _Statement) -> list[Finding]:
        bodies = [t.text for t in statement.tokens if t.token_type in STRING_TOKENS]
        inner = [self.split(_unquoted(body)) or [] for body in bodies]
        tokens = [token for found in inner for each in found for token in each.tokens]
        return read_tokens(statement.tokens + tokens) or [
            Finding(Effect.mutating, "runs a procedural block (DO)")
        ]


def _pieces(sql: str) -> Iterator[str]:
    start = 0
    for cut in _CUT.finditer(sql):
        yield sql[start : cut.end()]
        start = cut.end()
    yield sql[start:]


def _statements(sql: str, tokens: list[Token], dialect: str | None) -> list[_Statement]:
    chunks: list[list[Token]] = [[]]
    for token in tokens:
        if token.token_type == TokenType.SEMICOLON:
            chunks.append([])
        else:
            chunks[-1].append(token)
    return [_Statement(sql, chunk, dialect) for chunk in chunks if chunk]


def _parse(statement: _Statement, dialect: str | None) -> list[exp.Expr | None]:
    """Parsed from the statement's tokens when `dialect` made them, else from its text.

    `error_message_context=0` keeps the statement's text (it may hold a password) out of the
    warning sqlglot logs when it falls back to a Command.
    """
    parsing = Dialect.get_or_raise(dialect)
    if dialect == statement.dialect:
        parser = parsing.parser(error_message_context=0)
        return parser.parse(statement.tokens, statement.source)
    return parsing.parse(statement.text, error_message_context=0)


def _unquoted(body: str) -> str:
    dollar = _DOLLAR_QUOTED.match(body)
    return dollar[2] if dollar else body


def _unparsed(statement: _Statement) -> list[Finding]:
    """A statement no dialect parses, read from its tokens: what destroys, what stops the
    server, or a statement that only shows things; anything else cannot be read."""
    found = read_tokens(statement.tokens)
    if found:
        return found
    if statement.first_word in _SHOWING_WORDS and not _analyzes(statement):
        return []
    return [_stopping(statement) or NOT_PARSED]


def _analyzes(statement: _Statement) -> bool:
    """`DESCRIBE ANALYZE ...` (mysql's EXPLAIN ANALYZE) runs what it describes."""
    return any(token.text.upper() in ("ANALYZE", "ANALYSE") for token in statement.tokens)


class _CommandFallback(logging.Filter):
    """Drops sqlglot's warning that a statement it cannot parse is kept as a Command. Reading
    expects that (such statements are read from their tokens), so the warning says nothing
    to whoever reads the logs, and an agent's request could fill them with it."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "Falling back to parsing as a 'Command'" not in record.getMessage()


_FALLBACK_FILTER = _CommandFallback()


def _quiet_sqlglot() -> None:
    """Filters sqlglot's logger, on first use rather than at import; a logger given a filter it
    already has keeps just the one."""
    logging.getLogger("sqlglot").addFilter(_FALLBACK_FILTER)


def _stopping(statement: _Statement) -> Finding | None:
    """A server command that stops work or throws history away (mysql's KILL, PURGE ...)."""
    word, head = statement.first_word, statement.shown
    if word == "RESET" and statement.rest.upper().startswith(_REPLICATION):
        return Finding(Effect.destructive, f"resets replication: {head}")
    if word in _STOPPING_WORDS:
        return Finding(Effect.destructive, f"{_STOPPING_WORDS[word]}: {head}")
    return None
