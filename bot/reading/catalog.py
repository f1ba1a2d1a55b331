"""The tool catalog: what each program and subcommand does, as data (`catalog.yaml`).

A tool entry names its subcommands by path (`state rm`, `* delete-*`), the effect of each, and
conditions that make one worse (`apply` with `-destroy`, `scale` with `--replicas=0`). An entry
may say that part of its argv is itself something to read: a command (`kubectl exec -- CMD`),
a shell string (`bash -c`), SQL (`psql -c`) or inline code (`python -c`). Wrappers (`sudo`,
`timeout 60`, `env X=1`) name the options they take before the program they run.

Every entry carries `examples` with the effect it must read as; the tests run each one.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from fnmatch import fnmatchcase
from functools import cache
from importlib import resources
from typing import Annotated, Any, Literal
from urllib.parse import unquote

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PrivateAttr

from bot.reading.shell import Word

EffectName = Literal["read", "sensitive", "mutating", "destructive", "opaque"]
EFFECT_ORDER: tuple[EffectName, ...] = ("read", "sensitive", "mutating", "destructive", "opaque")
Names = Annotated[list[str], BeforeValidator(lambda v: [v] if isinstance(v, str) else v)]


class _Data(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Condition(_Data):
    """Changes an entry's effect when all that it names is present. A worse effect always
    wins; a milder one (`crontab -l` reads) holds only when no worse condition does."""

    flag: Names = Field(default_factory=list)  # any of these options
    arg: Names = Field(default_factory=list)  # any argument after the path matches a glob
    value: dict[str, Names] = Field(default_factory=dict)  # any option -> globs of its value
    is_: EffectName = Field(alias="is")
    says: str
    examples: list[str] = Field(min_length=1)


class Runs(_Data):
    """Where in the argv another command is (`--`, after N arguments, between `-exec` and
    `;`), or which option holds a shell string."""

    after: str | None = None  # a separator such as `--`
    positionals: int | None = None  # the command follows this many arguments
    between: Names = Field(default_factory=list)  # `find -exec ... ;`
    string_flags: Names = Field(default_factory=list)  # `-c 'cmd'`
    string: bool = False  # the rest of the argv, joined, is a shell string (`ssh host cmd`)


class Embedded(_Data):
    """Where SQL or inline code is: an option's value, an argument, standard input."""

    language: str  # sql dialect name (postgres, mysql, sqlite, generic) or a code language
    flags: Names = Field(default_factory=list)
    positional: int | None = None  # index among the arguments after the path
    files: Names = Field(default_factory=list)  # options naming a file of it, not shown
    stdin: bool = False


class Entry(_Data):
    is_: EffectName = Field(alias="is")
    says: str = ""
    when: list[Condition] = Field(default_factory=list)
    dry_run: list[Condition] = Field(default_factory=list)  # it only simulates: a read
    runs: Runs | None = None
    sql: Embedded | None = None
    code: Embedded | None = None
    shell: bool = False  # a shell: `-c`, standard input and a script argument are read
    examples: list[str] = Field(default_factory=list)


class Tool(Entry):
    aliases: list[str] = Field(default_factory=list)  # other names for the same program
    like: list[str] = Field(default_factory=list)  # other programs read the same way
    options: list[str] = Field(default_factory=list)  # options that take a value
    long_options_take_values: bool = False  # aws: every `--x` takes a value but these
    booleans: list[str] = Field(default_factory=list)
    single_dash_long: bool = False  # terraform, find: `-destroy` is one option, not -d -e ...
    case_insensitive: bool = False  # redis-cli FLUSHALL = flushall
    commands: dict[str, Entry] = Field(default_factory=dict)
    _paths: list[tuple[tuple[int, int], list[str], str, Entry]] = PrivateAttr(default_factory=list)

    def paths(self) -> list[tuple[tuple[int, int], list[str], str, Entry]]:
        """Subcommand paths, most specific first: more words, then more literal letters."""
        if not self._paths and self.commands:
            ranked = [
                ((len(path.split()), sum(c not in "*? " for c in path)), path.split(), path, e)
                for path, e in self.commands.items()
            ]
            self._paths = sorted(ranked, key=lambda r: r[0], reverse=True)
        return self._paths


class Wrapper(_Data):
    """A program that runs another: `sudo -u root CMD`, `timeout 60 CMD`, `watch -n 5 CMD`."""

    options: list[str] = Field(default_factory=list)
    positionals: int = 0  # arguments before the command (timeout's duration)
    assignments: bool = False  # `env X=1 CMD`
    string_flags: Names = Field(default_factory=list)  # `su -c 'CMD'`
    split_flags: Names = Field(default_factory=list)  # `env -S 'CMD ARGS'`
    string: bool = False  # the command is the rest joined and read by a shell (watch)
    query_flags: Names = Field(default_factory=list)  # `command -v x` runs nothing
    plain: bool = False  # changes nothing about what it runs (timeout, nice): may auto-approve
    stdin_shell: bool = False  # with no command, standard input is a script (`ssh host <<EOF`)
    alone: Entry | None = None  # what the wrapper does with no command (`env` prints env)
    examples: list[str] = Field(min_length=1)


