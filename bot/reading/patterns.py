"""Command patterns for auto-approval, matched against the parsed command, never its text.

`kubectl get *` is the program kubectl (or an alias), the subcommand `get`, then anything. A
`*` as the last word allows any further arguments and options; elsewhere it is exactly one
argument, and without it the command may have only the options the pattern names.
Words are globs (`describe-*`), and a word starting with `-` is an option the command must
have. Option values never count as arguments, so `aws * describe-*` does not
match `aws iam put-user-policy --policy-name describe-all`.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from fnmatch import fnmatchcase

from bot.reading import catalog as cat
from bot.reading.commands import Step


@dataclass(frozen=True)
class CommandPattern:
    text: str
    program: str
    words: tuple[str, ...]
    flags: tuple[str, ...]
    open_ended: bool

    @classmethod
    def parse(cls, text: str) -> CommandPattern:
        """Raise ValueError for a pattern that names no program or does not split."""
        tokens = shlex.split(text)
        if not tokens or tokens[0].startswith("-") or any(c in tokens[0] for c in "*?["):
            raise ValueError(f"command pattern {text!r} must start with a program name")
        open_ended = len(tokens) > 1 and tokens[-1] == "*"
        body = tokens[1:-1] if open_ended else tokens[1:]
        return cls(
            text=text,
            program=_canonical(tokens[0]),
            words=tuple(t for t in body if not t.startswith("-")),
            flags=tuple(t.lstrip("-") for t in body if t.startswith("-")),
            open_ended=open_ended,
        )

    def matches(self, step: Step) -> bool:
        """Whether one read command is what this pattern allows."""
        options = step.options
        if options is None or _canonical(step.program) != self.program:
            return False
        positionals = [w.text for w in options.positionals]
        if len(positionals) < len(self.words) or _unknown_before(self, step, options):
            return False
        if not self.open_ended and (
            len(positionals) > len(self.words) or set(options.flags) - set(self.flags)
        ):
            return False
        named = all(fnmatchcase(a, p) for a, p in zip(positionals, self.words, strict=False))
        return named and all(f in options.flags for f in self.flags)


def _unknown_before(pattern: CommandPattern, step: Step, options: cat.Options) -> bool:
    """An option the catalog does not know, standing before the subcommand words: it may
    take the next word as its value (`git --shallow-file log branch -D x` runs `branch`), so
    the words the pattern matched may not be the subcommand the tool runs."""
    found = cat.catalog().tool(step.program)
    if not pattern.words or found is None:
        return False
    tool = found[1]
    known = {*tool.options, *tool.booleans}
    last = options.indices[len(pattern.words) - 1]
    return any(
        at < last and name not in known and not (tool.long_options_take_values and len(name) > 1)
        for name, at in options.flag_at.items()
    )


def _canonical(program: str) -> str:
    name = cat.program_name(program)
    found = cat.catalog().tool(name)
    return found[0] if found else name
