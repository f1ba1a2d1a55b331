"""Shell text into simple commands, with the grammar bash itself uses (tree-sitter-bash).

Every simple command anywhere in the text comes out as an argv: inside pipelines, lists,
subshells, functions, `$(...)`, backticks and process substitutions. Each word says whether
its value is only known when the shell runs (an expansion), and each command says what feeds
its standard input (a pipe from another command, a here-doc, a here-string, a file), so that
`curl ... | sh` and `psql <<SQL` can be read for what they run.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass, field
from functools import cache

import tree_sitter
import tree_sitter_bash

from bot.reading.findings import Budget, OutOfTime

SUBSTITUTIONS = ("command_substitution", "process_substitution")
DYNAMIC = ("simple_expansion", "expansion", "arithmetic_expansion", *SUBSTITUTIONS)
HARMLESS_TARGETS = ("/dev/null", "/dev/stdout", "/dev/stderr", "/dev/tty")
_BACKSLASH = re.compile(r"\\(.)", re.S)
_STRING_ESCAPE = re.compile(r'\\([$`"\\\n])')


@dataclass(frozen=True)
class Word:
    """One argument as the program receives it; `dynamic` when the shell computes it."""

    text: str
    dynamic: bool = False
    substituted: tuple[Command, ...] = ()  # commands whose output makes up the word


@dataclass(frozen=True)
class Stdin:
    """What a command reads on standard input."""

    kind: str  # "pipe", "text" (here-doc or here-string) or "file"
    text: str = ""  # the here-doc or here-string, or the file's name
    producers: tuple[Command, ...] = ()  # for a pipe: the commands writing into it


@dataclass(frozen=True)
class Command:
    words: tuple[Word, ...]
    stdin: Stdin | None = None

    @property
    def argv(self) -> list[str]:
        return [w.text for w in self.words]


@dataclass(frozen=True)
class Write:
    """A file a redirection writes: `>` replaces it, `>>` appends to it."""

    target: str
    append: bool
    writer: tuple[str, ...] = ()  # the argv of the command whose output it is, if any


@dataclass
class Script:
    """What a piece of shell text runs."""

    commands: list[Command] = field(default_factory=list)
    writes: list[Write] = field(default_factory=list)  # files written by `>` and `>>`
    parse_error: bool = False
    compound: bool = False  # operators, substitutions or redirections: more than one step

    @property
    def simple(self) -> bool:
        return len(self.commands) == 1 and not self.compound and not self.parse_error


@cache
def _parser() -> tree_sitter.Parser:
    return tree_sitter.Parser(tree_sitter.Language(tree_sitter_bash.language()))


def parse(text: str, budget: Budget) -> Script:
    """Read shell text into the simple commands it runs."""
    source = text.encode()
    tree = _parse(source, budget)
    walker = _Walker(budget, source)
    walker.visit(tree.root_node, None)
    script = walker.script
    script.parse_error = tree.root_node.has_error
    script.compound = script.compound or len(script.commands) != 1
    return script


def _parse(source: bytes, budget: Budget) -> tree_sitter.Tree:
    """Parse with the budget checked as tree-sitter works: its error recovery on hostile
    input (`&<>` repeated 20,000 times) can take seconds."""
    parser = _parser()

    def read(offset: int, _point: object) -> bytes:
        return source[offset : offset + 65536]

    def out_of_time(*_state: object) -> bool:
        return budget.expired()

    try:
        return parser.parse(read, progress_callback=out_of_time)
    except ValueError:  # cancelled by the callback
        parser.reset()
        raise OutOfTime from None


def words_of(argv: list[str]) -> tuple[Word, ...]:
    """An argv list as words: given as a list, nothing in it is expanded by a shell."""
    return tuple(Word(a) for a in argv)


class _Walker:
    def __init__(self, budget: Budget, source: bytes) -> None:
        self.budget = budget
        self.source = source
        self.script = Script()

    def visit(self, node: tree_sitter.Node, stdin: Stdin | None) -> list[Command]:
        """Collect the commands under `node`; returns those whose output leaves it."""
        self.budget.check()
        handler = _HANDLERS.get(node.type)
        if handler is not None:
            return handler(self, node, stdin)
        out: list[Command] = []
        for child in node.named_children:
            out = self.visit(child, stdin) or out
        if node.type in ("list", "subshell", "compound_statement", "function_definition"):
            self.script.compound = True
        return out

    def command(self, node: tree_sitter.Node, stdin: Stdin | None) -> list[Command]:
        words: list[Word] = []
        for child in node.named_children:
            role = _field(node, child)
            if role in ("name", "argument"):
                words.append(self.word(child))
            elif child.type == "herestring_redirect":
                stdin = self.herestring(child)
                self.script.compound = True
            elif child.type == "file_redirect":
                stdin = self.redirect(child) or stdin
            else:  # `X=1 cmd`: a variable set for the command (LD_PRELOAD, PATH, GIT_*)
                self.script.compound = self.script.compound or child.type == "variable_assignment"
                self.visit_substitutions(child)
        command = Command(tuple(words), stdin)
        if words:
            self.script.commands.append(command)
        return [command] if words else []

    def word(self, node: tree_sitter.Node) -> Word:
        """A word's value with quotes and escapes removed, as the program receives it."""
        substituted = tuple(self.visit_substitutions(node))
        dynamic = node.type in DYNAMIC or _has_descendant(node, DYNAMIC)
        return Word(_literal(node, self.source), dynamic, substituted)

    def visit_substitutions(self, node: tree_sitter.Node) -> list[Command]:
        """Commands run inside `$(...)`, backticks and `<(...)` found in `node`."""
        out: list[Command] = []
        for sub in _descendants(node, SUBSTITUTIONS):
            self.script.compound = True
            for child in sub.named_children:
                out += self.visit(child, None)
        return out

    def pipeline(self, node: tree_sitter.Node, stdin: Stdin | None) -> list[Command]:
        self.script.compound = True
        producers: list[Command] = []
        for index, child in enumerate(node.named_children):
            feed = Stdin("pipe", producers=tuple(producers)) if index else stdin
            producers = self.visit(child, feed)
        return producers

    def redirected(self, node: tree_sitter.Node, stdin: Stdin | None) -> list[Command]:
        self.script.compound = True
        trailing: list[tree_sitter.Node] = []
        before = len(self.script.writes)
        for child in node.children_by_field_name("redirect"):
            stdin = self.redirect(child) or stdin
            trailing += [c for c in child.named_children if c.type not in _HEREDOC_PARTS]
        body = node.child_by_field_name("body")
        out = self.visit(body, stdin) if body is not None else []
        writer = tuple(out[-1].argv) if out else ()
        self.script.writes[before:] = [
            Write(w.target, w.append, w.writer or writer) for w in self.script.writes[before:]
        ]
        for rest in trailing:  # tree-sitter hangs `cat <<EOF | sh`'s `| sh` on the here-doc
            out = self.visit(rest, Stdin("pipe", producers=tuple(out)))
        return out

    def herestring(self, node: tree_sitter.Node) -> Stdin:
        """`<<< "text"` is text; `<<< "$(curl ...)"` is the output of what it runs."""
        word = self.word(node.named_children[-1])
        if word.substituted:
            return Stdin("pipe", producers=word.substituted)
        return Stdin("text", word.text)

    def redirect(self, node: tree_sitter.Node) -> Stdin | None:
        """Note what a redirection writes; return the standard input it sets, if any."""
        if node.type == "heredoc_redirect":
            body = next((c for c in node.named_children if c.type == "heredoc_body"), None)
            return Stdin("text", _text(body, self.source) if body else "")
        if node.type == "herestring_redirect":
            return self.herestring(node)
        target = node.child_by_field_name("destination")
        operator = next((c.type for c in node.children if not c.is_named), "")
        if target is None:
            return None
        name = self.word(target).text
        if operator in ("<", "<>"):
            return Stdin("file", name)
        writes = ">" in operator and name not in HARMLESS_TARGETS
        if writes and not name.isdigit() and not name.startswith("&") and name != "-":
            self.script.writes.append(Write(name, append=">>" in operator))
        return None


