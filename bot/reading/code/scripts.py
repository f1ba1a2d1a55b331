"""Inline Perl, Ruby, PHP, Lua and unknown languages, read by shapes, since no parser for them
is at hand.

Each statement must be a shape known to be harmless (`print "hi"`, `puts RUBY_VERSION`,
`s/a/b/g`) or one call from the language's table with what follows it (`unlink "/x"`,
`system("rm -rf /x")`); anything else makes the code unreadable. Calls from the table are
found and reported wherever they stand, so unreadable code still says what it deletes.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from bot.reading.code import text
from bot.reading.code.rules import (
    Arg,
    Rule,
    ShellReader,
    Site,
    Table,
    cannot,
    does,
    open_file,
    read_from,
    reads,
    refuses,
    run_arguments,
    run_command,
    shell_built,
    shorten,
    unique,
    write_to,
)
from bot.reading.findings import Budget, Effect, Finding

_D, _M, _S = Effect.destructive, Effect.mutating, Effect.sensitive


@dataclass(frozen=True)
class Dialect:
    """What reading knows of one language."""

    language: str
    calls: Table  # functions by the name they are written with: "unlink", "FileUtils.rm_rf"
    harmless: re.Pattern[str]  # a whole statement that only prints or edits the current line
    secrets: re.Pattern[str]  # a read of the environment
    commands: tuple[re.Pattern[str], ...]  # backticks and the like; group "command" is one
    interpolates: re.Pattern[str]  # what makes a double-quoted string not literal


def read_script(
    dialect: Dialect, code: str, budget: Budget, read_shell: ShellReader
) -> list[Finding]:
    """What inline code in `dialect` does; no finding when every statement is harmless."""
    findings, unread = [], []
    names = _names(dialect.calls)
    for statement in text.split(code, ";\n", budget):
        found, known = _statement(dialect, names, statement, budget, read_shell)
        findings += found
        unread += [] if known else [statement]
    if unread:
        findings.append(cannot(dialect.language, f"runs {shorten(unread[0], 60)}"))
    return unique(findings)


def _statement(
    dialect: Dialect,
    names: re.Pattern[str],
    statement: str,
    budget: Budget,
    read_shell: ShellReader,
) -> tuple[list[Finding], bool]:
    """A statement's findings, and whether all of it was read."""
    findings = _secrets(dialect, statement)
    if dialect.harmless.fullmatch(statement):  # no call in it: a name in it is inside a string
        return findings, True
    whole = False
    for call in names.finditer(text.mask(statement)):
        found, end = _call(dialect, call, statement, budget, read_shell)
        findings += found
        whole = whole or (call.start() == 0 and end == len(statement))
    for command in (found for shape in dialect.commands for found in shape.finditer(statement)):
        findings += _command(dialect, command, read_shell)
        whole = whole or command.group() == statement
    return findings, whole


def _secrets(dialect: Dialect, statement: str) -> list[Finding]:
    if not dialect.secrets.search(statement):
        return []
    return [Finding(_S, f"reads environment variables ({shorten(statement)})")]


def _call(
    dialect: Dialect,
    call: re.Match[str],
    statement: str,
    budget: Budget,
    read_shell: ShellReader,
) -> tuple[list[Finding], int]:
    """The findings of one call from the table, and where the call ends."""
    written, end = _arguments(statement, call.end())
    pieces = text.split(written, ",", budget)
    args = tuple(_literal(dialect, piece) for piece in pieces)
    source = statement[call.start() : end]
    site = Site(dialect.language, call["name"], lambda: source, read_shell, args=args)
    rule = dialect.calls.find(call["name"])
    return (rule(site) if rule else []), end


def _arguments(statement: str, start: int) -> tuple[str, int]:
    """What a call is given, in parentheses or up to the end of the statement."""
    rest = statement[start:].lstrip()
    if not rest.startswith("("):
        return rest, len(statement)
    offset = len(statement) - len(rest)
    close = text.closing(rest)
    return (rest[1:], len(statement)) if close < 0 else (rest[1:close], offset + close + 1)


_STRING = re.compile(r"""'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*\"""", re.DOTALL)
_ESCAPE = re.compile(r"\\(.)", re.DOTALL)
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "0": "\0"}


