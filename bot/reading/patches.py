"""Unified diffs, git's and plain ones, parsed leniently: every added and removed line is kept.

A strict parser trusts each hunk header's line counts; unidiff, for one, drops without a word
the lines past a header that counts too few. The diff here is what an agent says it will change,
and lines lost that way would be lines nobody read, so a line that starts with `+`, `-` or a
space after a hunk is read as part of it, and a header that counts too many ends at the first
line no hunk can hold.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from bot.reading.findings import Budget

_GIT_HEADER = re.compile(r'^diff --git "?a/(?P<old>.*?)"? "?b/(?P<new>.*?)"?$')
_HUNK = re.compile(r"^@@ -\d+(?:,(?P<old>\d+))? \+\d+(?:,(?P<new>\d+))? @@[ \t]?(?P<heading>.*)")
_DEV_NULL = "/dev/null"


@dataclass
class FileDiff:
    """One file's change: its lines in order, each with its sign (`+`, `-` or ` `)."""

    path: str
    created: bool = False
    deleted: bool = False
    lines: list[tuple[str, str]] = field(default_factory=list)
    # Where each hunk starts in `lines`, and the text git prints after its header: the line
    # above the hunk that opens what it is in (`resource "aws_instance" "web" {`), if any.
    starts: list[tuple[int, str]] = field(default_factory=list)

    @property
    def hunks(self) -> int:
        return len(self.starts)

    @property
    def added(self) -> list[str]:
        return [text for sign, text in self.lines if sign == "+"]

    @property
    def removed_lines(self) -> list[str]:
        return [text for sign, text in self.lines if sign == "-"]

    @property
    def old(self) -> list[str]:
        """The lines as they were: kept and removed."""
        return [text for sign, text in self.lines if sign != "+"]

    @property
    def new(self) -> list[str]:
        """The lines as they will be: kept and added."""
        return [text for sign, text in self.lines if sign != "-"]

    def sections(self) -> list[tuple[str, list[tuple[str, str]]]]:
        """Each hunk's heading and lines, for readers that need to know where a hunk starts
        (what is around its first line is not shown)."""
        bounds = [at for at, _ in self.starts] + [len(self.lines)]
        return [
            (heading, self.lines[start:end])
            for (start, heading), end in zip(self.starts, bounds[1:], strict=True)
        ]


def parse_patch(text: str, budget: Budget) -> list[FileDiff]:
    """The files a unified diff changes; none when `text` is not a unified diff."""
    parser = _Parser(budget)
    # Not splitlines(), which also cuts at U+2028 and the like, leaving text outside any line.
    lines = [line.removesuffix("\r") for line in text.split("\n")]
    for at, line in enumerate(lines):
        parser.line(line, lines[at + 1] if at + 1 < len(lines) else "")
    return parser.files


class _Parser:
    """Reads a diff a line at a time: headers, then each hunk's lines as its header counts."""

    def __init__(self, budget: Budget) -> None:
        self.budget = budget
        self.files: list[FileDiff] = []
        self.old_left = self.new_left = 0
        self.source = ""

    @property
    def file(self) -> FileDiff | None:
        return self.files[-1] if self.files else None

    def line(self, line: str, next_line: str) -> None:
        if (self.old_left > 0 or self.new_left > 0) and line[:1] in ("+", "-", " ", "\\", ""):
            self.body(line)
        else:
            self.old_left = self.new_left = 0
            self.header(line, next_line)

    def header(self, line: str, next_line: str) -> None:
        file = self.file
        if line.startswith("diff --git "):
            self.start_git(line)
        elif line.startswith("--- ") and next_line.startswith("+++ "):
            self.start_plain(_path(line[4:]), file)
        elif line.startswith("+++ ") and self.source:
            self.target(_path(line[4:]))
        elif (counts := _HUNK.match(line)) is not None:
            self.hunk(counts)
        elif file is not None and file.hunks == 0:
            file.created = file.created or line.startswith("new file mode")
            file.deleted = file.deleted or line.startswith("deleted file mode")
        elif file is not None and line[:1] in ("+", "-", " "):
            self.body(line)

    def start_git(self, line: str) -> None:
        paths = _GIT_HEADER.match(line)
        self.files.append(FileDiff(paths["new"] if paths else line.split()[-1]))

    def start_plain(self, source: str, file: FileDiff | None) -> None:
        if file is None or file.hunks > 0:
            self.files.append(FileDiff(source))
        self.source = source

    def target(self, target: str) -> None:
        file = self.file
        assert file is not None  # a `+++` is read only after the `---` that starts a file
        if target == _DEV_NULL:
            file.deleted, file.path = True, self.source
        else:
            file.created, file.path = file.created or self.source == _DEV_NULL, target
        self.source = ""

    def hunk(self, counts: re.Match[str]) -> None:
        self.budget.check()
        if self.file is None:
            self.files.append(FileDiff(""))
        self.old_left = int(counts["old"] or 1)
        self.new_left = int(counts["new"] or 1)
        file = self.files[-1]
        file.starts.append((len(file.lines), counts["heading"].rstrip()))

    def body(self, line: str) -> None:
        sign = line[:1] or " "
        if sign == "\\":
            return
        self.files[-1].lines.append((sign, line[1:]))
        if sign != "+":
            self.old_left -= 1
        if sign != "-":
            self.new_left -= 1


def _path(header: str) -> str:
    path = header.split("\t")[0].strip().strip('"')
    return path[2:] if path.startswith(("a/", "b/")) else path
