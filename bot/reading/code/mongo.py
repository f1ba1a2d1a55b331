"""Mongo shell code (`mongosh --eval CODE`), read with tree-sitter's JavaScript parser.

Each call is read by what it is called on: the database (`db`, `db.getSiblingDB('shop')`),
a collection (`db.orders`, `db.getCollection('orders')`), a cursor (`find()`'s result),
`rs` or `sh`. A method the tables do not know makes the code unreadable. Shell commands
written on a line of their own (`show dbs`, `use shop`) read.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from tree_sitter import Node

from bot.reading.code import js
from bot.reading.code.rules import ShellReader, cannot, shorten, unique
from bot.reading.findings import Budget, Effect, Finding

LANGUAGE = "mongo"
_D, _M = Effect.destructive, Effect.mutating
_SHELL_LINE = re.compile(r"^\s*(show\s+\w+|use\s+[\w.-]+|it|exit|quit)\s*;?\s*$", re.MULTILINE)
_WRITES_OUT = re.compile(r"\$(out|merge)\b")
_LITERALS = {"object", "array"}


def read_mongo(code: str, budget: Budget, read_shell: ShellReader) -> list[Finding]:
    """What mongo shell code does; no finding when it only reads."""
    script = _SHELL_LINE.sub("", code)
    if not script.strip():
        return []
    root = js.parse(script)
    if root is None:
        return [cannot(LANGUAGE, "does not parse")]
    reader = _Reader()
    findings = []
    for node in js.nodes(root, budget):
        budget.check()
        findings.extend(reader.read(node))
    return unique(findings)


@dataclass(frozen=True)
class _Target:
    """What a method is called on, and how reasons name it."""

    kind: str  # database, collection, cursor, rs, sh, builtin, value
    name: str  # "orders", "database shop", "the current database"


@dataclass(frozen=True)
class _Call:
    target: _Target
    args: list[Node]
    node: Node

    @property
    def shown(self) -> str:
        return shorten(js.text(self.node))

    def finding(self, effect: Effect, words: str) -> Finding:
        return Finding(effect, f"{words.format(self.target.name)} ({self.shown})")


_Rule = Callable[[_Call], list[Finding]]


def _reads(call: _Call) -> list[Finding]:
    return []


def _does(effect: Effect, words: str) -> _Rule:
    """A rule whose reason names the target where `words` has `{}`."""

    def rule(call: _Call) -> list[Finding]:
        return [call.finding(effect, words)]

    return rule


def _filter(call: _Call) -> str:
    """Whether the first argument filters: "everything" ({} or none), "some", or "unknown"."""
    first = call.args[0] if call.args else None
    if first is None or (first.type == "object" and not first.named_children):
        return "everything"
    return "some" if first.type == "object" else "unknown"


_DELETES = {
    "everything": (_D, "deletes every document of {}"),
    "some": (_D, "deletes documents of {}"),
    "unknown": (_D, "deletes documents of {} chosen at run time"),
}
_UPDATES = {
    "everything": (_D, "updates every document of {}"),
    "some": (_M, "updates documents of {}"),
    "unknown": (_D, "updates documents of {} chosen at run time, perhaps all"),
}


def _delete(call: _Call) -> list[Finding]:
    return [call.finding(*_DELETES[_filter(call)])]


def _update(call: _Call) -> list[Finding]:
    return [call.finding(*_UPDATES[_filter(call)])]


def _aggregate(call: _Call) -> list[Finding]:
    if any(arg.type not in _LITERALS for arg in call.args):
        return [cannot(LANGUAGE, f"runs a pipeline built at run time ({call.shown})")]
    if any(_WRITES_OUT.search(js.text(arg)) for arg in call.args):
        return [call.finding(_M, "writes aggregation results into a collection")]
    return []


def _bulk(call: _Call) -> list[Finding]:
    if any("delete" in js.text(arg).lower() for arg in call.args):
        return [call.finding(_D, "deletes documents of {} in a bulk write")]
    return [call.finding(_M, "writes documents of {} in a bulk write")]


def _rename(call: _Call) -> list[Finding]:
    # renameCollection(target, dropTarget): with dropTarget the old target is dropped.
    if len(call.args) > 1 and js.text(call.args[1]) != "false":
        return [call.finding(_D, "renames collection {} over another, dropping it")]
    return [call.finding(_M, "renames collection {}")]


def _command(call: _Call) -> list[Finding]:
    """runCommand / adminCommand: read by the command document's first key."""
    name = _command_name(call.args[0]) if call.args else None
    if name is None:
        return [cannot(LANGUAGE, f"runs a command built at run time ({call.shown})")]
    if name == "aggregate":
        return _aggregate(call)
    if name not in _COMMANDS:
        return [cannot(LANGUAGE, f"runs command {name}")]
    effect = _COMMANDS[name]
    return [] if effect is None else [call.finding(*effect)]