def _literal(dialect: Dialect, piece: str) -> Arg:
    if not _STRING.fullmatch(piece):
        return None
    body = piece[1:-1]
    if piece[0] == '"' and dialect.interpolates.search(body):
        return None
    return _ESCAPE.sub(lambda found: _ESCAPES.get(found[1], found[1]), body)


def _command(dialect: Dialect, found: re.Match[str], read_shell: ShellReader) -> list[Finding]:
    command = found["command"]
    site = Site(dialect.language, "`", lambda: found.group(), read_shell)
    if dialect.interpolates.search(command):
        return [shell_built(site)]
    return read_shell(command)


@functools.cache
def _names(calls: Table) -> re.Pattern[str]:
    alternatives = "|".join(
        re.escape(name) for name in sorted(calls.names(), key=len, reverse=True)
    )
    return re.compile(rf"(?<![\w$@%:.>-])(?P<name>{alternatives})(?![\w:])")


def _each(names: str, rule: Rule) -> dict[str, Rule]:
    return dict.fromkeys(names.split(), rule)


def _reads_file(site: Site) -> list[Finding]:
    return read_from(site.arg(0), site)


def _overwrites_file(site: Site) -> list[Finding]:
    return write_to(site.arg(0), "overwrites", site)


def _opens_file(site: Site) -> list[Finding]:
    return open_file(site.arg(0), site.arg(1) if site.given(1) else "r", site)


_PERL_MODE = re.compile(
    r"\s*(?P<mode>\+?(?:>>|>|<)|-\||\|-|\|)?\s*(?P<path>.*?)\s*(?P<pipe>\|)?\s*"
)


def _perl_open(site: Site) -> list[Finding]:
    """open(FH, '>', 'f'), open(FH, '>f'), open(FH, '-|', 'cmd'), open(FH, 'cmd |')."""
    spec = [arg for arg in site.args[1:3] if isinstance(arg, str)]
    found = (
        _PERL_MODE.fullmatch(" ".join(spec)) if spec and len(spec) == len(site.args[1:3]) else None
    )
    if found is None:
        return [site.cannot(f"opens a file chosen at run time ({site.shown})")]
    mode, path = found["mode"] or "", found["path"]
    if "|" in mode or found["pipe"]:
        return site.read_shell(path)
    if ">" in mode:
        return write_to(path, "appends to" if ">>" in mode else "overwrites", site)
    return read_from(path, site)


_BACKTICKS = re.compile(r"`(?P<command>[^`]*)`")
_NEVER = re.compile(r"(?!)")

# Pieces of the harmless shapes.
_SQ = r"'(?:[^'\\]|\\.)*'"
_DQ_PLAIN = r'"(?:[^"\\]|\\.)*"'
_NUMBER = r"-?\d+(?:\.\d+)?"


def _listed(term: str, joiners: str = ",") -> str:
    # Atomic terms: "1.1.1" must not be tried as every split into numbers and dots. An
    # atomic term keeps its first alternative that matches, so longer ones come first.
    return rf"(?>{term})(?:\s*(?:{joiners})\s*(?>{term}))*"


