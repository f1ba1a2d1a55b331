"""Inline JavaScript for node (`node -e CODE`, `deno eval CODE`), read with tree-sitter.

As for Python: harmless only when every call is a known read, names are followed through
`require` and `import` (`const {rmSync} = require('fs')` is still `fs.rmSync`), and a known
name that is also assigned makes the code unreadable. Node's built-in modules are globals
under `node -e`, so a bare `fs` is the `fs` module.
"""

from __future__ import annotations

from collections.abc import Callable

from tree_sitter import Node

from bot.reading.code import js
from bot.reading.code.node_calls import (
    BUILTINS,
    CALLS,
    DATA,
    GLOBALS,
    METHODS,
    MODULES,
    TRUSTED,
    UNSAFE_VALUES,
)
from bot.reading.code.rules import ShellReader, Site, cannot, read_each, shorten
from bot.reading.findings import Budget, Finding

LANGUAGE = "node"


def read_node(code: str, budget: Budget, read_shell: ShellReader) -> list[Finding]:
    """What inline node code does; no finding when it only reads."""
    root = js.parse(code)
    if root is None:
        return [cannot(LANGUAGE, "does not parse")]
    nodes = js.nodes(root, budget)
    scope = _Scope.of(nodes, budget)
    reader = _Reader(scope, read_shell, nodes)
    return read_each(LANGUAGE, scope.problems, nodes, reader.read, budget)


# Where an identifier is declared rather than used.
_BINDERS = {
    "variable_declarator": "name",
    "formal_parameters": "",
    "arrow_function": "parameter",
    "catch_clause": "parameter",
    "for_in_statement": "left",
    "assignment_expression": "left",
    "augmented_assignment_expression": "left",
    "class_declaration": "name",
    "function_declaration": "name",
    "generator_function_declaration": "name",
    "function_expression": "name",
    "import_clause": "",
}
_NAMES = {"identifier", "shorthand_property_identifier_pattern"}


class _Scope:
    """What the names in the code stand for."""

    def __init__(self, budget: Budget) -> None:
        self.budget = budget
        self.bindings: dict[str, str] = {name: name for name in GLOBALS.split()}
        self.bindings |= {"globalThis": "globalThis", "global": "globalThis"}
        self.modules: set[str] = set(MODULES.split())
        self.defs: set[str] = set()
        self.declared: set[int] = set()  # identifiers that declare a name
        self.problems: list[str] = []

    @classmethod
    def of(cls, nodes: list[Node], budget: Budget) -> _Scope:
        scope, assigned = cls(budget), set[str]()
        for node in nodes:
            if node.type in _BINDERS:
                assigned |= scope.bind(node)
        scope.problems += [f"rebinds {name}" for name in sorted(assigned & scope.trusted())]
        return scope

    def trusted(self) -> set[str]:
        return TRUSTED | self.defs | set(self.bindings)

    def bind(self, binder: Node) -> set[str]:
        """Record what a declaring node binds; returns the names it assigns otherwise."""
        names = self.declare(binder)
        if binder.type == "import_clause":
            return self.imported(binder)
        if binder.type.endswith("declaration") and names:
            self.defs |= names
            return set()
        value = js.field(binder, "value")
        target = self.qualname(value) if value is not None else None
        if binder.type == "variable_declarator" and target is not None:
            return self.destructured(binder, target)
        return names

    def declare(self, binder: Node) -> set[str]:
        place = _BINDERS[binder.type]
        pattern = js.field(binder, place) if place else binder
        if pattern is None or pattern.type in ("member_expression", "subscript_expression"):
            return set()
        found = [node for node in js.nodes(pattern, self.budget) if node.type in _NAMES]
        self.declared |= {node.id for node in found}
        return {js.text(node) for node in found}

    def destructured(self, declarator: Node, target: str) -> set[str]:
        """`const fs = require('fs')`, `const {rmSync: rm} = require('fs')`."""
        pattern = js.field(declarator, "name")
        pairs = _destructuring(pattern) if pattern is not None else None
        if pairs is None:  # defaults, rest, nesting: the names are plain variables
            return self.declare(declarator)
        for name, member in pairs:
            self.bindings[name] = f"{target}.{member}" if member else target
        return set()

    def imported(self, clause: Node) -> set[str]:
        statement = clause.parent
        source = js.field(statement, "source") if statement is not None else None
        module = _module(js.string(source)) if source is not None else None
        if module is None:
            return set()
        for name, member in _import_names(clause, self.budget):
            self.bindings[name] = f"{module}.{member}" if member else module
        self.modules.add(module)
        return set()

    def qualname(self, node: Node) -> str | None:
        """The full name an expression stands for (`fs.rmSync`), if it names a module."""
        if node.type in ("identifier", "shorthand_property_identifier"):
            return self.bindings.get(js.text(node))
        if node.type == "call_expression":
            return self.required(node)
        owner = js.field(node, "object")
        member = js.property_name(node)
        base = self.qualname(owner) if owner is not None and member is not None else None
        if base is None:
            return None
        if base == "globalThis":  # globalThis.eval is eval
            return member
        return base if (base, member) == ("fs", "promises") else f"{base}.{member}"

    def required(self, call: Node) -> str | None:
        function = js.field(call, "function")
        if function is None or js.text(function) != "require" or "require" in self.bindings:
            return None
        args, _ = js.call_arguments(call)
        module = _module(args[0]) if len(args) == 1 and isinstance(args[0], str) else None
        if module is not None:
            self.modules.add(module)
        return module


