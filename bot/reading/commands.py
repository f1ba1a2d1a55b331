"""Reading what a command runs: wrappers peeled, tools looked up, nested text read too.

`Reader.script` reads shell text and `Reader.argv` an argv list. Each simple command becomes a
`Step` (its program, options and effect), and everything that is not a plain read becomes a
`Finding`. Text inside a command is read by its own reader: shell strings (`bash -c`, `ssh
host CMD`, `kubectl exec -- CMD`), SQL (`psql -c`), inline code (`python -c`).
"""

from __future__ import annotations

import posixpath
import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass, field
from fnmatch import fnmatchcase

from bot.reading import catalog as cat
from bot.reading import code, sql
from bot.reading.findings import Budget, Effect, Finding, opaque
from bot.reading.shell import Command, Script, Stdin, Word, parse, words_of
from bot.reading.words import SUBCOMMAND_VERBS, names_destruction

TextReader = Callable[[str], None]
MAX_DEPTH = 8  # shells inside shells; deeper is no real command, and counts as unreadable
SHOWN = 90  # characters of a command quoted in a reason
DISKS = ("/dev/sd*", "/dev/nvme*", "/dev/xvd*", "/dev/vd*", "/dev/hd*", "/dev/mapper/*",
         "/dev/disk*", "/dev/mmcblk*", "/dev/md*", "/dev/dm-*")  # fmt: skip
SYSTEM_FILES = ("/etc/*", "/boot/*", "/usr/*", "/bin/*", "/sbin/*", "/lib*", "/var/lib/*",
                "/var/log/*", "/root/*", "/proc/*", "/sys/*")  # fmt: skip
SQL_DIALECTS = ("postgres", "mysql", "sqlite", "generic", "tsql", "snowflake", "bigquery",
                "clickhouse", "trino", "duckdb")  # fmt: skip
WHOLE_INTERNET = ("0.0.0.0/0", "::/0")
HTTP_CLIENTS = frozenset({"curl", "wget", "http"})
BODY_OPTIONS = ("d", "data", "data-raw", "data-binary", "json", "body-data", "post-data")
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]{2,}")
_JSON_KEY = re.compile(r'"([A-Za-z_][\w\-]*)"\s*:')
STANDARD_DIRS = ("/bin/", "/usr/bin/", "/usr/local/bin/", "/sbin/", "/usr/sbin/")
ZERO_OPTIONS = frozenset(
    {"replicas", "desired-count", "desired-capacity", "node-count", "num-nodes", "nodes"}
    | {"instance-count", "instances", "capacity", "new-capacity", "count", "size", "tasks"}
)
ALARMING_NAMES = ("drop", "truncate", "delete", "wipe", "reset", "destroy", "purge", "clean",
                  "nuke", "teardown", "remove", "rollback", "down")  # fmt: skip
DEFAULT_SAYS = {
    "sensitive": "reads secrets",
    "mutating": "changes state",
    "destructive": "destroys or deletes",
    "opaque": "cannot be read",
}


@dataclass(frozen=True)
class Step:
    """One simple command as read: `tool` is the catalog name, None for an unknown program."""

    program: str
    tool: str | None
    options: cat.Options | None
    effect: cat.EffectName


