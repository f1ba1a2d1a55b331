"""Words that name destruction, found inside the names tools and APIs give their operations:
`DeleteInstance`, `instance-delete`, `sites:delete`, `drop_all`, `--prune`.

For what the catalog does not list, this is the reading of last resort: a subcommand, option or
operation whose own name says it destroys is taken at its word.
"""

from __future__ import annotations

import re

DESTRUCTIVE_VERBS = frozenset(
    {"delete", "destroy", "drop", "truncate", "purge", "wipe", "terminate", "remove", "erase"}
    | {"revoke", "flush", "nuke", "uninstall", "teardown", "deprovision", "kill", "shutdown"}
)
# Only as a subcommand or option of a program the catalog does not describe.
SUBCOMMAND_VERBS = DESTRUCTIVE_VERBS | {"rm", "del", "rmi", "reset", "format", "forget", "prune"}
SUBCOMMAND_VERBS |= {"yank", "unpublish", "decommission", "evict"}
_WORD = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])")


def parts(name: str) -> list[str]:
    """`DeleteInstance` -> delete, instance; `sites:delete` -> sites, delete."""
    return [w.lower() for w in _WORD.findall(name)]


def names_destruction(name: str, verbs: frozenset[str] = DESTRUCTIVE_VERBS) -> bool:
    """Whether a name (not a sentence: at most 80 characters) has a destructive verb in it."""
    return len(name) <= 80 and any(w in verbs for w in parts(name))