class Catalog(_Data):
    templates: dict[str, Any] = Field(default_factory=dict)  # YAML anchors shared by tools
    sensitive_paths: list[str]
    sensitive_examples: list[str]
    readers: list[str]  # programs whose file arguments are read (cat, less, cp ...)
    downloaders: list[str]
    decoders: list[str]
    wrappers: dict[str, Wrapper]
    tools: dict[str, Tool]
    unknown: Tool  # what a program not listed does: read, unless its words say otherwise

    _by_name: dict[str, tuple[str, Tool]] = PrivateAttr(default_factory=dict)

    def model_post_init(self, context: Any, /) -> None:
        for name, tool in self.tools.items():
            for alias in [name, *tool.aliases]:
                self._by_name[alias] = (name, tool)
            for other in tool.like:
                self._by_name[other] = (other, tool)

    def tool(self, program: str) -> tuple[str, Tool] | None:
        """The tool a program name stands for, through its aliases and version suffixes."""
        return self._by_name.get(program) or self._by_name.get(_unversioned(program))


@cache
def catalog() -> Catalog:
    text = resources.files("bot.reading").joinpath("catalog.yaml").read_text(encoding="utf-8")
    return Catalog.model_validate(yaml.safe_load(text))


_VERSION = re.compile(r"^([a-z][a-z0-9_-]*?)-?\d+(\.\d+)*$")


def _unversioned(program: str) -> str:
    """`python3.11` -> `python`, `psql-15` -> `psql`."""
    match = _VERSION.match(program)
    return match.group(1) if match else program


def program_name(word: str) -> str:
    """`/usr/bin/rm` -> `rm`; `busybox`-style names stay."""
    return os.path.basename(word.rstrip("/")) or word


@dataclass(frozen=True)
class Options:
    """An argv after its program: options with their values, and the other arguments."""

    flags: dict[str, list[str]]
    positionals: list[Word]
    separator: int | None  # index in positionals where `--` stood
    indices: list[int]  # where each positional stood in the argv
    flag_at: dict[str, int]  # where each option first stood in the argv


def split_options(tool: Tool, words: list[Word]) -> Options:
    """Separate options (and the values they take) from arguments, the way the tool would."""
    flags: dict[str, list[str]] = {}
    flag_at: dict[str, int] = {}
    positionals: list[Word] = []
    indices: list[int] = []
    separator: int | None = None
    index = 0
    while index < len(words):
        word = words[index]
        index += 1
        text = word.text
        if separator is not None or not text.startswith("-") or text == "-":
            positionals.append(word)
            indices.append(index - 1)
            continue
        if text == "--":
            separator = len(positionals)
            continue
        names, value = _option(tool, text)
        if value is None and _takes_value(tool, names[-1]) and index < len(words):
            value = words[index].text
            index += 1
        for name in names:
            flags.setdefault(name, []).append(value or "")
            flag_at.setdefault(name, index - 1)
    return Options(flags, positionals, separator, indices, flag_at)


def _option(tool: Tool, text: str) -> tuple[list[str], str | None]:
    body, equals, value = text.lstrip("-").partition("=")
    if text.startswith("--") or tool.single_dash_long or len(body) == 1 or equals:
        return [body], value if equals else None
    # a cluster of short options; one that takes a value takes the rest (`-n10`, `-fdx`)
    names: list[str] = []
    for position, letter in enumerate(body):
        names.append(letter)
        if letter in tool.options and position + 1 < len(body):
            return names, body[position + 1 :]
    return names, None


def _takes_value(tool: Tool, name: str) -> bool:
    if name in tool.options:
        return True
    return tool.long_options_take_values and len(name) > 1 and name not in tool.booleans


def best_entry(tool: Tool, positionals: list[Word]) -> tuple[str, Entry, int] | None:
    """The most specific subcommand entry the arguments start with: (path, entry, words)."""
    words = [w.text.lower() if tool.case_insensitive else w.text for w in positionals]
    for rank, parts, path, entry in tool.paths():
        if len(parts) <= len(words) and all(
            fnmatchcase(w, p) for w, p in zip(words, parts, strict=False)
        ):
            return path, entry, rank[0]
    return None


def holds(condition: Condition, options: Options, rest: list[Word]) -> bool:
    """Whether everything a condition names is in the argv."""
    if condition.flag and not any(_flag_name(f) in options.flags for f in condition.flag):
        return False
    if condition.arg and not any(
        fnmatchcase(w.text.lower(), glob.lower()) for w in rest for glob in condition.arg
    ):
        return False
    return not condition.value or any(
        fnmatchcase(unquote(v).lower(), glob.lower())
        for name, globs in condition.value.items()
        for v in options.flags.get(_flag_name(name), [])
        for glob in globs
    )


def _flag_name(flag: str) -> str:
    return flag.lstrip("-")


def worse(a: EffectName, b: EffectName) -> EffectName:
    return a if EFFECT_ORDER.index(a) >= EFFECT_ORDER.index(b) else b


def entries(data: Catalog) -> list[tuple[str, Entry | Condition | Wrapper, Any]]:
    """Every entry and condition with its name, for the tests: (name, entry, its effect)."""
    found: list[tuple[str, Entry | Condition | Wrapper, Any]] = []
    for name, wrapper in data.wrappers.items():
        found.append((f"wrapper {name}", wrapper, None))
    for name, tool in [*data.tools.items(), ("(unknown program)", data.unknown)]:
        found.append((name, tool, tool.is_))
        found += [(f"{name} when {c.says}", c, c.is_) for c in tool.when]
        found += [(f"{name} dry run {c.says}", c, c.is_) for c in tool.dry_run]
        for path, entry in tool.commands.items():
            found.append((f"{name} {path}", entry, entry.is_))
            found += [(f"{name} {path} dry run {c.says}", c, c.is_) for c in entry.dry_run]
            found += [(f"{name} {path} when {c.says}", c, c.is_) for c in entry.when]
    return found