@dataclass
class Reader:
    """Reads the commands of one part of a request, collecting steps and findings."""

    budget: Budget
    where: str = "command"
    steps: list[Step] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    compound: bool = False  # operators, redirections or text run inside the command

    @property
    def simple(self) -> bool:
        """A single simple command: no operators, no nested text, nothing unreadable."""
        return len(self.steps) == 1 and not self.compound

    def script(self, text: str, depth: int = 0) -> None:
        """Read shell text."""
        if depth > MAX_DEPTH:
            self.found(opaque("shells nested too deep"))
            return
        parsed = parse(text, self.budget)
        self.compound = self.compound or parsed.compound or bool(parsed.writes)
        if parsed.parse_error:
            self.found(opaque("a command the shell grammar cannot parse"))
        self.writes(parsed)
        for command in parsed.commands:
            self.command(command, depth)

    def argv(self, argv: list[str], depth: int = 0) -> None:
        """Read an argv list: no shell runs it, so nothing in it is expanded."""
        self.command(Command(words_of(argv)), depth)

    def found(self, finding: Finding) -> None:
        placed = finding.at(self.where) if self.where else finding
        if placed not in self.findings:
            self.findings.append(placed)

    def command(self, command: Command, depth: int) -> None:
        self.budget.check()
        if not command.words:
            return
        head = command.words[0]
        if head.dynamic or any(c in head.text for c in "*?["):
            what = "a pattern" if not head.dynamic else "a variable or substitution"
            self.found(opaque(f"the program name is {what} ({head.text})"))
            self.steps.append(Step(head.text, None, None, "opaque"))
            return
        if "/" in head.text and not head.text.startswith(STANDARD_DIRS):
            self.compound = True  # `./cat`, `/tmp/evil/ls`: not the program the catalog knows
        name = cat.program_name(head.text)
        wrapper = cat.catalog().wrappers.get(name)
        if wrapper is not None:
            self.wrapped(name, wrapper, command, depth)
        elif name == "eval":
            self.found(opaque(f"eval ({_shown(command.words)})"))
            self.steps.append(Step(name, None, None, "opaque"))
        else:
            self.program(name, command, depth)

    def wrapped(self, name: str, wrapper: cat.Wrapper, command: Command, depth: int) -> None:
        words = list(command.words[1:])
        if any(_has(w.text, wrapper.query_flags) for w in words[:1]):
            self.steps.append(Step(name, None, None, "read"))  # `command -v rm` runs nothing
            return
        inner, string = unwrap(wrapper, words)
        self.compound = self.compound or not wrapper.plain or string is not None
        if string is not None:
            self.script(string, depth + 1)
        elif inner:
            self.command(Command(tuple(inner), command.stdin), depth)
        elif wrapper.stdin_shell and command.stdin is not None:
            self.compound = True
            self.from_stdin(command.stdin, "shell", lambda t: self.script(t, depth + 1))
        elif wrapper.alone is not None:
            alone = wrapper.alone
            self.record(name, None, None, alone.is_, alone.says, command.words)

    def program(self, name: str, command: Command, depth: int) -> None:
        """A program the catalog knows, or one it does not (`unknown:` in the catalog: its
        effect comes from destructive verbs among its first words, `hcloud server delete`)."""
        data = cat.catalog()
        tool_name, tool = data.tool(name) or (None, data.unknown)
        words = list(command.words[1:])
        options = cat.split_options(tool, words)
        entry, used = _entry(tool, options)
        known = tool_name is not None
        if known and tool.commands and options.positionals and options.positionals[0].dynamic:
            self.found(opaque(f"the {tool_name} subcommand is a variable or substitution"))
        call = _Call(tool, entry, options, words, used, command.stdin)
        effect, says = call.effect()
        if (
            entry is tool
            and (effect, says) == (tool.is_, tool.says)
            and (tool.is_ == "mutating" or not known)
        ):  # nothing in the catalog matched: the subcommand's own name is all there is
            effect, says = _by_its_words(name, options, known) or (effect, says)
            if not (tool.sql or tool.code or tool.shell or tool.runs):
                self.sql_in_arguments(command.words[1:])
        if self.nested(call, depth):
            self.compound = True
            effect, says = call.effect(content_read=True)
        self.record(name, tool_name, options, effect, says, command.words)
        self.sensitive_reads(name, command.words)

    def record(self, program: str, tool: str | None, options: cat.Options | None,
               effect: cat.EffectName, says: str, words: tuple[Word, ...]) -> None:  # fmt: skip
        if effect == "mutating" and tool in HTTP_CLIENTS and _body_destroys(options):
            effect, says = "destructive", "sends a request whose body asks to destroy"
        if effect != "read" and _open_to_everyone(words, options):
            effect, says = "destructive", "opens access to the whole internet"
        elif effect == "mutating" and _scales_to_zero(options):
            effect, says = "destructive", "scales to zero"
        self.steps.append(Step(program, tool, options, effect))
        if effect != "read":
            reason = f"{says or DEFAULT_SAYS[effect]} ({_shown(words)})"
            self.found(Finding(Effect(effect), reason))

    def nested(self, call: _Call, depth: int) -> bool:
        """Read text the command runs itself; True when there was some to read."""
        read = False
        if (runs := call.entry.runs or call.tool.runs) is not None:
            read = self.runs(runs, call, depth) or read
        if (embedded := call.entry.sql or call.tool.sql) is not None:
            read = self.embedded(embedded, call, self.sql_reader(embedded.language)) or read
        if (embedded := call.entry.code or call.tool.code) is not None:
            read = self.embedded(embedded, call, self.code_reader(embedded.language)) or read
        if call.entry.shell or call.tool.shell:
            read = self.shell(call, depth) or read
        return read

    def runs(self, runs: cat.Runs, call: _Call, depth: int) -> bool:
        """Read the command a call runs; True when it ran one (`ansible -a 'state=absent'`
        holds module arguments, not a command, and leaves the tool's own effect)."""
        before = len(self.steps)
        inner = call.inner_command(runs)
        for value in call.values(runs.string_flags):
            self.script(value, depth + 1)
        if inner and runs.string:
            self.script(" ".join(w.text for w in inner), depth + 1)
        elif inner:
            self.command(Command(tuple(inner), call.stdin), depth + 1)
        return len(self.steps) > before

    def embedded(self, embedded: cat.Embedded, call: _Call, read: TextReader) -> bool:
        texts = call.values(embedded.flags)
        if embedded.positional is not None and len(call.rest) > embedded.positional:
            texts.append(call.rest[embedded.positional].text)
        for file in call.values(embedded.files):
            self.from_file(file, embedded.language)
            return True
        if not texts and embedded.stdin and call.stdin is not None:
            return self.from_stdin(call.stdin, embedded.language, read)
        for text in texts:
            read(text)
        return bool(texts)

    def shell(self, call: _Call, depth: int) -> bool:
        """A shell's command string, script argument, or standard input (`-s`: the
        arguments are the script's, and the script comes on standard input)."""
        if "c" in call.options.flags and call.rest:
            self.script(call.rest[0].text, depth + 1)
            return True
        if call.rest and "s" not in call.options.flags and call.rest[0].text != "/dev/stdin":
            return self.script_file(call.rest[0])
        if call.stdin is not None:
            return self.from_stdin(call.stdin, "shell", lambda t: self.script(t, depth + 1))
        return False

    def sql_in_arguments(self, words: tuple[Word, ...]) -> None:
        """SQL handed to a tool the catalog does not describe (`mysqlsh -e "DROP SCHEMA x"`,
        `wrangler d1 execute db --command "DROP TABLE t"`) is read as SQL all the same."""
        for word in words:
            if " " in word.text and sql.looks_like_sql(word.text):
                self.compound = True
                self.sql_reader("generic")(word.text)

    def script_file(self, word: Word) -> bool:
        if word.substituted:  # `bash <(curl ...)`
            self.found(opaque(_piped_what(word.substituted, "run by a shell")))
        else:
            self.found(Finding(Effect.mutating, f"runs script {word.text}, which is not shown"))
        return True

    def from_stdin(self, stdin: Stdin, language: str, read: TextReader) -> bool:
        if stdin.kind == "text":
            read(stdin.text)
        elif stdin.kind == "file":
            self.from_file(stdin.text, language)
        elif (literal := _literal_output(stdin.producers)) is not None:
            read(literal)
        else:
            into = "a shell" if language == "shell" else language
            self.found(opaque(_piped_what(stdin.producers, f"piped into {into}")))
        return True

    def from_file(self, name: str, language: str) -> None:
        what = "commands" if language == "shell" else "SQL" if _is_sql(language) else "code"
        effect = Effect.destructive if _alarming(name) else Effect.mutating
        self.found(Finding(effect, f"runs {what} from {name}, which is not shown"))

    def sql_reader(self, dialect: str) -> TextReader:
        def read(text: str) -> None:
            name = None if dialect == "generic" else dialect
            for finding in sql.read_sql(text, name, self.budget):
                self.found(finding)

        return read

    def code_reader(self, language: str) -> TextReader:
        if _is_sql(language):
            return self.sql_reader(language)
        if language == "shell":  # `trap 'CMD' EXIT`
            return lambda text: self.script(text, 1)

        def read(text: str) -> None:
            for finding in code.read_inline(language, text, self.budget, self.shell_text):
                self.found(finding)

        return read

    def shell_text(self, text: str) -> list[Finding]:
        """Findings of a shell command written inside code (`os.system("...")`)."""
        inner = Reader(self.budget, where="")
        inner.script(text, 1)
        self.steps += inner.steps
        return inner.findings

    def writes(self, parsed: Script) -> None:
        for write in parsed.writes:
            target = write.target
            if any(fnmatchcase(target, glob) for glob in DISKS):
                self.found(Finding(Effect.destructive, f"overwrites disk {target}"))
            elif any(fnmatchcase(target, glob) for glob in SYSTEM_FILES) and not write.append:
                self.found(Finding(Effect.destructive, f"overwrites system file {target}"))
            elif not write.append and _empties(write.writer):
                self.found(Finding(Effect.destructive, f"empties file {target}"))
            else:
                self.found(Finding(Effect.mutating, f"writes file {target}"))

    def sensitive_reads(self, name: str, words: tuple[Word, ...]) -> None:
        if name in cat.catalog().readers and any(is_secret_path(w.text) for w in words[1:]):
            self.found(Finding(Effect.sensitive, f"reads credentials ({_shown(words)})"))


