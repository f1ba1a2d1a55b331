"""JavaScript as tree-sitter parses it, for the node and mongo shell readers.

tree-sitter recovers from syntax errors by inventing nodes; code with any error or missing
node is not read at all (`parse` returns None), so a reader never guesses around a gap.
"""

from __future__ import annotations

import functools

import tree_sitter_javascript
from tree_sitter import Language, Node, Parser

from bot.reading.code.rules import Arg
from bot.reading.findings import Budget

# The escapes a literal keeps; a string with any other (\x41, \u0041) is not read as literal.
_ESCAPES = {
    "\\n": "\n",
    "\\t": "\t",
    "\\r": "\r",
    "\\\\": "\\",
    "\\'": "'",
    '\\"': '"',
    "\\`": "`",
    "\\$": "$",
}


@functools.cache
def _language() -> Language:
    return Language(tree_sitter_javascript.language())


def parse(code: str) -> Node | None:
    """The program's root node, or None when the code does not parse cleanly."""
    root = Parser(_language()).parse(code.encode()).root_node
    return None if root.has_error else root


def nodes(root: Node, budget: Budget) -> list[Node]:
    """Every node under `root`, parents first, in source order."""
    found, stack = [], [root]
    while stack:
        budget.check()
        node = stack.pop()
        found.append(node)
        stack.extend(reversed(node.children))
    return found


def text(node: Node) -> str:
    """The source a node spans."""
    return (node.text or b"").decode(errors="replace")


def string(node: Node) -> str | None:
    """The value of a string or template literal without substitutions."""
    if node.type not in ("string", "template_string"):
        return None
    parts = [_part(child) for child in node.named_children]
    strings = [part for part in parts if part is not None]
    return "".join(strings) if len(strings) == len(parts) else None


def _part(node: Node) -> str | None:
    if node.type == "string_fragment":
        return text(node)
    return _ESCAPES.get(text(node)) if node.type == "escape_sequence" else None


def literal(node: Node) -> Arg:
    """A literal string (a number counts, as its text), or an array of literal strings."""
    if node.type == "number":
        return text(node)
    if node.type == "array":
        items = [string(item) for item in arguments_of(node)]
        strings = [item for item in items if item is not None]
        return tuple(strings) if len(strings) == len(items) else None
    return string(node)


def arguments_of(node: Node) -> list[Node]:
    """The argument nodes of an `arguments` or `array` node, or a tagged template itself."""
    if node.type == "template_string":
        return [node]
    return [child for child in node.named_children if child.type != "comment"]


def call_arguments(call: Node) -> tuple[tuple[Arg, ...], bool]:
    """A call's literal arguments, and whether all of them are there (no `...spread`)."""
    given = call.child_by_field_name("arguments")
    found = arguments_of(given) if given is not None else []
    complete = all(node.type != "spread_element" for node in found)
    return tuple(literal(node) for node in found), complete


def property_name(node: Node) -> str | None:
    """The property a member or subscript expression names, when it is literal."""
    if node.type == "member_expression":
        name = node.child_by_field_name("property")
        return text(name) if name is not None else None
    if node.type == "subscript_expression":
        index = node.child_by_field_name("index")
        return string(index) if index is not None else None
    return None


def field(node: Node, name: str) -> Node | None:
    """A node's child by its field name (`function`, `object`, `arguments`)."""
    return node.child_by_field_name(name)
