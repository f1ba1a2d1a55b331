"""What a call does, as tables of rules that every inline-code reader shares.

A reader finds a call, builds a `Site` (the call's name, its literal arguments, how it reads
in the source), looks the name up in its language's `Table` and applies the rule it finds.
A name with no rule is not guessed at: the reader says the code cannot be read.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TypeVar

from bot.reading.findings import Budget, Effect, Finding, opaque

NodeT = TypeVar("NodeT")

ShellReader = Callable[[str], list[Finding]]
"""The shell reader's callback: the findings of one literal shell command."""

Arg = str | tuple[str, ...] | None
"""An argument as far as reading can see it: a literal string, a list of literal strings, or
None when it is anything else (a variable, an expression)."""

SHOWN_LENGTH = 80

_PHRASES = {"mongo": "mongo shell code", "other": "inline code"}
_SPEAKERS = {"other": "the inline code"}


@dataclass(frozen=True)
class Site:
    """One call being read."""

    language: str
    name: str  # the name the table is searched with: "shutil.rmtree", "unlink"
    source: Callable[[], str]  # the call as written; built only when a reason shows it
    read_shell: ShellReader
    args: tuple[Arg, ...] = ()
    keywords: Mapping[str, Arg] = field(default_factory=dict)
    complete: bool = True  # False when *args, **kwargs or a spread hides some arguments
    subject: Arg = None  # the literal path a method is called on: Path('/x').unlink()

    @property
    def shown(self) -> str:
        """The call as a reason shows it: "shutil.rmtree('/data')"."""
        return shorten(self.source())

    def arg(self, index: int, keyword: str = "") -> Arg:
        """A positional argument, or the keyword argument of that name."""
        if index < len(self.args):
            return self.args[index]
        return self.keywords.get(keyword) if keyword else None

    def given(self, index: int, keyword: str = "") -> bool:
        """Whether that argument is there at all, literal or not."""
        return index < len(self.args) or bool(keyword and keyword in self.keywords)

    def cannot(self, why: str) -> Finding:
        """An opaque finding worded for this call's language."""
        return cannot(self.language, why)


Rule = Callable[[Site], list[Finding]]


class Table:
    """Rules by name. A `*` in a name matches anything, so `os.path.*` covers `os.path.join`;
    exact names win, then patterns in the order written."""

    def __init__(self, rules: Mapping[str, Rule]) -> None:
        self._exact = {name: rule for name, rule in rules.items() if "*" not in name}
        self._patterns = [(_pattern(name), rule) for name, rule in rules.items() if "*" in name]

    def find(self, name: str) -> Rule | None:
        """The rule for `name`, or None when the table does not know it."""
        if name in self._exact:
            return self._exact[name]
        return next((rule for pattern, rule in self._patterns if pattern.fullmatch(name)), None)

    def names(self) -> set[str]:
        """The names written without a `*`."""
        return set(self._exact)


def _pattern(name: str) -> re.Pattern[str]:
    return re.compile(".*".join(re.escape(part) for part in name.split("*")), re.DOTALL)


def phrase(language: str) -> str:
    """How findings name the code: "inline python code", "mongo shell code"."""
    return _PHRASES.get(language, f"inline {language} code")


def cannot(language: str, why: str) -> Finding:
    """An opaque finding worded for the language: "cannot be read: inline python code calls
    exec"."""
    return opaque(f"{phrase(language)} {why}")


def shorten(text: str, length: int = SHOWN_LENGTH) -> str:
    """Code as shown in a reason: one line, at most `length` characters."""
    flat = " ".join(text.split())
    return flat if len(flat) <= length else flat[: length - 3] + "..."


def unique(findings: Iterable[Finding]) -> list[Finding]:
    """Findings without repeats, in the order found."""
    return list(dict.fromkeys(findings))


def read_each(
    language: str,
    problems: Iterable[str],
    nodes: Iterable[NodeT],
    read: Callable[[NodeT], list[Finding]],
    budget: Budget,
) -> list[Finding]:
    """What a parsed program does: its scope's problems, then each node read in turn."""
    findings = [cannot(language, problem) for problem in problems]
    for node in nodes:
        budget.check()
        findings.extend(read(node))
    return unique(findings)


def reads(site: Site) -> list[Finding]:
    """The rule for a call that only reads: no finding."""
    return []


def does(effect: Effect, words: str) -> Rule:
    """A rule for a call whose effect does not depend on its arguments."""

    def rule(site: Site) -> list[Finding]:
        return [Finding(effect, f"{words} ({site.shown})")]

    return rule


def refuses(why: str) -> Rule:
    """A rule for a call that makes the code unreadable, such as `exec`."""

    def rule(site: Site) -> list[Finding]:
        return [site.cannot(why)]

    return rule


def run_command(site: Site) -> list[Finding]:
    """A call whose first argument is a shell command (a string, or an argv list)."""
    return _run(site, _command(first(site, "args", "cmd", "command")))


def run_program(site: Site) -> list[Finding]:
    """A call that runs a program with an argv list: `spawn('rm', ['-rf', '/x'])`."""
    program, argv = site.arg(0), site.arg(1)
    if site.given(1) and not isinstance(argv, tuple):
        return [shell_built(site)]
    if not isinstance(program, str):
        return [shell_built(site)]
    return _run(site, shlex.join([program, *(argv or ())]))


def first(site: Site, *keywords: str) -> Arg:
    """The first argument, given by position or by one of its keyword names."""
    given = [keyword for keyword in keywords if site.given(0, keyword)]
    return site.arg(0, given[0]) if given else None