_HEREDOC_PARTS = ("heredoc_start", "heredoc_body", "heredoc_end", "heredoc_content")


def _field(parent: tree_sitter.Node, child: tree_sitter.Node) -> str | None:
    for index, candidate in enumerate(parent.children):
        if candidate.id == child.id:
            return parent.field_name_for_child(index)
    return None


def _descendants(node: tree_sitter.Node, types: tuple[str, ...]) -> list[tree_sitter.Node]:
    """The outermost nodes of these types at or below `node`."""
    if node.type in types:
        return [node]
    found: list[tree_sitter.Node] = []
    for child in node.named_children:
        found += _descendants(child, types)
    return found


def _has_descendant(node: tree_sitter.Node, types: tuple[str, ...]) -> bool:
    return bool(_descendants(node, types))


def _literal(node: tree_sitter.Node, source: bytes) -> str:
    """The text a word stands for; expansions are kept as written (`$T`)."""
    text = _text(node, source)
    kind = node.type
    if kind == "raw_string":
        return text[1:-1]
    if kind == "ansi_c_string":
        return _ansi_c(text[2:-1])
    if kind == "string":
        return "".join(
            _literal(c, source) if c.type != "string_content" else _unescape_string(c, source)
            for c in node.named_children
        )
    if kind == "concatenation":
        return "".join(_literal(c, source) for c in node.named_children)
    if kind in ("word", "command_name", "number"):
        inner = node.named_children
        if kind == "command_name" and inner:
            return "".join(_literal(c, source) for c in inner)
        return _BACKSLASH.sub(r"\1", text)
    return text


def _text(node: tree_sitter.Node, source: bytes) -> str:
    """A node's text, sliced from the source (a tree parsed from a callback keeps none)."""
    return source[node.start_byte : node.end_byte].decode(errors="replace")


def _unescape_string(node: tree_sitter.Node, source: bytes) -> str:
    return _STRING_ESCAPE.sub(r"\1", _text(node, source))


def _ansi_c(body: str) -> str:
    """`$'\\x72m'` is `rm`: decode the escapes bash decodes."""
    try:
        return codecs.decode(body.encode("latin-1", "backslashreplace"), "unicode_escape")
    except UnicodeDecodeError:
        return body


_HANDLERS = {
    "command": _Walker.command,
    "pipeline": _Walker.pipeline,
    "redirected_statement": _Walker.redirected,
}