@dataclass(frozen=True)
class _Call:
    """One call of a catalogued tool: its entry, options and raw words."""

    tool: cat.Tool
    entry: cat.Entry
    options: cat.Options
    words: list[Word]
    used: int  # positionals that named the subcommand
    stdin: Stdin | None

    @property
    def rest(self) -> list[Word]:
        return self.options.positionals[self.used :]

    def values(self, flags: list[str]) -> list[str]:
        return [v for f in flags for v in self.options.flags.get(f.lstrip("-"), [])]

    def effect(self, content_read: bool = False) -> tuple[cat.EffectName, str]:
        """The entry's effect made worse by its conditions. Once the command's SQL, code or
        inner command was read, that reading decides, and only conditions still count."""
        dry_runs = [*self.tool.dry_run, *self.entry.dry_run]
        simulated = [c for c in dry_runs if cat.holds(c, self.options, self.rest)]
        if simulated and not content_read:
            return "read", simulated[0].says
        effect: cat.EffectName = "read" if content_read else self.entry.is_
        says = "" if content_read else self.entry.says
        conditions = [*self.tool.when, *self.entry.when]
        holding = [c for c in conditions if cat.holds(c, self.options, self.rest)]
        if holding:
            chosen = max(holding, key=lambda c: cat.EFFECT_ORDER.index(c.is_))
            if cat.worse(chosen.is_, effect) != effect or not content_read:
                effect, says = chosen.is_, chosen.says
        return effect, says or self.tool.says

    def inner_command(self, runs: cat.Runs) -> list[Word]:
        """The command this call runs, with its own options intact."""
        if runs.after is not None and self.options.separator is not None:
            return self.options.positionals[self.options.separator :]
        if runs.between:
            return _between(self.words, runs.between)
        if runs.positionals is not None:
            index = self.used + runs.positionals
            if index < len(self.options.positionals):
                return self.words[self.options.indices[index] :]
        return []


