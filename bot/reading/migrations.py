"""Migration code: what Alembic, Django, Rails, knex, Sequelize, TypeORM, Liquibase and Ecto
migrations destroy, told by the shape of the library calls that do it.

These are a few call shapes of known libraries, so patterns over the code are enough. The SQL
some of the calls carry (`op.execute`, `RunSQL`, `execute`, `raw`, `query`, `<sql>`) is read as
SQL.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from itertools import islice

from bot.reading.findings import Budget, Effect, Finding
from bot.reading.sql import read_sql


def _quoted(group: str) -> str:
    return rf"""['"](?P<{group}>[\w.]+)['"]"""


def _symbol(group: str) -> str:
    """A Ruby or Elixir name: `:orders`, `"orders"` or `'orders'`."""
    return rf"""(?::|['"])(?P<{group}>\w+)['"]?"""


# Each shape, and what a migration that has it destroys.
_DROPS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(shape, re.M), what)
    for shape, what in (
        # Alembic
        (rf"\bop\.drop_table\(\s*{_quoted('table')}", "drops table {table}"),
        (
            rf"\bop\.drop_column\(\s*{_quoted('table')}\s*,\s*{_quoted('column')}",
            "drops column {table}.{column}",
        ),
        (rf"\bbatch_op\.drop_column\(\s*{_quoted('column')}", "drops column {column}"),
        (
            rf"\b(?:batch_)?op\.drop_index\(\s*(?:op\.f\(\s*)?{_quoted('name')}",
            "drops index {name}",
        ),
        (
            rf"\b(?:batch_)?op\.drop_constraint\(\s*(?:op\.f\(\s*)?{_quoted('name')}",
            "drops constraint {name}",
        ),
        # Django
        (
            rf"\bmigrations\.DeleteModel\(\s*(?:name\s*=\s*)?{_quoted('model')}",
            "deletes model {model} and its table",
        ),
        (
            rf"\bmigrations\.RemoveField\(\s*(?:model_name\s*=\s*)?{_quoted('model')}\s*,"
            rf"\s*(?:name\s*=\s*)?{_quoted('field')}",
            "drops column {model}.{field}",
        ),
        (
            rf"\bmigrations\.Remove(?:Index|Constraint)\(\s*(?:model_name\s*=\s*)?"
            rf"{_quoted('model')}\s*,\s*(?:name\s*=\s*)?{_quoted('name')}",
            "drops index or constraint {name} on {model}",
        ),
        # Rails
        (rf"\bdrop_table\s*\(?\s*{_symbol('table')}", "drops table {table}"),
        (
            rf"\bremove_columns?\s*\(?\s*{_symbol('table')}\s*,\s*{_symbol('column')}",
            "drops column {table}.{column}",
        ),
        (
            rf"\bremove_(?:reference|belongs_to)\s*\(?\s*{_symbol('table')}\s*,\s*"
            rf"{_symbol('column')}",
            "drops reference {table}.{column}",
        ),
        (rf"\bremove_index\s*\(?\s*{_symbol('table')}", "drops an index on {table}"),
        (rf"\bremove_foreign_key\s*\(?\s*{_symbol('table')}", "drops a foreign key on {table}"),
        (
            rf"\bdrop_join_table\s*\(?\s*{_symbol('one')}\s*,\s*{_symbol('other')}",
            "drops the join table of {one} and {other}",
        ),
        (rf"\bt\.remove\s+{_symbol('column')}", "drops column {column}"),
        # knex, Sequelize, TypeORM
        (rf"\.dropTable(?:IfExists)?\(\s*{_quoted('table')}", "drops table {table}"),
        (
            rf"\.(?:dropColumn|removeColumn)\(\s*{_quoted('table')}\s*,\s*{_quoted('column')}",
            "drops column {table}.{column}",
        ),
        (rf"\.dropColumns?\(\s*{_quoted('column')}", "drops column {column}"),
        (r"\.dropAllTables\(", "drops every table"),
        (
            r"\.(?P<call>dropForeign|dropForeignKey|dropIndex|dropPrimary|dropUnique|"
            r"removeIndex|removeConstraint)\(",
            "drops an index or key ({call})",
        ),
        (
            rf"\.bulkDelete\(\s*{_quoted('table')}\s*,\s*(?:null|undefined|\{{\s*\}})\s*[,)]",
            "deletes every row of {table}",
        ),
        # Ecto
        (rf"\bdrop(?:_if_exists)?\s*\(?\s*table\(\s*{_symbol('table')}", "drops table {table}"),
        (
            rf"\bdrop(?:_if_exists)?\s*\(?\s*(?:unique_)?(?:index|constraint)\(\s*"
            rf"{_symbol('table')}\s*,\s*{_symbol('name')}",
            "drops index or constraint {name} on {table}",
        ),
        (rf"^[ \t]*remove(?:_if_exists)?\s+{_symbol('column')}", "drops column {column}"),
    )
)