_PERL_CALLS: dict[str, Rule] = {
    "unlink": does(_D, "deletes files"),
    **_each("rmtree remove_tree File::Path::rmtree", does(_D, "deletes a directory tree")),
    "rmdir": does(_D, "deletes a directory"),
    "kill": does(_D, "stops a process"),
    "truncate": does(_D, "empties a file"),
    **_each("system exec", run_arguments),
    "open": _perl_open,
    "rename": does(_M, "renames a file"),
    **_each("mkdir make_path", does(_M, "creates a directory")),
    **_each("chmod chown utime", does(_M, "changes file permissions")),
    **_each("symlink link", does(_M, "creates a link")),
    "eval": refuses("evaluates code built at run time"),
}
_PERL_VAR = r"\$(?:ENV\{\w+\}|\w+(?:\[-?\d+\]|\{\w+\})?|[&.\]]|\^V)"
_PERL_DQ = r'"(?:[^"\\$@]|\\.|\$(?>\w+|[&.\]]))*"'  # scalars interpolate, no code runs
_PERL_TERM = rf"(?:{_SQ}|{_PERL_DQ}|{_PERL_VAR}|{_NUMBER})"
_PERL_REGEX = r"m?/(?:[^/\\]|\\.)*/[msixpn]*"
_PERL_CONDITION = rf"(?:\s+(?:if|unless)\s+!?\s*{_PERL_REGEX})?"
_PERL_EDIT = r"(?:s|tr|y)([/|#!,:])(?:(?!\1)[^\\]|\\.)*\1(?:(?!\1)[^\\]|\\.)*\1[a-df-z]*"  # no /e
_PERL_PRINT = rf"(?:print|say|printf)(?:\s*\(?\s*{_listed(_PERL_TERM, '[,.]')}\s*\)?)?"
PERL = Dialect(
    language="perl",
    calls=Table(_PERL_CALLS),
    harmless=re.compile(
        # (?{ ... }) in a regex runs code; so does s///e, which _PERL_EDIT leaves out.
        rf"(?!.*\(\?\??\{{)(?:{_PERL_PRINT}{_PERL_CONDITION}|{_PERL_EDIT}{_PERL_CONDITION}"
        rf"|(?:next|last)\s+(?:if|unless)\s+!?\s*{_PERL_REGEX}|chomp|chop"
        r"|use\s+[\w:]+(?:\s+qw\([\w\s:]*\))?)",
        re.DOTALL,
    ),
    secrets=re.compile(r"\$ENV\{|%ENV"),
    commands=(
        _BACKTICKS,
        re.compile(r"\bqx\s*\{(?P<command>[^}]*)\}"),
        re.compile(r"\bqx\s*\((?P<command>[^)]*)\)"),
        re.compile(r"\bqx\s*/(?P<command>[^/]*)/"),
    ),
    interpolates=re.compile(r"[$@]"),
)

_RUBY_CALLS: dict[str, Rule] = {
    **_each(
        "FileUtils.rm_rf FileUtils.rm_r FileUtils.remove_dir FileUtils.remove_entry "
        "FileUtils.remove_entry_secure FileUtils.rmtree",
        does(_D, "deletes a directory tree"),
    ),
    **_each(
        "FileUtils.rm FileUtils.rm_f FileUtils.remove File.delete File.unlink",
        does(_D, "deletes files"),
    ),
    **_each("Dir.rmdir Dir.delete Dir.unlink FileUtils.rmdir", does(_D, "deletes a directory")),
    "Process.kill": does(_D, "stops a process"),
    "File.truncate": does(_D, "empties a file"),
    **_each(
        "system exec spawn Kernel.system Kernel.exec Kernel.spawn IO.popen "
        "Open3.capture2 Open3.capture2e Open3.capture3 Open3.popen2 Open3.popen3",
        run_arguments,
    ),
    **_each("File.write IO.write", _overwrites_file),
    "File.open": _opens_file,
    **_each("File.read IO.read File.readlines IO.readlines File.foreach", _reads_file),
    **_each("FileUtils.mv FileUtils.move File.rename", does(_M, "moves files")),
    **_each("FileUtils.cp FileUtils.cp_r FileUtils.copy", does(_M, "copies files")),
    **_each(
        "FileUtils.mkdir FileUtils.mkdir_p FileUtils.makedirs FileUtils.touch",
        does(_M, "creates files or directories"),
    ),
    **_each(
        "FileUtils.chmod FileUtils.chmod_R FileUtils.chown FileUtils.chown_R File.chmod File.chown",
        does(_M, "changes file permissions"),
    ),
    **_each("FileUtils.ln FileUtils.ln_s FileUtils.ln_sf", does(_M, "creates a link")),
    **_each(
        "eval instance_eval class_eval module_eval send public_send",
        refuses("evaluates code built at run time"),
    ),
}
_RUBY_DQ = r'"(?:[^"\\#]|\\.|#(?!\{))*"'  # "#{...}" runs code
_RUBY_STRING = rf"(?:{_SQ}|{_RUBY_DQ})"
_RUBY_TERM = rf"(?:{_RUBY_STRING}|ENV\[{_RUBY_STRING}\]|[A-Z]\w*(?:::[A-Z]\w*)*|{_NUMBER}|:\w+)"
RUBY = Dialect(
    language="ruby",
    calls=Table(_RUBY_CALLS),
    harmless=re.compile(
        rf"(?:puts|print|p|pp)(?:\s*\(?\s*{_listed(_RUBY_TERM)}\s*\)?)?"
        rf"|require\s*\(?\s*{_RUBY_STRING}\s*\)?",
        re.DOTALL,
    ),
    secrets=re.compile(r"\bENV\b"),
    commands=(
        _BACKTICKS,
        re.compile(r"%x\((?P<command>[^)]*)\)"),
        re.compile(r"%x\{(?P<command>[^}]*)\}"),
    ),
    interpolates=re.compile(r"#\{"),
)