def _between(words: list[Word], starts: list[str]) -> list[Word]:
    """`find ... -exec rm -rf {} ;`: the words after the first start, up to `;` or `+`."""
    names = {s.lstrip("-") for s in starts}
    for index, word in enumerate(words):
        if word.text.startswith("-") and word.text.lstrip("-") in names:
            inner = words[index + 1 :]
            end = next((i for i, w in enumerate(inner) if w.text in (";", "+", "\\;")), None)
            return inner[:end]
    return []


def _entry(tool: cat.Tool, options: cat.Options) -> tuple[cat.Entry, int]:
    """The subcommand entry and how many arguments named it, or the tool itself. A first
    word we do not know (an option's value we did not expect, `kubectl --foo bar delete`)
    makes us look further along, so an unknown option never makes a command read milder."""
    positionals = options.positionals
    limit = options.separator if options.separator is not None else len(positionals)
    for start in range(min(limit, 4) if tool.commands else 0):
        found = cat.best_entry(tool, positionals[start:limit])
        if found is None:
            continue
        _, entry, used = found
        if start == 0:
            return entry, used
        if cat.worse(entry.is_, tool.is_) != tool.is_:
            return entry, start + used
    return tool, 0


def unwrap(wrapper: cat.Wrapper, words: list[Word]) -> tuple[list[Word], str | None]:
    """The command a wrapper runs: its argv, or a shell string (`su -c`, `watch`)."""
    index = _command_start(wrapper, words)
    if index < 0:
        return [], _option_value(words, -index - 1)
    rest = words[index:]
    if wrapper.string and rest:
        return [], " ".join(w.text for w in rest)
    return rest, None


