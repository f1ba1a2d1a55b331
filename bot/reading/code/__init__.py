"""Reading the inline code given to an interpreter on a command line (`python -c CODE`,
`node -e CODE`, `mongosh --eval CODE`, `awk PROGRAM`, ...).

Each language has its reader: Python with `ast`, JavaScript (node and the mongo shell) with
tree-sitter, the rest by shapes. All fail closed: code a reader cannot follow is a finding of
its own ("cannot be read: inline python code calls exec"), and harmless code has no finding.
A shell command written in the code (`os.system("rm -rf /x")`) goes back to the shell reader
through `read_shell`. Findings are not placed; the caller says where the code was.
"""

from __future__ import annotations

from collections.abc import Callable

from bot.reading.code.awk import read_awk
from bot.reading.code.mongo import read_mongo
from bot.reading.code.node import read_node
from bot.reading.code.powershell import read_powershell
from bot.reading.code.python import read_python
from bot.reading.code.rules import ShellReader
from bot.reading.code.scripts import LUA, OTHER, PERL, PHP, RUBY, Dialect, read_script
from bot.reading.findings import Budget, Finding, opaque

__all__ = ["LANGUAGES", "MAX_CODE_BYTES", "ShellReader", "read_inline"]

MAX_CODE_BYTES = 64 * 1024

_Reader = Callable[[str, Budget, ShellReader], list[Finding]]


def _script(dialect: Dialect) -> _Reader:
    def read(code: str, budget: Budget, read_shell: ShellReader) -> list[Finding]:
        return read_script(dialect, code, budget, read_shell)

    return read


_READERS: dict[str, _Reader] = {
    "python": read_python,
    "node": read_node,
    "mongo": read_mongo,
    "awk": read_awk,
    "powershell": read_powershell,
    "perl": _script(PERL),
    "ruby": _script(RUBY),
    "php": _script(PHP),
    "lua": _script(LUA),
    "other": _script(OTHER),
}
LANGUAGES = frozenset(_READERS)


def read_inline(language: str, code: str, budget: Budget, read_shell: ShellReader) -> list[Finding]:
    """What inline `code` in `language` (one of LANGUAGES; any other is read as "other")
    does: no finding when it only reads. Raises OutOfTime past the budget."""
    if len(code.encode(errors="replace")) > MAX_CODE_BYTES:
        return [opaque("inline code too large to read")]
    reader = _READERS.get(language, _READERS["other"])
    try:
        return reader(code, budget, read_shell)
    except RecursionError:
        return [opaque("inline code nested too deeply to read")]
