"""An awk program (`awk '{print $1}' file`), read token by token.

awk only reads unless it runs a command (`system(...)`, `print | "cmd"`, `"cmd" | getline`)
or prints into a file (`print > "out"`, `>>`). Inside a print statement an unparenthesized
`>` is a redirection; anywhere else it compares, so `$3 > 1000 {print $1}` reads.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.reading.code.rules import (
    ShellReader,
    Site,
    cannot,
    read_from,
    shell_built,
    unique,
    write_to,
)
from bot.reading.findings import Budget, Effect, Finding

LANGUAGE = "awk"
_TOKEN = re.compile(
    r"""(?P<skip>[ \t\r]+|\\\n|\#[^\n]*)
    |(?P<string>"(?:[^"\\\n]|\\.)*")
    |(?P<number>\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)
    |(?P<word>[A-Za-z_]\w*)
    |(?P<op>>>|>=|<=|==|!=|\|\||\|&|&&|\+\+|--|\n|.)""",
    re.VERBOSE | re.DOTALL,
)
_REGEX = re.compile(r"/(?:[^/\\\n]|\\.)+/")
# A regex literal never holds these; when one seems to, the slash is a division instead.
_NOT_REGEX = re.compile(r"\b(system|getline|print|printf)\b")
# After these a slash divides; elsewhere it starts a regex literal.
_OPERANDS = {"string", "number", "word"}
_KEYWORDS = {"print", "printf", "return", "in", "case", "if", "while", "for", "do", "else"}
_ENDS_PRINT = {";", "\n", "}", "{"}
# Programs that run what they read, so piping printed text into them runs that text.
_INTERPRETERS = {
    "sh",
    "bash",
    "zsh",
    "dash",
    "ksh",
    "ash",
    "fish",
    "csh",
    "tcsh",
    "xargs",
    "python",
    "python3",
    "perl",
    "ruby",
    "node",
    "php",
}


@dataclass(frozen=True)
class _Token:
    kind: str  # string, regex, number, word, op
    text: str

    @property
    def value(self) -> str | None:
        """A string literal's value."""
        if self.kind != "string":
            return None
        return re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t"}.get(m[1], m[1]), self.text[1:-1])


def read_awk(code: str, budget: Budget, read_shell: ShellReader) -> list[Finding]:
    """What an awk program does; no finding when it only reads and prints."""
    tokens = _tokens(code, budget)
    reader = _Reader(tokens, read_shell)
    findings = []
    for index in range(len(tokens)):
        budget.check()
        findings += reader.read(index)
    return unique(findings)


def _tokens(code: str, budget: Budget) -> list[_Token]:
    tokens: list[_Token] = []
    position = 0
    while position < len(code):
        budget.check()
        regex = _REGEX.match(code, position) if code[position] == "/" else None
        if regex and _regex_allowed(tokens) and not _NOT_REGEX.search(regex.group()):
            tokens.append(_Token("regex", regex.group()))
            position = regex.end()
            continue
        found = _TOKEN.match(code, position)
        assert found is not None and found.lastgroup is not None  # the last choice is any char
        if found.lastgroup != "skip":
            tokens.append(_Token(found.lastgroup, found.group()))
        position = found.end()
    return tokens


def _regex_allowed(tokens: list[_Token]) -> bool:
    if not tokens:
        return True
    last = tokens[-1]
    if last.kind == "word":
        return last.text in _KEYWORDS
    return last.kind not in _OPERANDS and last.text not in (")", "]", "$")


class _Reader:
    """Reads each token in the light of the ones around it."""

    def __init__(self, tokens: list[_Token], read_shell: ShellReader) -> None:
        self.tokens, self.read_shell = tokens, read_shell
        self.redirects = _print_redirections(tokens)

    def at(self, index: int) -> _Token:
        inside = 0 <= index < len(self.tokens)
        return self.tokens[index] if inside else _Token("end", "")

    def read(self, index: int) -> list[Finding]:
        token = self.at(index)
        if token.text == "system" and self.at(index + 1).text == "(":
            return self.system(index)
        if token.text == "getline":
            return self.getline(index)
        if index in self.redirects:
            return self.redirect(index)
        return _ALARMS.get(token.text, [])

    def system(self, index: int) -> list[Finding]:
        command = self.at(index + 2)
        if command.value is None or self.at(index + 3).text != ")":
            return [self.built()]
        return self.read_shell(command.value)

    def getline(self, index: int) -> list[Finding]:
        found = []
        if self.at(index - 1).text == "|":  # "cmd" | getline
            command, before = self.at(index - 2), self.at(index - 3)
            literal = command.value is not None and before.kind not in _OPERANDS
            found += self.read_shell(command.value or "") if literal else [self.built()]
        after = index + 1 + self.variable_length(index + 1)
        if self.at(after).text == "<":  # getline < "file"
            path = self.at(after + 1).value
            found += read_from(path, self.site(f"getline < {self.at(after + 1).text}"))
        return found

    def variable_length(self, index: int) -> int:
        token = self.at(index)
        if token.kind == "word":
            return 1
        return 2 if token.text == "$" else 0

    def redirect(self, index: int) -> list[Finding]:
        operator, target = self.at(index), self.at(index + 1)
        site = self.site(f"print {operator.text} {self.target_text(index + 1)}")
        if operator.text == "|":
            return self.pipe(target.value, site)
        how = "appends to" if operator.text == ">>" else "overwrites"
        return write_to(target.value, how, site)

    def pipe(self, command: str | None, site: Site) -> list[Finding]:
        if command is None:
            return [self.built()]
        if command.split(" ", 1)[0].rpartition("/")[2] in _INTERPRETERS:
            return [site.cannot(f"pipes what it prints into a program that runs it ({site.shown})")]
        return self.read_shell(command)

    def target_text(self, index: int) -> str:
        shown: list[str] = []
        while len(shown) < 4 and self.at(index).text not in (*_ENDS_PRINT, ""):
            shown.append(self.at(index).text)
            index += 1
        return " ".join(shown)

    def site(self, shown: str) -> Site:
        return Site(LANGUAGE, "print", lambda: shown, self.read_shell)

    def built(self) -> Finding:
        return shell_built(self.site(""))


def _print_redirections(tokens: list[_Token]) -> set[int]:
    """Where `>`, `>>` or `|` redirect a print statement's output."""
    found, printing, depth = set(), False, 0
    for index, token in enumerate(tokens):
        if token.text in ("print", "printf"):
            printing, depth = True, 0
        elif printing and token.text in _ENDS_PRINT and depth == 0:
            printing = False
        elif printing:
            depth += {"(": 1, ")": -1}.get(token.text, 0)
            if depth == 0 and token.text in (">", ">>", "|"):
                found.add(index)
    return found


# Tokens that need no context to be read.
_ALARMS = {
    "ENVIRON": [Finding(Effect.sensitive, "reads environment variables (ENVIRON)")],
    "|&": [cannot(LANGUAGE, "talks to a coprocess (|&)")],
    "@": [cannot(LANGUAGE, "uses a gawk directive or an indirect call (@)")],
}
