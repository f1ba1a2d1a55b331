"""Reading shell commands the way a shell would, so detectors are not fooled by spelling.

`rm -r -f`, `rm --force --recursive`, `kubectl -n prod delete ...`, `sudo env X=1 helm ...`
and `bash -c "terraform destroy"` all name the same destructive step as their plain forms.
"""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Callable, Iterator

OPERATORS = re.compile(r"\|\||&&|[;&|\n]|\$\(|`|\)")
SHELL_METACHARACTERS = re.compile(r"[;&|`$<>\n\\]|\$\(")
WRAPPERS = {"sudo", "env", "nohup", "time", "nice", "exec", "command", "doas", "xargs", "watch"}
SHELLS = {"sh", "bash", "zsh", "dash", "ksh"}
MAX_DEPTH = 3


def simple_commands(text: str, depth: int = 0) -> Iterator[list[str]]:
    """Each simple command's argv, including commands nested in `sh -c '...'` and `$(...)`."""
    for segment in OPERATORS.split(text):
        argv = _split(segment)
        argv = _unwrap(argv)
        if not argv:
            continue
        yield argv
        if depth < MAX_DEPTH:
            for token in argv[1:]:
                if " " in token or ";" in token:
                    yield from simple_commands(token, depth + 1)


def _split(segment: str) -> list[str]:
    try:
        return shlex.split(segment, comments=False, posix=True)
    except ValueError:  # unbalanced quotes: fall back to whitespace
        return segment.split()


def _unwrap(argv: list[str]) -> list[str]:
    """Drop `sudo`, `env X=1`, `nohup` and the like in front of the real program."""
    while argv:
        head = os.path.basename(argv[0])
        if head in WRAPPERS or ("=" in argv[0] and not argv[0].startswith("-")):
            argv = argv[1:]
            while argv and argv[0].startswith("-") and head in WRAPPERS:
                argv = argv[1:]
            continue
        return [head, *argv[1:]]
    return argv


def short_flags(argv: list[str]) -> set[str]:
    """Single-letter flags, however grouped: `-rf`, `-r -f` and `-fr` are all {r, f}."""
    return {c for t in argv[1:] if t.startswith("-") and not t.startswith("--") for c in t[1:]}


Check = Callable[[list[str]], str | None]  # argv -> label of the destructive step, or None


def _rm(argv: list[str]) -> str | None:
    flags, words = short_flags(argv), set(argv[1:])
    recursive = bool(flags & {"r", "R"}) or "--recursive" in words
    forced = "f" in flags or "--force" in words
    return "rm -rf" if recursive and forced else None


def _git(argv: list[str]) -> str | None:
    words = argv[1:]
    if "push" in words:
        forced = {"-f", "--force", "--force-with-lease", "--mirror", "--delete", "-d"}
        if forced & set(words) or any(w.startswith(("+", "--force")) for w in words):
            return "git force push"
    if ("reset" in words and "--hard" in words) or ("clean" in words and "f" in short_flags(argv)):
        return "git reset --hard / clean -f"
    return None


def _word(label: str, *verbs: str) -> Check:
    return lambda argv: label if any(w in verbs for w in argv[1:]) else None


def _aws(argv: list[str]) -> str | None:
    destructive = ("delete-", "terminate-", "remove-", "deregister-", "purge-", "destroy-")
    words = argv[1:]
    s3_removal = "s3" in words and any(w in ("rm", "rb") for w in words)
    return "aws delete" if s3_removal or any(w.startswith(destructive) for w in words) else None


def _docker(argv: list[str]) -> str | None:
    words = argv[1:]
    removal = "prune" in words or (
        "rm" in words and ("f" in short_flags(argv) or "volume" in words)
    )
    return "docker removal" if removal else None


def _always(label: str) -> Check:
    return lambda argv: label


def _dd(argv: list[str]) -> str | None:
    return "disk overwrite" if any(w.startswith("of=") for w in argv[1:]) else None


TOOLS: dict[str, Check] = {
    "rm": _rm,
    "terraform": _word("terraform destroy", "destroy", "-destroy"),
    "tofu": _word("terraform destroy", "destroy", "-destroy"),
    "kubectl": _word("kubectl delete", "delete", "drain"),
    "helm": _word("helm uninstall", "uninstall", "delete"),
    "git": _git,
    "aws": _aws,
    "gcloud": _word("gcloud delete", "delete"),
    "az": _word("az delete", "delete"),
    "docker": _docker,
    "dd": _dd,
    "shred": _always("disk overwrite"),
    "wipefs": _always("disk overwrite"),
    "mkfs": _always("disk overwrite"),
}


def destructive_tools(text: str) -> list[str]:
    """Labels of the destructive programs a command runs, each once, in order."""
    found: list[str] = []
    for argv in simple_commands(text):
        program = "mkfs" if argv[0].startswith("mkfs") else argv[0]
        check = TOOLS.get(program)
        label = check(argv) if check else None
        if label and label not in found:
            found.append(label)
    return found


def is_plain(text: str) -> bool:
    """A single command with no shell operators, substitutions or redirections."""
    return not SHELL_METACHARACTERS.search(text)