_PHP_CALLS: dict[str, Rule] = {
    "unlink": does(_D, "deletes a file"),
    "rmdir": does(_D, "deletes a directory"),
    "posix_kill": does(_D, "stops a process"),
    "ftruncate": does(_D, "empties a file"),
    **_each("system exec shell_exec passthru popen proc_open pcntl_exec", run_command),
    "file_put_contents": _overwrites_file,
    "fopen": _opens_file,
    **_each("file_get_contents readfile file", _reads_file),
    "rename": does(_M, "renames a file"),
    **_each("mkdir touch copy", does(_M, "creates or copies files")),
    **_each("chmod chown chgrp", does(_M, "changes file permissions")),
    **_each("symlink link", does(_M, "creates a link")),
    **_each("eval assert create_function", refuses("evaluates code built at run time")),
    **_each("include require include_once require_once", refuses("loads other code")),
}
_PHP_DQ = r'"(?:[^"\\$]|\\.)*"'
_PHP_STRING = rf"(?:{_SQ}|{_PHP_DQ})"
_PHP_TERM = (
    rf"(?:{_PHP_STRING}|PHP_\w+|phpversion\(\)|php_uname\(\)|getenv\({_PHP_STRING}\)|{_NUMBER})"
)
PHP = Dialect(
    language="php",
    calls=Table(_PHP_CALLS),
    harmless=re.compile(
        rf"(?:echo|print)\s*\(?\s*{_listed(_PHP_TERM, '[,.]')}\s*\)?"
        rf"|var_dump\s*\(\s*{_listed(_PHP_TERM)}\s*\)|phpinfo\s*\(\s*\)",
        re.DOTALL,
    ),
    secrets=re.compile(r"\bgetenv\b|\$_ENV|\$_SERVER"),
    commands=(_BACKTICKS,),
    interpolates=re.compile(r"\$"),
)

_LUA_CALLS: dict[str, Rule] = {
    "os.remove": does(_D, "deletes a file"),
    "os.rename": does(_M, "renames a file"),
    **_each("os.execute io.popen", run_command),
    "io.open": _opens_file,
    **_each("os.getenv os.exit", reads),  # os.getenv is reported as a secret read
    **_each("load loadstring dofile loadfile require", refuses("loads other code")),
}
_LUA_STRING = rf"(?:{_SQ}|{_DQ_PLAIN})"
_LUA_JOINERS = r",|\.\."
_LUA_TERM = rf"(?:{_LUA_STRING}|_VERSION|{_NUMBER}|os\.getenv\({_LUA_STRING}\))"
LUA = Dialect(
    language="lua",
    calls=Table(_LUA_CALLS),
    harmless=re.compile(
        rf"(?:print|io\.write)\s*\(\s*(?:{_listed(_LUA_TERM, _LUA_JOINERS)})?\s*\)", re.DOTALL
    ),
    secrets=re.compile(r"\bos\.getenv\b"),
    commands=(),
    interpolates=_NEVER,  # Lua's strings never interpolate
)

# A language reading does not know: the calls of all of the above and AppleScript's shell;
# nothing is harmless but a statement that is one of those calls.
OTHER = Dialect(
    language="other",
    calls=Table(
        {
            **_PERL_CALLS,
            **_RUBY_CALLS,
            **_PHP_CALLS,
            **_LUA_CALLS,
            "open": _perl_open,
            "do shell script": run_command,
        }
    ),
    harmless=_NEVER,
    secrets=re.compile(r"\$ENV\{|\bENV\[|\bgetenv\b|\$env:"),
    commands=(_BACKTICKS,),
    interpolates=re.compile(r"[$@]|#\{"),
)