def _command_name(document: Node) -> str | None:
    if document.type != "object":
        return js.string(document)
    first = next((child for child in document.named_children if child.type == "pair"), None)
    key = js.field(first, "key") if first is not None else None
    if key is None:
        return None
    return js.string(key) if key.type == "string" else js.text(key)


def _words(names: str) -> set[str]:
    return set(names.split())


def _each(names: str, rule: _Rule) -> dict[str, _Rule]:
    return dict.fromkeys(names.split(), rule)


_COMMAND_READS = (
    "ping buildInfo buildinfo serverStatus listDatabases listCollections listIndexes dbStats "
    "collStats hello isMaster ismaster hostInfo connectionStatus currentOp getCmdLineOpts getLog "
    "replSetGetStatus top whatsmyuri count find distinct getParameter usersInfo rolesInfo"
)
_COMMANDS: dict[str, tuple[Effect, str] | None] = {
    **dict.fromkeys(_COMMAND_READS.split()),
    "shutdown": (_D, "shuts down the server"),
    "drop": (_D, "drops a collection"),
    "dropDatabase": (_D, "drops a database"),
    "delete": (_D, "deletes documents"),
    "dropIndexes": (_D, "drops indexes"),
    "dropUser": (_D, "drops a user"),
    "dropAllUsersFromDatabase": (_D, "drops every user of a database"),
    "createUser": (_D, "creates a user, which grants access"),
    "grantRolesToUser": (_D, "grants roles to a user"),
    "replSetStepDown": (_D, "steps the primary down"),
    "killOp": (_D, "kills an operation"),
    "insert": (_M, "inserts documents"),
    "update": (_M, "updates documents"),
    "findAndModify": (_M, "updates documents"),
    "create": (_M, "creates a collection"),
    "createIndexes": (_M, "creates indexes"),
    "renameCollection": (_M, "renames a collection"),
    "collMod": (_M, "changes a collection"),
    "setParameter": (_M, "changes a server parameter"),
    "replSetReconfig": (_M, "changes the replica set"),
}

_DATABASE_READS = (
    "getCollectionNames getCollectionInfos stats serverStatus version hello isMaster getName "
    "getUsers getUser getRoles getRole currentOp getProfilingStatus getProfilingLevel "
    "printCollectionStats listCommands getMongo getSiblingDB getCollection getReplicationInfo "
    "printReplicationInfo hostInfo serverBuildInfo serverCmdLineOpts getLogComponents "
    "getDBNames getDB"
)
DATABASE = {
    **_each(_DATABASE_READS, _reads),
    "aggregate": _aggregate,
    **_each("runCommand adminCommand", _command),
    "dropDatabase": _does(_D, "drops {}"),
    "dropUser": _does(_D, "drops a user of {}"),
    "dropAllUsers": _does(_D, "drops every user of {}"),
    **_each("dropRole dropAllRoles", _does(_D, "drops roles of {}")),
    "shutdownServer": _does(_D, "shuts down the server"),
    "killOp": _does(_D, "kills an operation"),
    "fsyncLock": _does(_D, "stops writes to the server"),
    **_each("createUser grantRolesToUser grantPrivilegesToRole", _does(_D, "grants access")),
    **_each("changeUserPassword updateUser revokeRolesFromUser", _does(_D, "changes a user")),
    **_each("createCollection createView", _does(_M, "creates a collection in {}")),
    **_each("setProfilingLevel fsyncUnlock", _does(_M, "changes a server setting")),
}