# Liquibase changes, in XML (`<dropTable tableName="x"/>`), YAML or JSON: the change's name,
# then its attributes within the next few lines.
_LIQUIBASE = re.compile(
    r"(?<![.\w])(?P<change>dropTable|dropColumn|dropView|dropIndex|dropSequence|"
    r"dropForeignKeyConstraint)\b(?!\s*\()"
)
_LIQUIBASE_WINDOW = 400
_MOST_NAMED = 50  # drops named from one file; a migration that has more destroys no less
_LIQUIBASE_KINDS = {
    "dropView": ("view", "viewName"),
    "dropIndex": ("index", "indexName"),
    "dropSequence": ("sequence", "sequenceName"),
    "dropForeignKeyConstraint": ("foreign key", "constraintName"),
}

# A rollback's definition (Python's, Ruby's and Elixir's `def down`, knex's `exports.down =`,
# a JS or TS `down(...) {` or `down:`, Liquibase YAML's `rollback:`), then the lines indented
# deeper (or blank) that are its body.
_ROLLBACK_BLOCK = re.compile(
    r"^(?P<indent>[ \t]*)(?:def[ \t]+(?:downgrade|down)\b|(?:module\.)?exports\.down[ \t]*=|"
    r"(?:(?:public|private|protected|static|async)[ \t]+)*down[ \t]*(?:\([^)\n]*\)[^\n{]*\{|:)|"
    r"-?[ \t]*rollback:)[^\n]*\n(?:(?P=indent)[ \t]+[^\n]*\n|[ \t]*\n)*",
    re.M,
)

_STRING = r"""[rRbBuUfF]{0,2}(?P<quote>\"\"\"|'''|"|'|`)(?P<sql>.*?)(?<!\\)(?P=quote)"""
_SQL_CALL = re.compile(
    rf"(?:\bexecute|\bRunSQL|\.raw|\.query)\s*\(?\s*(?:sql\s*=\s*)?\[?\s*"
    rf"(?:(?:sa\.)?text\(\s*)?{_STRING}",
    re.S,
)
_SQL_LINE = re.compile(
    r"^[ \t]*-?[ \t]*sql:[ \t]*(?![|>])['\"]?(?P<sql>[^\n]+?)['\"]?[ \t]*$", re.M
)
_CALLS_ROLLBACK = re.compile(r"\b(?:downgrade|down|rollback)\s*\(")
_HEREDOC = re.compile(r"\bexecute\s*\(?\s*<<[~-]?(['\"]?)(?P<tag>\w+)\1")
_CDATA = re.compile(r"^\s*<!\[CDATA\[|\]\]>\s*$")