def _module(name: object) -> str | None:
    if not isinstance(name, str):
        return None
    name = name.removeprefix("node:")
    return {"fs/promises": "fs", "path/posix": "path"}.get(name, name)


def _destructuring(pattern: Node) -> list[tuple[str, str]] | None:
    """(name, member) pairs: `fs` -> ("fs", ""), `{rmSync: rm}` -> ("rm", "rmSync"); None
    for any other pattern."""
    if pattern.type == "identifier":
        return [(js.text(pattern), "")]
    if pattern.type != "object_pattern":
        return None
    pairs = [_pair(child) for child in pattern.named_children if child.type != "comment"]
    found = [pair for pair in pairs if pair is not None]
    return found if len(found) == len(pairs) else None


def _pair(child: Node) -> tuple[str, str] | None:
    if child.type == "shorthand_property_identifier_pattern":
        return js.text(child), js.text(child)
    key, value = js.field(child, "key"), js.field(child, "value")
    if child.type != "pair_pattern" or key is None or value is None:
        return None
    return (js.text(value), js.text(key)) if value.type == "identifier" else None


def _import_names(clause: Node, budget: Budget) -> list[tuple[str, str]]:
    """`import fs from 'fs'`, `import * as fs`, `import {rmSync as rm}`."""
    pairs = []
    for node in js.nodes(clause, budget):
        if node.parent is not None and node.parent.type in ("import_clause", "namespace_import"):
            pairs += [(js.text(node), "")] if node.type == "identifier" else []
        if node.type == "import_specifier":
            name, alias = js.field(node, "name"), js.field(node, "alias")
            member = js.text(name) if name is not None else ""
            pairs.append((js.text(alias) if alias is not None else member, member))
    return pairs


