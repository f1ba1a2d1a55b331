"""Inline Python (`python -c CODE`), read with `ast`.

The code is harmless only when every call is a known read. Names are followed through
imports (`from shutil import rmtree as r` is still `shutil.rmtree`), and a name that is both
imported (or a builtin) and assigned makes the code unreadable, so `print = os.system` cannot
hide a shell behind `print`.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from bot.reading.code.python_calls import BUILTINS, CALLS, DATA, METHODS, PATH_TYPES, UNSAFE_VALUES
from bot.reading.code.rules import Arg, Rule, ShellReader, Site, cannot, read_each, reads, shorten
from bot.reading.findings import Budget, Finding

LANGUAGE = "python"
_Source = Callable[[], str]


def read_python(code: str, budget: Budget, read_shell: ShellReader) -> list[Finding]:
    """What inline Python does; no finding when it only reads."""
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        return [cannot(LANGUAGE, "does not parse")]
    nodes = _nodes(tree, budget)
    scope = _Scope.of(nodes)
    reader = _Reader(scope, read_shell, nodes)
    return read_each(LANGUAGE, scope.problems, nodes, reader.read, budget)


def _nodes(tree: ast.AST, budget: Budget) -> list[ast.AST]:
    nodes = []
    for node in ast.walk(tree):
        budget.check()
        nodes.append(node)
    return nodes


@dataclass
class _Scope:
    """What the names in the code stand for."""

    imports: dict[str, str] = field(default_factory=dict)  # name -> what it imports
    modules: set[str] = field(default_factory=set)  # what `import x` imports
    defs: set[str] = field(default_factory=set)  # functions and classes the code defines
    problems: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, nodes: list[ast.AST]) -> _Scope:
        scope, assigned = cls(), set[str]()
        for node in nodes:
            for kind, name, target in _bindings(node):
                scope.bind(kind, name, target, assigned)
        trusted = set(scope.imports) | scope.defs | BUILTINS.names() | {"getattr"}
        shadowed = trusted & assigned | scope.defs & (set(scope.imports) | BUILTINS.names())
        scope.problems += [f"rebinds {name}" for name in sorted(shadowed)]
        return scope

    def bind(self, kind: str, name: str, target: str, assigned: set[str]) -> None:
        if kind == "star":
            self.problems.append(f"imports everything from {target}")
        elif kind == "def":
            self.defs.add(name)
        elif kind == "assigned":
            assigned.add(name)
        elif self.imports.setdefault(name, target) != target:
            self.problems.append(f"imports two things as {name}")
        if kind == "module":
            self.modules.add(target)

    def qualname(self, node: ast.AST) -> str | None:
        """The full name an expression stands for (`shutil.rmtree`), if it names an import."""
        if isinstance(node, ast.Name):
            return self.imports.get(node.id)
        if isinstance(node, ast.Attribute):
            base = self.qualname(node.value)
            return f"{base}.{node.attr}" if base else None
        attribute = _getattr_name(node)
        if attribute and isinstance(node, ast.Call):
            base = self.qualname(node.args[0])
            return f"{base}.{attribute}" if base else None
        return None


def _bindings(node: ast.AST) -> Iterator[tuple[str, str, str]]:
    """(kind, name, what it is bound to) for each name a node binds."""
    if isinstance(node, ast.Import):
        for alias in node.names:
            root = alias.name.partition(".")[0]
            yield "module", alias.asname or root, alias.name if alias.asname else root
    elif isinstance(node, ast.ImportFrom):
        module = "." * node.level + (node.module or "")
        for alias in node.names:
            if alias.name == "*":
                yield "star", "*", module
            else:
                yield "import", alias.asname or alias.name, f"{module}.{alias.name}"
    elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        yield "def", node.name, ""
    else:
        yield from (("assigned", name, "") for name in _assigned(node))


def _assigned(node: ast.AST) -> list[str]:
    if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
        return [node.id]
    if isinstance(node, ast.arg):
        return [node.arg]
    if isinstance(node, ast.ExceptHandler | ast.MatchAs | ast.MatchStar):
        return [node.name] if node.name else []
    if isinstance(node, ast.MatchMapping):
        return [node.rest] if node.rest else []
    return []


def _getattr_name(node: ast.AST) -> str | None:
    """The attribute of `getattr(x, 'name')`, when the name is literal."""
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
        return None
    if node.func.id != "getattr" or len(node.args) < 2:
        return None
    name = node.args[1]
    return name.value if isinstance(name, ast.Constant) and isinstance(name.value, str) else None


class _Reader:
    """Reads each node of one piece of code against the tables."""

    def __init__(self, scope: _Scope, read_shell: ShellReader, nodes: list[ast.AST]) -> None:
        self.scope, self.read_shell = scope, read_shell
        # Parts of a longer name (the `os` of `os.path`) and the functions of calls are read
        # with the name or the call they belong to.
        self.inner = {id(part) for node in nodes for part in _parts(node)}

    def read(self, node: ast.AST) -> list[Finding]:
        if isinstance(node, ast.Call):
            return self.call(node)
        if id(node) in self.inner:
            return []
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
            return self.name(node.id)
        if isinstance(node, ast.Attribute):
            return self.attribute(node, node.attr)
        return []

    def call(self, node: ast.Call) -> list[Finding]:
        qual = self.scope.qualname(node.func)
        if qual is not None:
            return self.qualified(qual, node)
        if isinstance(node.func, ast.Name):
            return self.builtin(node, node.func.id)
        if isinstance(node.func, ast.Attribute):
            return self.method(node, node.func.attr)
        return [cannot(LANGUAGE, f"calls a function chosen at run time ({_shown(node)})")]

    def qualified(self, qual: str, node: ast.Call) -> list[Finding]:
        rule = CALLS.find(qual) or self.data_method(qual)
        if rule is None:
            return [cannot(LANGUAGE, f"calls {qual}")]
        return rule(self.site(node, qual, lambda: _called(qual, node)))

    def data_method(self, qual: str) -> Rule | None:
        # A method of a module's data (`numpy.__version__.split`) is a method of a value.
        owner, _, method = qual.rpartition(".")
        return METHODS.find(method) if owner and self.is_data(owner) else None

    def is_data(self, qual: str) -> bool:
        # A module's constants (signal.SIGKILL, os.O_RDONLY) are data too.
        last = qual.rpartition(".")[2]
        return last in DATA or last.isupper() or CALLS.find(qual) is reads

    def builtin(self, node: ast.Call, name: str) -> list[Finding]:
        if name in self.scope.defs:
            return []
        if name == "getattr":
            return self.getattr(node)
        rule = BUILTINS.find(name)
        if rule is None:
            return [cannot(LANGUAGE, f"calls {name}")]
        return rule(self.site(node, name, lambda: ast.unparse(node)))

    def getattr(self, node: ast.Call) -> list[Finding]:
        name = _getattr_name(node)
        if name is None:
            return [cannot(LANGUAGE, "calls getattr with a name built at run time")]
        return [] if id(node) in self.inner else self.attribute(node, name)

    def method(self, node: ast.Call, name: str) -> list[Finding]:
        rule = METHODS.find(name)
        if rule is None:
            return [cannot(LANGUAGE, f"calls {_shown(node.func)}")]
        subject = (
            _path(node.func.value, self.scope) if isinstance(node.func, ast.Attribute) else None
        )
        return rule(self.site(node, name, lambda: ast.unparse(node), subject))

    def name(self, name: str) -> list[Finding]:
        if name in self.scope.imports:
            return self.value(self.scope.imports[name])
        if name in UNSAFE_VALUES:
            return [cannot(LANGUAGE, f"uses {name} as a value")]
        return []

    def attribute(self, node: ast.AST, name: str) -> list[Finding]:
        qual = self.scope.qualname(node)
        if qual is not None:
            return self.value(qual)
        rule = METHODS.find(name)  # a method of a value, handed on: map(Path.unlink, ...)
        return rule(self.bare(name, lambda: ast.unparse(node))) if rule else []

    def value(self, qual: str) -> list[Finding]:
        """A name used as a value, not called here: harmless only when it is data."""
        if qual in self.scope.modules or self.is_data(qual):
            return []
        rule = CALLS.find(qual) or self.data_method(qual)
        if rule is None:
            return [cannot(LANGUAGE, f"uses {qual}")]
        return rule(self.bare(qual, lambda: qual))

    def site(self, node: ast.Call, name: str, source: _Source, subject: Arg = None) -> Site:
        return Site(
            LANGUAGE,
            name,
            source,
            self.read_shell,
            args=tuple(_literal(arg, self.scope) for arg in node.args),
            keywords={kw.arg: _literal(kw.value, self.scope) for kw in node.keywords if kw.arg},
            complete=_complete(node),
            subject=subject,
        )

    def bare(self, name: str, source: _Source) -> Site:
        return Site(LANGUAGE, name, source, self.read_shell)


def _parts(node: ast.AST) -> list[ast.AST]:
    if isinstance(node, ast.Attribute):
        return [node.value]
    if isinstance(node, ast.Call):
        return [node.func]
    return []


def _complete(node: ast.Call) -> bool:
    starred = any(isinstance(arg, ast.Starred) for arg in node.args)
    return not starred and all(kw.arg for kw in node.keywords)


def _literal(node: ast.expr, scope: _Scope) -> Arg:
    """A literal string or list of strings; `text("...")` of SQLAlchemy is its string."""
    if isinstance(node, ast.Constant):
        return node.value if isinstance(node.value, str) else None
    if isinstance(node, ast.List | ast.Tuple):
        items = [_literal(item, scope) for item in node.elts]
        strings = [item for item in items if isinstance(item, str)]
        return tuple(strings) if len(strings) == len(items) else None
    if isinstance(node, ast.Call) and scope.qualname(node.func) == "sqlalchemy.text":
        return _literal(node.args[0], scope) if len(node.args) == 1 else None
    return None


def _path(node: ast.expr, scope: _Scope) -> str | None:
    """The literal path of `Path('/x')` or `Path('/x') / 'y'`."""
    if isinstance(node, ast.Call) and scope.qualname(node.func) in PATH_TYPES:
        parts = [_literal(arg, scope) for arg in node.args]
        strings = [part for part in parts if isinstance(part, str)]
        return "/".join(strings) if strings and len(strings) == len(parts) else None
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
        left, right = _path(node.left, scope), _literal(node.right, scope)
        return f"{left}/{right}" if left and isinstance(right, str) else None
    return None


def _called(qual: str, node: ast.Call) -> str:
    args = ", ".join(ast.unparse(arg) for arg in [*node.args, *node.keywords])
    return f"{qual}({args})"


def _shown(node: ast.AST) -> str:
    return shorten(ast.unparse(node))