def _command(arg: Arg) -> str | None:
    if isinstance(arg, tuple):
        return shlex.join(arg) if arg else None
    return arg


def _run(site: Site, command: str | None) -> list[Finding]:
    if command is None or not site.complete:
        return [shell_built(site)]
    return site.read_shell(command)


def shell_built(site: Site) -> Finding:
    """The finding for a shell command that only exists at run time."""
    speaker = _SPEAKERS.get(site.language, site.language)
    return opaque(f"{speaker} runs a shell command built at run time")


# Paths whose contents are secrets, so reading them is `sensitive`.
_SECRET = re.compile(
    r"(^|/)(\.ssh|\.gnupg|\.aws|\.kube|\.docker|\.azure|\.config/gcloud)/"
    r"|(^|/)\.env(\.|$)|(^|/)id_(rsa|dsa|ecdsa|ed25519)"
    r"|\.(pem|key|p12|pfx|jks|keystore|netrc|pgpass|git-credentials|npmrc|pypirc)$"
    r"|(^|[/_.-])(secrets?|credentials?|passwords?|tokens?)([/_.-]|$)"
    r"|/etc/(shadow|gshadow|sudoers)|/proc/[^/]+/environ",
    re.IGNORECASE,
)
# Where writing changes the system rather than a file of one's own, so it is destructive.
_SYSTEM = re.compile(r"^(/etc|/usr|/bin|/sbin|/lib\w*|/boot|/var|/sys|/proc|/dev|/root)(/|$)")
# Places that take writes without keeping them.
_SINKS = {"/dev/null", "/dev/stdout", "/dev/stderr", "/dev/tty", "/dev/fd/1", "/dev/fd/2", "-"}


def read_from(path: Arg, site: Site) -> list[Finding]:
    """Reading a file: a secret file, or one named at run time, is sensitive."""
    if not isinstance(path, str):
        return [Finding(Effect.sensitive, f"reads a file named at run time ({site.shown})")]
    if _SECRET.search(path):
        return [Finding(Effect.sensitive, f"reads a secret file ({site.shown})")]
    return []


def write_to(path: Arg, how: str, site: Site) -> list[Finding]:
    """Writing a file (`how` is "overwrites", "appends to"): a system file is destructive,
    one named at run time cannot be read."""
    if not isinstance(path, str):
        return [site.cannot(f"{how} a file named at run time ({site.shown})")]
    if path in _SINKS:
        return []
    if _SYSTEM.match(path):
        return [Finding(Effect.destructive, f"{how} a system file ({site.shown})")]
    return [Finding(Effect.mutating, f"{how} a file ({site.shown})")]


_MODES = (("w", "overwrites"), ("a", "appends to"), ("x", "creates"), ("+", "changes"))


def open_file(path: Arg, mode: Arg, site: Site) -> list[Finding]:
    """Opening a file with an fopen-style mode ("r", "w", "a+"), as Python, Ruby, PHP and
    Lua do."""
    if not isinstance(mode, str):
        return [site.cannot(f"opens a file in a mode chosen at run time ({site.shown})")]
    how = next((words for letter, words in _MODES if letter in mode), None)
    return read_from(path, site) if how is None else write_to(path, how, site)


def run_arguments(site: Site) -> list[Finding]:
    """`system("rm -rf /x")` runs a shell command; `system("rm", "-rf", "/x")` an argv."""
    if len(site.args) > 1:
        words = [arg for arg in site.args if isinstance(arg, str)]
        command = shlex.join(words) if len(words) == len(site.args) else None
        return _run(site, command)
    return run_command(site)


# A keyword check of literal SQL until bot.reading.sql can be called from here.
_SQL_VERBS: dict[str, tuple[Effect, str] | None] = {
    "select": None,
    "show": None,
    "describe": None,
    "desc": None,
    "values": None,
    "begin": None,
    "commit": None,
    "rollback": None,
    "drop": (Effect.destructive, "drops data"),
    "truncate": (Effect.destructive, "empties a table"),
    "delete": (Effect.destructive, "deletes rows"),
    "grant": (Effect.destructive, "grants access"),
    "revoke": (Effect.destructive, "revokes access"),
    "insert": (Effect.mutating, "inserts rows"),
    "update": (Effect.mutating, "updates rows"),
    "upsert": (Effect.mutating, "inserts rows"),
    "merge": (Effect.mutating, "merges rows"),
    "create": (Effect.mutating, "creates objects"),
    "alter": (Effect.mutating, "alters a table"),
}
_ALTER_DROP = re.compile(r"^alter\b.*\bdrop\b", re.IGNORECASE | re.DOTALL)


def run_sql(site: Site) -> list[Finding]:
    """A call whose first argument is SQL: `cursor.execute("DROP TABLE users")`."""
    sql = first(site, "statement", "sql", "query")
    if not isinstance(sql, str):
        return [site.cannot(f"runs SQL built at run time ({site.shown})")]
    statements = [part.strip() for part in sql.split(";") if part.strip()]
    return [finding for statement in statements for finding in _sql(statement, site)]


def _sql(statement: str, site: Site) -> list[Finding]:
    verb = statement.split(None, 1)[0].lower()
    if verb not in _SQL_VERBS:
        return [site.cannot(f"runs SQL starting with {verb.upper()} ({shorten(statement)})")]
    effect = _SQL_VERBS[verb]
    if _ALTER_DROP.match(statement):
        effect = (Effect.destructive, "drops part of a table")
    if effect is None:
        return []
    return [Finding(effect[0], f"runs SQL that {effect[1]} ({shorten(statement)})")]