def read_migration(code: str, budget: Budget) -> list[Finding]:
    """What migration code destroys, and what the SQL it runs does. Findings are not placed.

    A migration's rollback (`downgrade()`, `def down`, `exports.down`, `<rollback>`) runs only
    when it is undone, so what it drops is not read.
    """
    code = _without_rollback(code)
    found = [Finding(Effect.destructive, f"migration {what}") for what in _destroyed(code)]
    for sql in _sql_strings(code):
        budget.check()
        found.extend(read_sql(sql, None, budget))
    return list(dict.fromkeys(found))


def _without_rollback(code: str) -> str:
    """The code less its rollback, unless what is left calls the rollback (then it runs)."""
    left = _ROLLBACK_BLOCK.sub("", _without_tagged(code, "rollback") + "\n")
    return code if _CALLS_ROLLBACK.search(left) else left


def _destroyed(code: str) -> list[str]:
    """What the drop calls in `code` name, the first few; shapes that match at one place (a
    knex `dropColumn('users', 'email')` is also a one-argument `dropColumn`) count once."""
    named: dict[int, str] = {}
    for shape, what in _DROPS:
        for call in shape.finditer(code):
            named.setdefault(call.start(), what.format(**call.groupdict()))
            if len(named) >= _MOST_NAMED:
                return list(named.values())
    return list(named.values()) + _liquibase(code)


def _liquibase(code: str) -> list[str]:
    changes = islice(_LIQUIBASE.finditer(code), _MOST_NAMED)
    return [
        _liquibase_change(change["change"], code[change.end() : change.end() + _LIQUIBASE_WINDOW])
        for change in changes
    ]


def _liquibase_change(change: str, window: str) -> str:
    table = _attribute("tableName", window)
    if change == "dropTable":
        return f"drops table {table}"
    if change == "dropColumn":
        return f"drops column {table}.{_attribute('columnName', window)}"
    kind, key = _LIQUIBASE_KINDS[change]
    return f"drops {kind} {_attribute(key, window)}"


def _attribute(key: str, window: str) -> str:
    value = re.search(rf"""\b{key}["']?\s*[:=]\s*["']?(?P<value>[\w.]+)""", window)
    return value["value"] if value else "?"


def _sql_strings(code: str) -> list[str]:
    """The SQL the migration runs: strings passed to execute() and its kin, Rails heredocs,
    Liquibase's `<sql>` and `sql:`."""
    strings = [call["sql"] for carrier in (_SQL_CALL, _SQL_LINE) for call in carrier.finditer(code)]
    tagged = [_CDATA.sub("", body) for _, _, body, _ in _tagged(code, "sql")]
    return strings + _heredocs(code) + tagged


def _heredocs(code: str) -> list[str]:
    """Bodies of `execute <<~SQL ... SQL`, read a line at a time."""
    lines, bodies, at = code.split("\n"), [], 0
    while at < len(lines):
        start = _HEREDOC.search(lines[at])
        at += 1
        if start:
            ends = (end for end in range(at, len(lines)) if lines[end].strip() == start["tag"])
            end = next(ends, len(lines))
            bodies.append("\n".join(lines[at:end]))
            at = end + 1
    return bodies


def _tagged(code: str, tag: str) -> Iterator[tuple[int, int, str, bool]]:
    """(start, end, body, closed) of each `<tag ...>body</tag>`; one left open runs to the end."""
    opening, closing, at = re.compile(rf"<{tag}\b[^>]{{0,400}}>"), f"</{tag}>", 0
    while (start := opening.search(code, at)) is not None:
        end = code.find(closing, start.end())
        if end == -1:
            yield start.start(), len(code), code[start.end() :], False
            return
        yield start.start(), end + len(closing), code[start.end() : end], True
        at = end + len(closing)


def _without_tagged(code: str, tag: str) -> str:
    """The code less each closed `<tag>...</tag>` (an open one may hide what follows it)."""
    kept, at = [], 0
    for start, end, _, closed in _tagged(code, tag):
        if closed:
            kept.append(code[at:start])
            at = end
    return "".join(kept) + code[at:]