def _command_start(wrapper: cat.Wrapper, words: list[Word]) -> int:
    """Where the wrapped command starts; -(i + 1) when option i holds it as a string
    (`su - postgres -c CMD`: the option may follow the wrapper's own arguments)."""
    index, skipped = 0, 0
    string_flags = [*wrapper.string_flags, *wrapper.split_flags]
    while index < len(words):
        text = words[index].text
        if text == "--":
            return index + 1
        if _has(text, string_flags):
            return -index - 1
        if wrapper.assignments and "=" in text and not text.startswith("-"):
            index += 1
        elif text.startswith("-"):
            index += 1 + _value_words(wrapper, text)
        elif skipped < wrapper.positionals:
            skipped += 1
            index += 1
        else:
            return _later_string_flag(wrapper, words, index)
    return index


def _later_string_flag(wrapper: cat.Wrapper, words: list[Word], index: int) -> int:
    """`runuser -l postgres -c CMD`: a user name, then the option holding the command."""
    for later in range(index + 1, min(len(words), index + 3)):
        if _has(words[later].text, wrapper.string_flags):
            return -later - 1
    return index


def _value_words(wrapper: cat.Wrapper, text: str) -> int:
    """How many following words an option of a wrapper takes: 0 or 1."""
    name, equals, _ = text.lstrip("-").partition("=")
    if equals or not name:
        return 0
    if text.startswith("--") or len(name) == 1:
        return int(name in wrapper.options)
    for position, letter in enumerate(name):  # a cluster: `-iu root`, or `-n10`
        if letter in wrapper.options:
            return int(position == len(name) - 1)
    return 0


def _option_value(words: list[Word], index: int) -> str:
    _, equals, inline = words[index].text.partition("=")
    if equals and words[index].text.startswith("--"):
        return inline
    return words[index + 1].text if index + 1 < len(words) else ""


def _has(text: str, flags: list[str]) -> bool:
    """`-c`, `--command` or `--command=x` among `flags`; `-lc` holds `-c` too."""
    if not text.startswith("-") or text == "-":
        return False
    name = text.lstrip("-").partition("=")[0]
    for flag in flags:
        bare = flag.lstrip("-")
        if name == bare or (len(bare) == 1 and not text.startswith("--") and bare in name):
            return True
    return False


def _body_destroys(options: cat.Options | None) -> bool:
    """A request body naming a destructive operation: `{"drop_all": true}`,
    `mutation { stackDelete(...) }`, `"is-destroy": true`."""
    flags = options.flags if options else {}
    bodies = [v for name in BODY_OPTIONS for v in flags.get(name, [])]
    names = [t for body in bodies for t in _IDENTIFIER.findall(body) if _code_like(t)]
    names += [k for body in bodies for k in _JSON_KEY.findall(body)]
    return any(names_destruction(name) for name in names)


def _code_like(token: str) -> bool:
    """`drop_all`, `stackDelete`, `is-destroy`: an identifier, not a word of prose."""
    return "_" in token or "-" in token or any(c.isupper() for c in token[1:])


def _scales_to_zero(options: cat.Options | None) -> bool:
    """`--replicas=0`, `--node-count 0`, `--desired-capacity=0`: nothing left running."""
    flags = options.flags if options else {}
    return any(
        name.replace("_", "-") in ZERO_OPTIONS and "0" in values for name, values in flags.items()
    )


