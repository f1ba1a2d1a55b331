"""Every catalog entry, wrapper and condition reads its own examples as it says."""

from __future__ import annotations

import pytest

from bot.reading import catalog as cat
from bot.reading.commands import Reader
from bot.reading.findings import unlimited

ENTRIES = cat.entries(cat.catalog())


def worst(command: str) -> str:
    """The worst effect reading a command finds: `read` when it finds nothing."""
    reader = Reader(unlimited())
    reader.script(command)
    effects = [f.effect.value for f in reader.findings]
    return max(effects, key=cat.EFFECT_ORDER.index, default="read")


@pytest.mark.parametrize(("name", "entry", "effect"), ENTRIES, ids=[e[0] for e in ENTRIES])
def test_entry_examples_read_as_its_effect(name: str, entry: object, effect: str | None) -> None:
    examples = getattr(entry, "examples", [])
    assert examples, f"{name} has no examples"
    for example in examples:
        found = worst(example)
        if effect is None:  # a wrapper: what it runs is destructive in every example but `env`
            assert found != "read" or example in ("env", "ssh ops@web1"), example
        else:
            assert found == effect, f"{name}: {example!r} read as {found}, not {effect}"


def test_aliases_name_one_tool_each() -> None:
    seen: dict[str, str] = {}
    for name, tool in cat.catalog().tools.items():
        for alias in [name, *tool.aliases, *tool.like]:
            assert alias not in seen, f"{alias} is in both {seen.get(alias)} and {name}"
            seen[alias] = name