_COLLECTION_READS = (
    "find findOne count countDocuments estimatedDocumentCount distinct getIndexes "
    "getIndexKeys getIndexSpecs stats dataSize storageSize totalSize totalIndexSize explain "
    "exists getName getFullName latencyStats watch isCapped getShardDistribution"
)
COLLECTION = {
    **_each(_COLLECTION_READS, _reads),
    "aggregate": _aggregate,
    "drop": _does(_D, "drops collection {}"),
    **_each("deleteMany remove", _delete),
    **_each("deleteOne findOneAndDelete", _does(_D, "deletes a document of {}")),
    **_each("updateMany update", _update),
    **_each("dropIndex dropIndexes", _does(_D, "drops indexes of {}")),
    "renameCollection": _rename,
    "bulkWrite": _bulk,
    **_each("insertOne insertMany insert save", _does(_M, "inserts documents into {}")),
    **_each(
        "updateOne replaceOne findOneAndUpdate findOneAndReplace",
        (_does(_M, "updates a document of {}")),
    ),
    **_each(
        "createIndex createIndexes ensureIndex hideIndex unhideIndex",
        (_does(_M, "changes the indexes of {}")),
    ),
}

_CURSOR_READS = (
    "toArray limit skip sort pretty forEach map count itcount size next hasNext explain "
    "projection batchSize hint maxTimeMS readPref collation comment allowDiskUse min max "
    "returnKey showRecordId close tryNext isExhausted objsLeftInBatch noCursorTimeout "
    "filter join length includes keys values entries slice"
)
CURSOR = _each(_CURSOR_READS, _reads)

REPLICA_SET = {
    **_each("status conf config isMaster hello printReplicationInfo help", _reads),
    **_each("printSecondaryReplicationInfo printSlaveReplicationInfo", _reads),
    "stepDown": _does(_D, "steps the primary down"),
    "remove": _does(_D, "removes a member from the replica set"),
    **_each("add addArb reconfig initiate freeze syncFrom", _does(_M, "changes the replica set")),
}
SHARDING = _each("status help getBalancerState isBalancerRunning", _reads)

# Methods by what they are called on; a value of unknown kind is read as any of them.
_TABLES: dict[str, list[dict[str, _Rule]]] = {
    "database": [DATABASE],
    "collection": [COLLECTION],
    "cursor": [CURSOR],
    "rs": [REPLICA_SET],
    "sh": [SHARDING],
    "value": [COLLECTION, DATABASE, CURSOR],
}
_GLOBAL_FUNCTIONS = _words(
    "print printjson printjsononeline tojson ObjectId ISODate Date NumberLong NumberInt "
    "NumberDecimal UUID Timestamp BinData MinKey MaxKey sleep version quit exit"
)
_SHELL_OBJECTS = {
    "db": _Target("database", "the current database"),
    "rs": _Target("rs", "rs"),
    "sh": _Target("sh", "sh"),
}
_BUILTIN_OBJECTS = _words("JSON EJSON Math console Object Array String Number")
_CURSORS = _words("find aggregate getIndexes getCollectionNames getCollectionInfos")
_DEPTH = 64  # how far a receiver chain is followed; longer is read as a value