def _by_its_words(
    program: str, options: cat.Options, known: bool
) -> tuple[cat.EffectName, str] | None:
    """A subcommand the catalog does not know whose name destroys (`aliyun ecs
    DeleteInstance`, `nats stream rm`, `restic forget --prune`, `k3s-uninstall.sh`)."""
    names = [w.text for w in options.positionals[:3] if not any(c in w.text for c in "/.=")]
    if not known:
        names.append(posixpath.splitext(program)[0])
    named = next((n for n in names if names_destruction(n, SUBCOMMAND_VERBS)), None)
    flags = [f for f in options.flags if len(f) > 2 and names_destruction(f)]
    named = named or next(iter(flags), None)
    return ("destructive", f"runs {named}, whose name says it destroys") if named else None


def _open_to_everyone(words: tuple[Word, ...], options: cat.Options | None) -> bool:
    """A command that changes things and names 0.0.0.0/0 or ::/0, or a source option of `*`
    (`--source-address-prefixes '*'`): a network rule open to the whole internet."""
    if any(cidr in w.text for w in words for cidr in WHOLE_INTERNET):
        return True
    flags = options.flags if options else {}
    return any(
        value in ("*", "Internet", "any", "Any")
        for name, values in flags.items()
        if any(part in name for part in ("source", "cidr", "prefix", "remote-ip"))
        for value in values
    )


def is_secret_path(text: str) -> bool:
    """A path to credentials however it is spelled (`/etc//shadow`, `~/.aws/CREDENTIALS`), or a
    pattern that could match one (`~/.ss?/id_r*`, `cred{e,}ntials`)."""
    data = cat.catalog()
    for spelling in _brace_expanded(text):
        path = posixpath.normpath(spelling).lower() if spelling else spelling
        if any(fnmatchcase(path, glob.lower()) for glob in data.sensitive_paths):
            return True
        if any(c in path for c in "*?[") and any(
            fnmatchcase(example.lower(), f"*{path.lstrip('.')}")
            or fnmatchcase(example.lower(), path)
            for example in data.sensitive_examples
        ):
            return True
    return False


def _brace_expanded(text: str) -> list[str]:
    """`a{b,c}d` -> `abd`, `acd` (one level, as far as reading needs)."""
    start, end = text.find("{"), text.find("}")
    if start < 0 or end < start or "," not in text[start:end]:
        return [text]
    return [text[:start] + part + text[end + 1 :] for part in text[start + 1 : end].split(",")]


def _empties(writer: tuple[str, ...]) -> bool:
    """`> f`, `: > f`, `cat /dev/null > f`, `echo -n > f`: the file is left empty."""
    empty_writers = {(), (":",), ("true",), ("cat", "/dev/null"), ("echo", "-n"), ("printf", "")}
    return writer in empty_writers


def _literal_output(producers: tuple[Command, ...]) -> str | None:
    """What `echo '...'`, `printf '...'` or `cat <<EOF` write, when it is written out."""
    texts: list[str] = []
    for producer in producers:
        program = cat.program_name(producer.words[0].text) if producer.words else ""
        args = [w for w in producer.words[1:] if not w.text.startswith("-")]
        if program in ("echo", "printf") and not any(w.dynamic for w in args):
            texts.append(" ".join(w.text for w in args))
        elif program == "cat" and not args and producer.stdin and producer.stdin.kind == "text":
            texts.append(producer.stdin.text)
        else:
            return None
    return "\n".join(texts) if texts else None


def _piped_what(producers: tuple[Command, ...], into: str) -> str:
    data = cat.catalog()
    names = [cat.program_name(p.words[0].text) for p in producers if p.words]
    shown = " | ".join(names) or "a command"
    if any(n in data.downloaders for n in names):
        return f"a download {into} ({shown})"
    if any(n in data.decoders for n in names):
        return f"decoded text {into} ({shown})"
    return f"the output of {shown} {into}"


def _is_sql(language: str) -> bool:
    return language in SQL_DIALECTS


def _alarming(name: str) -> bool:
    return any(w in name.lower() for w in ALARMING_NAMES)


def _shown(words: tuple[Word, ...] | list[Word]) -> str:
    text = shlex.join(w.text for w in words)
    return text if len(text) <= SHOWN else text[: SHOWN - 1] + "…"
