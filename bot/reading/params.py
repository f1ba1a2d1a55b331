"""Reading `params`: the arguments of a tool call (HumanLayer kwargs, MCP, the decorator).

A string under a key that names SQL (`query`, `sql`) is read as SQL when it has SQL's shape; one
under a key that names a command (`command`, `cmd`, `script`) as a shell command, and a list of
strings there as an argv; code (`code`, `python`) as inline code. Any other string is read as
SQL or as a command only when it looks like one (`DROP TABLE x`, `rm -rf /srv`), so prose that
says "drop by my desk" stays prose. Base64 that decodes to text is read as that text.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Iterator
from typing import Any

from bot.reading import catalog as cat
from bot.reading import code, sql
from bot.reading.calls import mappings
from bot.reading.commands import Reader
from bot.reading.findings import Budget, Effect, Finding, opaque
from bot.reading.shell import parse
from bot.reading.words import names_destruction

SQL_KEYS = frozenset({"query", "sql", "statement", "stmt", "sql_query", "ddl", "dml", "queries"})
COMMAND_KEYS = frozenset({"command", "cmd", "shell", "script", "bash", "sh", "run", "exec",
                          "command_line", "commandline", "commands", "argv", "cmdline",
                          "shell_command", "bash_command"})  # fmt: skip
CODE_KEYS = frozenset({"code", "python", "python_code", "source", "snippet", "js", "javascript",
                       "eval", "expression", "script_code"})  # fmt: skip
# Text a tool shows or sends to people, not what it runs: a chat message quoting `rm -rf` is
# not a command. (SQL- and command-named keys are read whatever their neighbours are.)
PROSE_KEYS = frozenset({"text", "message", "body", "comment", "description", "title", "summary",
                        "content", "note", "notes", "reason", "subject", "caption", "markdown",
                        "html", "prompt", "question", "answer", "justification"})  # fmt: skip
LANGUAGE_KEYS = ("language", "lang", "runtime")
PROGRAM_KEYS = ("program", "executable", "binary", "bin", "exe")
ARGS_KEYS = ("args", "arguments", "argv", "params")
# Keys that name the operation a structured call performs (`{"operation": "deleteMany"}`,
# `{"method": "DELETE"}`, `{"op": "delete_repository"}`).
VERB_KEYS = frozenset({"op", "operation", "action", "method", "verb", "function", "tool",
                       "tool_name", "name", "command_name", "api", "call", "type"})  # fmt: skip
BASE64 = re.compile(r"^[A-Za-z0-9+/]{16,}={0,2}$")
COMMANDISH = re.compile(r"(^|\s)(-{1,2}[A-Za-z]|/|\./|~/)")
MAX_DEPTH = 3  # decoded text inside decoded text


def read_params(params: dict[str, Any], budget: Budget, command: str = "") -> list[Finding]:
    """Findings for everything in `params` that reads as SQL, a command or code; a value that
    repeats the request's command (a hook sends the tool input whole) is read once, there."""
    found: list[Finding] = []
    for path, key, value, siblings in [*_strings(params, "params"), *_programs(params)]:
        budget.check()
        if command and value == command:
            continue
        for finding in _read_value(key, value, siblings, budget, 0):
            if (placed := finding.at(path)) not in found:
                found.append(placed)
    return found


def _programs(params: dict[str, Any]) -> Iterator[Found]:
    """`{"program": "rm", "args": ["-rf", "/srv"]}`: a program and its arguments, as an argv."""
    for path, mapping in mappings(params, "params"):
        keys = {str(k).lower(): v for k, v in mapping.items()}
        program = next((keys[k] for k in PROGRAM_KEYS if isinstance(keys.get(k), str)), None)
        args: list[Any] = next((keys[k] for k in ARGS_KEYS if isinstance(keys.get(k), list)), [])
        if program is not None:
            argv = [program, *(str(a) for a in args)]
            yield path, "argv", argv, mapping


Found = tuple[str, str, Any, dict[str, Any]]  # path, key, value, the mapping it sits in


def _strings(
    value: Any, path: str, key: str = "", siblings: dict[str, Any] | None = None
) -> Iterator[Found]:
    """Every string and argv-like list, with where it is."""
    if isinstance(value, dict):
        for child_key, child in value.items():
            yield from _strings(child, f"{path}.{child_key}", str(child_key).lower(), value)
    elif isinstance(value, list) and _is_argv(key, value):
        yield path, key, value, siblings or {}
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from _strings(child, f"{path}[{index}]", key, siblings)
    elif isinstance(value, str):
        yield path, key, value, siblings or {}