class _Reader:
    """Reads each node of one program against the tables."""

    def __init__(self, scope: _Scope, read_shell: ShellReader, nodes: list[Node]) -> None:
        self.scope, self.read_shell = scope, read_shell
        # Parts of a longer name (the `fs` of `fs.rmSync`) and the functions of calls are
        # read with the name or the call they belong to.
        self.inner = {part.id for node in nodes for part in _parts(node)}

    def read(self, node: Node) -> list[Finding]:
        if node.type in ("call_expression", "new_expression"):
            return self.call(node)
        if node.id in self.inner or node.id in self.scope.declared:
            return []
        if node.type in ("member_expression", "subscript_expression"):
            return self.member(node)
        if node.type in ("identifier", "shorthand_property_identifier"):
            return self.name(js.text(node))
        return []

    def call(self, node: Node) -> list[Finding]:
        function = js.field(node, "function" if node.type == "call_expression" else "constructor")
        if function is None:
            return [cannot(LANGUAGE, "calls a function chosen at run time")]
        qual = self.scope.qualname(function)
        if qual is not None:
            return self.qualified(qual, node)
        if function.type == "identifier":
            return self.builtin(node, js.text(function))
        name = js.property_name(function)
        if name is None:
            return [cannot(LANGUAGE, f"calls a function chosen at run time ({_shown(node)})")]
        rule = METHODS.find(name)
        return (
            rule(self.site(node, name)) if rule else [cannot(LANGUAGE, f"calls {_shown(function)}")]
        )

    def qualified(self, qual: str, node: Node) -> list[Finding]:
        rule = CALLS.find(qual)
        return rule(self.site(node, qual)) if rule else [cannot(LANGUAGE, f"calls {qual}")]

    def builtin(self, node: Node, name: str) -> list[Finding]:
        if name in self.scope.defs:
            return []
        if name == "require":  # loading a module by its literal name reads, as Python's import
            if self.scope.required(node) is not None:
                return []
            return [cannot(LANGUAGE, "calls require with a name built at run time")]
        rule = BUILTINS.find(name)
        return rule(self.site(node, name)) if rule else [cannot(LANGUAGE, f"calls {name}")]

    def member(self, node: Node) -> list[Finding]:
        qual = self.scope.qualname(node)
        if qual is not None:
            return self.value(qual, node)
        owner, name = js.field(node, "object"), js.property_name(node)
        base = self.scope.qualname(owner) if owner is not None else None
        if name is None and base is not None:
            return self.computed(base, node)
        rule = METHODS.find(name) if name is not None else None
        return rule(self.bare(name or "", node)) if rule else []

    def computed(self, base: str, node: Node) -> list[Finding]:
        # process.argv[2] reads; fs[name] or process[name] could be anything.
        rule = CALLS.find(base)
        if rule is None:
            return [cannot(LANGUAGE, f"looks up a property of {base} chosen at run time")]
        return rule(self.bare(base, node))

    def name(self, name: str) -> list[Finding]:
        if name in UNSAFE_VALUES and name not in self.scope.defs:
            return [cannot(LANGUAGE, f"uses {name} as a value")]
        qual = self.scope.bindings.get(name)
        return self.value(qual, None) if qual is not None else []

    def value(self, qual: str, node: Node | None) -> list[Finding]:
        """A name used as a value, not called here: harmless only when it is data."""
        if qual in self.scope.modules or qual.rpartition(".")[2] in DATA:
            return []
        rule = CALLS.find(qual)
        if rule is None:
            return [cannot(LANGUAGE, f"uses {qual}")]
        return rule(self.bare(qual, node))

    def site(self, node: Node, name: str) -> Site:
        args, complete = js.call_arguments(node)
        return Site(LANGUAGE, name, _source(node), self.read_shell, args=args, complete=complete)

    def bare(self, name: str, node: Node | None) -> Site:
        source = _source(node) if node is not None else (lambda: name)
        return Site(LANGUAGE, name, source, self.read_shell)


_PARTS = {
    "call_expression": "function",
    "new_expression": "constructor",
    "member_expression": "object",
    "subscript_expression": "object",
}


def _parts(node: Node) -> list[Node]:
    place = _PARTS.get(node.type)
    part = js.field(node, place) if place else None
    return [part] if part is not None else []


def _source(node: Node) -> Callable[[], str]:
    return lambda: js.text(node)


def _shown(node: Node) -> str:
    return shorten(js.text(node))