class _Reader:
    """Reads each call against the table for what it is called on."""

    def __init__(self) -> None:
        self.names: dict[str, _Target] = {}

    def read(self, node: Node) -> list[Finding]:
        if node.type == "variable_declarator":
            self.declare(node)
        if node.type == "new_expression":
            return self.construct(node)
        if node.type != "call_expression":
            return []
        function = js.field(node, "function")
        if function is not None and function.type == "identifier":
            return self.global_call(js.text(function))
        method = js.property_name(function) if function is not None else None
        receiver = js.field(function, "object") if function is not None else None
        if method is None or receiver is None:
            return [cannot(LANGUAGE, f"calls a function chosen at run time ({_shown(node)})")]
        return self.method(node, self.target(receiver, 0), method)

    def declare(self, declarator: Node) -> None:
        name, value = js.field(declarator, "name"), js.field(declarator, "value")
        if name is not None and name.type == "identifier" and value is not None:
            self.names[js.text(name)] = self.target(value, 0)

    def construct(self, node: Node) -> list[Finding]:
        constructor = js.field(node, "constructor")
        if constructor is not None and js.text(constructor) in _GLOBAL_FUNCTIONS:
            return []
        return [cannot(LANGUAGE, f"constructs {_shown(node)}")]

    def global_call(self, name: str) -> list[Finding]:
        return [] if name in _GLOBAL_FUNCTIONS else [cannot(LANGUAGE, f"calls {name}")]

    def method(self, node: Node, target: _Target, method: str) -> list[Finding]:
        if target.kind == "builtin":
            return []
        tables = _TABLES.get(target.kind, [])
        rule = next((table[method] for table in tables if method in table), None)
        if rule is None:
            return [cannot(LANGUAGE, f"calls {method} on {target.name}")]
        given = js.field(node, "arguments")
        return rule(_Call(target, js.arguments_of(given) if given is not None else [], node))

    def target(self, node: Node, depth: int) -> _Target:
        """What an expression is, for the methods called on it."""
        if depth > _DEPTH:
            return _Target("value", _shown(node))
        if node.type == "identifier":
            return self.named(js.text(node))
        if node.type in ("member_expression", "subscript_expression"):
            return self.member(node, depth)
        if node.type == "call_expression":
            return self.result(node, depth)
        return _Target("value", _shown(node))

    def named(self, name: str) -> _Target:
        if name in _BUILTIN_OBJECTS:
            return _Target("builtin", name)
        return self.names.get(name) or _SHELL_OBJECTS.get(name) or _Target("value", name)

    def member(self, node: Node, depth: int) -> _Target:
        owner, name = js.field(node, "object"), js.property_name(node)
        base = self.target(owner, depth + 1) if owner is not None else _Target("value", "")
        label = name if name is not None else _shown(node)
        if base.kind == "database":
            return _Target("collection", label)
        if base.kind == "collection":  # db.system.users is the collection system.users
            return _Target("collection", f"{base.name}.{label}")
        return _Target("value", _shown(node))

    def result(self, call: Node, depth: int) -> _Target:
        """What a call returns: getSiblingDB a database, getCollection a collection."""
        function = js.field(call, "function")
        owner = js.field(function, "object") if function is not None else None
        method = js.property_name(function) if function is not None else None
        if owner is None or method is None:
            return _Target("value", _shown(call))
        base = self.target(owner, depth + 1)
        given = js.field(call, "arguments")
        args = js.arguments_of(given) if given is not None else []
        named = js.string(args[0]) if args else None
        return _returned(base, method, named, _shown(call))


def _returned(base: _Target, method: str, named: str | None, shown: str) -> _Target:
    if method in ("getSiblingDB", "getDB"):
        return _Target("database", f"database {named}" if named else f"database {shown}")
    if method == "getCollection" and base.kind == "database":
        return _Target("collection", named or shown)
    if method in _CURSORS or base.kind == "cursor":
        return _Target("cursor", shown)
    return _Target("value", shown)


def _shown(node: Node) -> str:
    return shorten(js.text(node), 60)
