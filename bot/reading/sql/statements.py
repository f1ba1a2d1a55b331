"""What a parsed SQL statement does, read from sqlglot's tree: the statement's own kind, then
its parts (a DELETE inside a WITH, the functions it calls, the tables it reads).
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import islice

from sqlglot import exp
from sqlglot.optimizer.simplify import simplify

from bot.reading.findings import Effect, Finding, opaque

# Kinds that only read, or only steer a transaction; their parts are still read.
READ_ONLY = (
    exp.Analyze,
    exp.Commit,
    exp.Rollback,
    exp.SetOperation,
    exp.Show,
    exp.Subquery,
    exp.Transaction,
    exp.Use,
    exp.Values,
)

_FUNCTIONS: dict[str, tuple[Effect, str]] = {
    "dblink_exec": (Effect.destructive, "runs SQL on another database"),
    "lo_unlink": (Effect.destructive, "deletes a large object"),
    "pg_cancel_backend": (Effect.destructive, "cancels other sessions' queries"),
    "pg_drop_replication_slot": (Effect.destructive, "drops a replication slot"),
    "pg_promote": (Effect.destructive, "promotes a standby server"),
    "pg_terminate_backend": (Effect.destructive, "ends other sessions"),
    "lo_export": (Effect.mutating, "writes a file on the database server"),
    "lo_import": (Effect.mutating, "reads a server file into the database"),
    "pg_file_write": (Effect.mutating, "writes a file on the database server"),
    "pg_reload_conf": (Effect.mutating, "reloads the server's configuration"),
    "set_config": (Effect.mutating, "changes a setting"),
    "load_file": (Effect.sensitive, "reads a file on the database server"),
    "pg_ls_dir": (Effect.sensitive, "lists a directory on the database server"),
    "pg_read_binary_file": (Effect.sensitive, "reads a file on the database server"),
    "pg_read_file": (Effect.sensitive, "reads a file on the database server"),
}
_CREDENTIAL_TABLES = frozenset(
    {"pg_authid", "pg_shadow", "pg_user_mapping", "pg_user_mappings", "mysql.user"}
)
_SIMPLIFIED = 64  # nodes of a condition simplify() is given
_NESTED_CHANGES = (exp.Delete, exp.Insert, exp.Merge, exp.Update)


def read_statement(tree: exp.Expr) -> list[Finding] | None:
    """What the statement does, or None for a kind read here only as words (a Command)."""
    reader = _READERS.get(type(tree))
    if reader is not None:
        return reader(tree) + read_parts(tree)
    if isinstance(tree, READ_ONLY):
        return read_parts(tree)
    return None


def read_parts(tree: exp.Expr) -> list[Finding]:
    """What the parts of a statement do: changes in a WITH, functions called, tables read."""
    found: list[Finding] = []
    for node in tree.walk():
        if isinstance(node, _NESTED_CHANGES) and node is not tree:
            found.extend(_READERS[type(node)](node))
        elif isinstance(node, exp.Table):
            found.extend(_credentials(node))
        elif isinstance(node, exp.Func):
            found.extend(_function(node))
    return found


def shorten(text: str, limit: int = 60) -> str:
    """Text for a reason: whitespace collapsed, cut to `limit` characters."""
    words = " ".join(text.split())
    return words if len(words) <= limit else words[: limit - 1] + "…"


def drops_part(table: str, kind: str, names: str) -> Finding:
    """ALTER TABLE ... DROP: `drops column users.email`, `drops constraint fk on users`."""
    if kind == "column":
        return Finding(Effect.destructive, f"drops column {table}.{names}")
    return Finding(Effect.destructive, f"drops {kind} {names} on {table}")


def _drop(tree: exp.Expr) -> list[Finding]:
    kind = str(tree.args.get("kind") or "").lower()
    names = ", ".join(table.sql() for table in tree.args.get("tables") or [tree.this])
    cascade = " cascade" if tree.args.get("cascade") else ""
    return [Finding(Effect.destructive, f"drops {kind} {names}{cascade}")]


def _truncate(tree: exp.Expr) -> list[Finding]:
    names = ", ".join(table.sql() for table in tree.expressions)
    return [Finding(Effect.destructive, f"empties table {names} (TRUNCATE)")]


def _delete(tree: exp.Expr) -> list[Finding]:
    table = _target(tree)
    if not _every_row(tree):
        return [
            Finding(Effect.mutating, f"changes data: deletes rows of {table} that match its WHERE")
        ]
    if tree.args.get("limit"):
        return [Finding(Effect.destructive, f"deletes rows of {table} with no WHERE")]
    return [Finding(Effect.destructive, f"deletes every row of {table}")]


def _update(tree: exp.Expr) -> list[Finding]:
    table = _target(tree)
    if _every_row(tree):
        return [Finding(Effect.destructive, f"updates every row of {table}")]
    return [Finding(Effect.mutating, f"changes data: updates rows of {table} that match its WHERE")]


def _every_row(tree: exp.Expr) -> bool:
    """No WHERE, or one with an OR branch that names no column and is not false
    (`WHERE 1=1`, `WHERE true`, `WHERE id = 3 OR 1 = 1`)."""
    where = tree.args.get("where")
    if where is None:
        return True
    branches = _branches(where.this)
    return any(_not_false(branch) for branch in branches if branch.find(exp.Column) is None)


def _branches(condition: exp.Expr) -> list[exp.Expr]:
    """The conditions ORed together, through parentheses: `a OR (b OR c)` is a, b and c."""
    pending, branches = [condition], []
    while pending:
        node = pending.pop().unnest()
        if isinstance(node, exp.Or):
            pending += [node.this, node.expression]
        else:
            branches.append(node)
    return branches


def _not_false(condition: exp.Expr) -> bool:
    """Whether a condition on no column may hold. simplify() is slow on a large condition,
    so one past a few nodes is taken to hold."""
    if sum(1 for _ in islice(condition.walk(), _SIMPLIFIED + 1)) > _SIMPLIFIED:
        return True
    return bool(simplify(condition.copy()) != exp.false())


def _target(tree: exp.Expr) -> str:
    target = tree.this or next(iter(tree.args.get("tables") or []), None)
    if isinstance(target, exp.Schema):
        target = target.this
    return target.sql() if isinstance(target, exp.Expr) else "a table"


def _alter(tree: exp.Expr) -> list[Finding]:
    table = tree.this.sql()
    actions = tree.args.get("actions") or []
    found = [_alter_action(table, action) for action in actions if isinstance(action, exp.Drop)]
    if len(found) < len(actions) or not actions:
        found.append(Finding(Effect.mutating, f"changes schema: ALTER {_kind(tree)} {table}"))
    return found


def _alter_action(table: str, action: exp.Expr) -> Finding:
    names = ", ".join(part.sql() for part in action.args.get("tables") or [action.this])
    return drops_part(table, _kind(action).lower(), names)


def _grant(tree: exp.Expr) -> list[Finding]:
    what, on, whom = _grant_parts(tree)
    return [Finding(Effect.destructive, f"grants {what} on {on} to {whom}")]


def _revoke(tree: exp.Expr) -> list[Finding]:
    what, on, whom = _grant_parts(tree)
    return [Finding(Effect.destructive, f"revokes {what} on {on} from {whom}")]


def _grant_parts(tree: exp.Expr) -> tuple[str, str, str]:
    what = ", ".join(part.sql() for part in tree.args.get("privileges") or [])
    securable = tree.args.get("securable")
    whom = ", ".join(part.sql() for part in tree.args.get("principals") or [])
    return what, securable.sql() if securable else "?", whom


def _insert(tree: exp.Expr) -> list[Finding]:
    if tree.args.get("overwrite"):
        return [Finding(Effect.destructive, f"overwrites table {_target(tree)}")]
    return [Finding(Effect.mutating, f"changes data: INSERT INTO {_target(tree)}")]


def _merge(tree: exp.Expr) -> list[Finding]:
    return [Finding(Effect.mutating, f"changes data: MERGE INTO {_target(tree)}")]


def _create(tree: exp.Expr) -> list[Finding]:
    kind, name = _kind(tree), _created_name(tree.this)
    if tree.args.get("replace") and kind == "TABLE":
        return [Finding(Effect.destructive, f"replaces table {name}, losing its rows")]
    return [Finding(Effect.mutating, f"changes schema: CREATE {kind} {name}")]


def _created_name(node: exp.Expr) -> str:
    while isinstance(node, exp.Schema | exp.UserDefinedFunction | exp.Index) and node.this:
        node = node.this
    return node.sql()


def _copy(tree: exp.Expr) -> list[Finding]:
    files = [file.name.upper() for file in tree.args.get("files") or []]
    table = shorten(tree.this.sql())
    if "PROGRAM" in files:
        return [opaque("a shell command run by COPY ... PROGRAM")]
    if tree.args.get("kind"):
        return [Finding(Effect.mutating, f"changes data: COPY {table} FROM a file")]
    if files in (["STDOUT"], ["PSTDOUT"]):
        return []
    return [Finding(Effect.mutating, f"writes {table} to a file on the database server")]


def _set(tree: exp.Expr) -> list[Finding]:
    """Names the settings, not their values, which may be secrets."""
    names = [item.this.this.sql() for item in tree.expressions if isinstance(item.this, exp.EQ)]
    return [Finding(Effect.mutating, f"changes settings: SET {', '.join(names) or '...'}")]


def _select(tree: exp.Expr) -> list[Finding]:
    into = tree.args.get("into")
    if into is None:
        return []
    return [Finding(Effect.mutating, f"changes data: SELECT ... INTO {into.this.sql()}")]


def _kill(tree: exp.Expr) -> list[Finding]:
    return [Finding(Effect.destructive, f"ends connection {tree.this.sql()} (KILL)")]


def _pragma(tree: exp.Expr) -> list[Finding]:
    if not isinstance(tree.this, exp.EQ):
        return []
    return [Finding(Effect.mutating, f"changes settings: PRAGMA {tree.this.this.sql()}")]


def _kind(tree: exp.Expr) -> str:
    return str(tree.args.get("kind") or "").upper()


_READERS: dict[type[exp.Expr], Callable[[exp.Expr], list[Finding]]] = {
    exp.Alter: _alter,
    exp.Copy: _copy,
    exp.Create: _create,
    exp.Delete: _delete,
    exp.Drop: _drop,
    exp.Grant: _grant,
    exp.Insert: _insert,
    exp.Kill: _kill,
    exp.Merge: _merge,
    exp.Pragma: _pragma,
    exp.Revoke: _revoke,
    exp.Select: _select,
    exp.Set: _set,
    exp.TruncateTable: _truncate,
    exp.Update: _update,
}


def _credentials(table: exp.Table) -> list[Finding]:
    names = {table.name.lower(), f"{table.db}.{table.name}".lower()}
    if names.isdisjoint(_CREDENTIAL_TABLES):
        return []
    return [Finding(Effect.sensitive, f"reads credentials: {table.sql()}")]


def _function(function: exp.Func) -> list[Finding]:
    return calls(function.name if isinstance(function, exp.Anonymous) else function.sql_name())


def calls(name: str) -> list[Finding]:
    """What calling the function `name` does, when it is one that does more than compute."""
    known = _FUNCTIONS.get(name.lower())
    if known is None:
        return []
    effect, what = known
    return [Finding(effect, f"calls {name.lower()} ({what})")]
