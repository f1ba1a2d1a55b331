"""Inline PowerShell (`pwsh -Command CODE`), read command by command.

A statement is a pipeline of commands; each command is read by its cmdlet (aliases such as
`rm` and `kill` first become `Remove-Item` and `Stop-Process`), and a cmdlet the table does
not name is read by its verb (`Remove-*` destroys, `Get-*` reads). A script block
(`Where-Object { $_.CPU -gt 100 }`) is read as PowerShell of its own. A bare word that is not
a cmdlet is a program, handed to the shell reader when its arguments are literal.
"""

from __future__ import annotations

import re
import shlex

from bot.reading.code import text
from bot.reading.code.rules import (
    Rule,
    ShellReader,
    Site,
    Table,
    cannot,
    does,
    read_from,
    reads,
    refuses,
    shell_built,
    shorten,
    unique,
)
from bot.reading.findings import Budget, Effect, Finding

LANGUAGE = "powershell"
_D, _M, _S = Effect.destructive, Effect.mutating, Effect.sensitive
_ESCAPE = "`"
_ASSIGNMENT = re.compile(r"^\$[\w:]+\s*[-+*/]?=\s*")
_WORD = re.compile(r"""(?:'(?:[^']|'')*'|"(?:[^"`]|`.)*"|[^\s'"])+""")
_SECRETS = re.compile(r"\$env:|\benv:", re.IGNORECASE)
_UNREADABLE = re.compile(r"[(\[@]|::")  # subexpressions, .NET calls, splatting
_BLOCK = "ScriptBlock"  # what a block becomes in its command
_PLAIN = re.compile(r"[\w./\\:=+,~-]+")


def read_powershell(code: str, budget: Budget, read_shell: ShellReader) -> list[Finding]:
    """What inline PowerShell does; no finding when every command only reads."""
    findings, unread = _read(code, budget, read_shell)
    if unread:
        findings.append(cannot(LANGUAGE, f"runs {shorten(unread[0], 60)}"))
    return unique(findings)


def _read(code: str, budget: Budget, read_shell: ShellReader) -> tuple[list[Finding], list[str]]:
    """The findings of some PowerShell, and the commands that could not be read."""
    findings: list[Finding] = []
    unread: list[str] = []
    for statement in text.split(code, ";\n", budget, _ESCAPE):
        if _SECRETS.search(statement):
            findings.append(Finding(_S, f"reads environment variables ({shorten(statement)})"))
        pipeline = _ASSIGNMENT.sub("", statement)
        for command in text.split(pipeline, "|", budget, _ESCAPE):
            found, missed = _command(command, budget, read_shell)
            findings += found
            unread += missed
    return findings, unread


def _command(
    command: str, budget: Budget, read_shell: ShellReader
) -> tuple[list[Finding], list[str]]:
    plain, blocks = _blocks(command)
    findings: list[Finding] = []
    unread: list[str] = []
    for block in blocks:
        found, missed = _read(block, budget, read_shell)
        findings += found
        unread += missed
    if _UNREADABLE.search(text.mask(plain, _ESCAPE)):
        return findings, [*unread, command]
    words = _WORD.findall(plain)
    if not words or words[0].startswith(("$", "'", '"')) or words[0][0].isdigit():
        return findings, unread  # an expression: $_.CPU -gt 100, $PSVersionTable
    found = _cmdlet(words, command, read_shell)
    return findings + found, unread


def _blocks(command: str) -> tuple[str, list[str]]:
    """The command with each `{ ... }` taken out, and what the blocks hold."""
    blocks = []
    while (start := text.mask(command, _ESCAPE).find("{")) >= 0:
        close = text.closing(command[start:], _ESCAPE)
        end = start + close if close > 0 else len(command)
        blocks.append(command[start + 1 : end])
        command = f"{command[:start]}{_BLOCK}{command[end + 1 :]}"
    return command, blocks


def _cmdlet(words: list[str], command: str, read_shell: ShellReader) -> list[Finding]:
    name = words[0].lower()
    if name in ("&", "."):  # the call operator runs a program by its (quoted) name
        return _program(words[1:], command, read_shell)
    name = _ALIASES.get(name, name)
    rule = CMDLETS.find(name)
    if rule is None and not re.fullmatch(r"[a-z]+-\w+", name):
        return _program(words, command, read_shell)
    args = tuple(_unquoted(word) for word in words[1:])
    site = Site(LANGUAGE, name, lambda: command, read_shell, args=args)
    return rule(site) if rule else [cannot(LANGUAGE, f"runs {words[0]}")]