def _is_argv(key: str, value: list[Any]) -> bool:
    if not value or not all(isinstance(v, str) for v in value):
        return False
    return key in COMMAND_KEYS or _known_program(value[0])


def _read_value(key: str, value: str | list[str], siblings: dict[str, Any], budget: Budget,
                depth: int) -> list[Finding]:  # fmt: skip
    if isinstance(value, list):
        return _command(value, budget)
    if (inner := _json(value)) is not None and depth < MAX_DEPTH:  # tool-call arguments
        return read_params(inner, budget) if isinstance(inner, dict) else _listed(inner, budget)
    if key in PROSE_KEYS:
        return []
    if key in VERB_KEYS and names_destruction(value):
        return [Finding(Effect.destructive, f"asks for the operation {value!r}")]
    if key in CODE_KEYS:
        return _code(value, siblings, budget)
    if key in COMMAND_KEYS:
        return _command(value, budget)
    if sql.looks_like_sql(value):
        return sql.read_sql(value, None, budget)
    if _looks_like_command(value, budget):
        return _command(value, budget)
    decoded = _decoded(value) if depth < MAX_DEPTH else None
    if decoded is not None:
        inner = _read_value(key, decoded, siblings, budget, depth + 1)
        return [f.at("(base64)") for f in inner]
    return []


def _json(value: str) -> Any:
    """A JSON object or array inside a string (OpenAI-style tool-call `arguments`)."""
    text = value.strip()
    if not text.startswith(("{", "[")):
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None


def _listed(values: list[Any], budget: Budget) -> list[Finding]:
    return read_params({"items": values}, budget)


def _command(value: str | list[str], budget: Budget) -> list[Finding]:
    reader = Reader(budget, where="")
    if isinstance(value, list) and value and any(c.isspace() for c in value[0]):
        reader.script("\n".join(value))  # shell lines, not an argv
    elif isinstance(value, list):
        reader.argv(value)
    elif (decoded := _decoded(value)) is not None and not _looks_like_command(value, budget):
        reader.script(decoded)
    elif BASE64.match(value.strip()):
        return [opaque("a command that looks encoded")]
    else:
        reader.script(value)
    return reader.findings


def _code(value: str, siblings: dict[str, Any], budget: Budget) -> list[Finding]:
    language = next((str(siblings[k]).lower() for k in LANGUAGE_KEYS if k in siblings), "")
    if not language and value.lstrip().startswith(("db.", "use ", "show ")):
        language = "mongo"
    if language in ("sql", "postgres", "postgresql", "mysql", "sqlite"):
        return sql.read_sql(value, None, budget)
    if language in ("bash", "sh", "shell", "zsh"):
        return _command(value, budget)
    language = {"py": "python", "js": "node", "javascript": "node"}.get(language, language)
    known = ("python", "node", "perl", "ruby", "php", "lua", "powershell", "mongo")
    return code.read_inline(
        language if language in known else "python", value, budget, _shell_findings(budget)
    )


def _shell_findings(budget: Budget) -> code.ShellReader:
    def read(text: str) -> list[Finding]:
        return _command(text, budget)

    return read


def _known_program(word: str) -> bool:
    data = cat.catalog()
    name = cat.program_name(word)
    return name in data.wrappers or data.tool(name) is not None or name == "eval"


def _looks_like_command(text: str, budget: Budget) -> bool:
    """A known program followed by options or paths, or by one of its subcommands."""
    first = text.strip().split(maxsplit=1)
    if not first or not _known_program(first[0]) or len(text.split()) > 60:
        return False
    if COMMANDISH.search(text) or any(op in text for op in ("|", "&&", ";", "$(")):
        return True
    script = parse(text, budget)
    found = cat.catalog().tool(cat.program_name(first[0]))
    if script.parse_error or found is None or not script.commands:
        return False
    options = cat.split_options(found[1], list(script.commands[0].words[1:]))
    return cat.best_entry(found[1], options.positionals) is not None


def _decoded(value: str) -> str | None:
    """Base64 that decodes to printable text, or None."""
    text = value.strip()
    if not BASE64.match(text) or len(text) % 4:
        return None
    try:
        decoded = base64.b64decode(text, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return decoded if decoded.isprintable() or "\n" in decoded else None