def _program(words: list[str], command: str, read_shell: ShellReader) -> list[Finding]:
    argv = [_unquoted(word) for word in words]
    if not argv or any(arg is None for arg in argv):
        return [shell_built(Site(LANGUAGE, "&", lambda: command, read_shell))]
    return read_shell(shlex.join(arg for arg in argv if arg is not None))


def _unquoted(word: str) -> str | None:
    """A word's literal value: bare, or in quotes that interpolate nothing."""
    if len(word) > 1 and word[0] == word[-1] == "'":
        return word[1:-1].replace("''", "'")
    if len(word) > 1 and word[0] == word[-1] == '"' and "$" not in word and "`" not in word:
        return word[1:-1]
    return word if _PLAIN.fullmatch(word) else None


def _reads_file(site: Site) -> list[Finding]:
    paths = [arg for arg in site.args if not (isinstance(arg, str) and arg.startswith("-"))]
    return read_from(paths[0] if paths else None, site)


def _each(names: str, rule: Rule) -> dict[str, Rule]:
    return dict.fromkeys(names.split(), rule)


def _aliases(names: str, cmdlet: str) -> dict[str, str]:
    return dict.fromkeys(names.split(), cmdlet)


_ALIASES = {
    **_aliases("rm del erase rd ri rmdir", "remove-item"),
    **_aliases("kill spps", "stop-process"),
    **_aliases("ls dir gci", "get-childitem"),
    **_aliases("ps gps", "get-process"),
    **_aliases("echo write", "write-output"),
    **_aliases("cat gc type", "get-content"),
    **_aliases("pwd gl", "get-location"),
    **_aliases("cd sl chdir", "set-location"),
    **_aliases("cp copy cpi", "copy-item"),
    **_aliases("mv move mi", "move-item"),
    **_aliases("ni mkdir md", "new-item"),
    **_aliases("ren rni", "rename-item"),
    **_aliases("iwr curl wget", "invoke-webrequest"),
    **_aliases("saps start", "start-process"),
    **_aliases("where ?", "where-object"),
    **_aliases("% foreach", "foreach-object"),
    **_aliases("cls clear", "clear-host"),
    "sc": "set-content",
    "ac": "add-content",
    "clc": "clear-content",
    "iex": "invoke-expression",
    "icm": "invoke-command",
    "ii": "invoke-item",
    "irm": "invoke-restmethod",
    "sleep": "start-sleep",
    "select": "select-object",
    "sort": "sort-object",
    "measure": "measure-object",
    "ft": "format-table",
    "fl": "format-list",
    "gsv": "get-service",
    "spsv": "stop-service",
    "sasv": "start-service",
    "tee": "tee-object",
    "sls": "select-string",
    "gi": "get-item",
}

# Cmdlets by name, lower case; exact names first, then verbs in this order.
CMDLETS = Table(
    {
        "remove-item": does(_D, "deletes files"),
        "stop-service": does(_D, "stops a service"),
        "stop-process": does(_D, "stops a process"),
        "stop-computer": does(_D, "shuts down the computer"),
        "restart-computer": does(_D, "restarts the computer"),
        "format-volume": does(_D, "formats a volume"),
        "clear-content": does(_D, "empties a file"),
        "clear-disk": does(_D, "wipes a disk"),
        "clear-host": reads,
        "get-content": _reads_file,
        **_each("set-location push-location pop-location start-sleep", reads),
        **_each("out-string out-host out-null out-default", reads),
        **_each("invoke-webrequest invoke-restmethod", does(_M, "makes a network request")),
        **_each(
            "invoke-* add-type start-job start-process", refuses("runs code built at run time")
        ),
        **_each("remove-* unregister-* uninstall-*", does(_D, "removes something")),
        **_each("stop-* disable-* restart-*", does(_D, "stops something")),
        "clear-*": does(_D, "clears something"),
        **_each("set-content add-content out-file tee-object export-*", does(_M, "writes a file")),
        **_each("new-item copy-item move-item rename-item", does(_M, "changes files")),
        **_each(
            "set-* new-* add-* enable-* install-* register-* start-* update-*",
            (does(_M, "changes something")),
        ),
        **_each("write-* get-* test-* select-* sort-* where-* foreach-* measure-*", reads),
        **_each("group-* compare-* format-* convertto-* convertfrom-* resolve-*", reads),
        **_each("split-* join-* import-module import-csv read-host", reads),
    }
)
