"""Configuration that weakens security: what the added lines of a Terraform, JSON, YAML or Helm
values file open to the world or turn off.

A diff shows pieces of a file, so the lines are read leniently, a hunk at a time, as an outline:
each `key = value` or `key: value` with the keys of the blocks around it, told by indentation
(which `terraform fmt`, JSON printers and YAML all keep) and by the brackets within a line. The
rules are a table: which key, set to what, in which surroundings, weakens what. Only added lines
are judged, and not one that a removed line already said (a line moved or re-indented).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache

from bot.reading.findings import Budget, Effect, Finding, opaque
from bot.reading.patches import FileDiff

_TRUE = r"true|yes|on"
_FALSE = r"false|no|off"
_WHOLE_INTERNET = r"0\.0\.0\.0/0|::/0"
# What says an address rule is not about who may connect in (outbound traffic, routes, denials):
# keys (they hold no `=`) and settings (`key=value`).
_NOT_INBOUND = (
    r"^[^=]*(?:egress|outbound)[^=]*$|^[^=]*(?<![a-z])routes?(?![a-z])[^=]*$|^deny$|"
    r"^(?:direction|type)=.*(?:egress|outbound)|^(?:access|action)=deny$|^egress=true$"
)
_DENIES = r"^effect=deny$"
_IAM_STATEMENT = r"^(?:effect|resources?|notresources?|sid)="
_WILDCARD_ACTION = r"^actions?=(?:\*|[\w-]+:\*)$"
_SECURITY_FEATURES = (
    r"networkpolic(?:y|ies)|auth(?:entication|orization)?|security|tls|ssl|mtls|encryption|"
    r"audit(?:log|logs|logging)?|(?:pod|container)?securitycontext|podsecuritypolicy|psp"
)
_MOST_FOUND = 20  # findings from one file; a file with more weakens no less
_MOST_DEPTH = 64  # blocks within blocks; real configuration nests far less
_LINES_PER_CHECK = 512  # lines read between checks of the budget
_TOO_DEEP = opaque("configuration nested too deeply to read")


@dataclass(frozen=True)
class _Rule:
    """A key (lower case, without `_` and `-`) set to a value that weakens what `says` names.
    `under` must match the key of the block it is in; `needs` must match, and `unless` must
    not, something around it (see `_Outline.around`)."""

    key: re.Pattern[str]
    value: re.Pattern[str]
    says: str
    under: re.Pattern[str] | None = None
    needs: re.Pattern[str] | None = None
    unless: re.Pattern[str] | None = None


def _rule(key: str, value: str, says: str, **where: str) -> _Rule:
    patterns = {name: re.compile(pattern, re.I) for name, pattern in where.items()}
    return _Rule(re.compile(key), re.compile(value, re.I), says, **patterns)


# `{shown}` is the setting as the file writes it, `{key}` its key, `{parent}` the block it is in.
_RULES = (
    # Network access
    _rule(r"\w*cidrblocks|cidr|cidrip(?:v6)?|cidripv[46]|sourceranges|sourceaddressprefix(?:es)?|"
          r"loadbalancersourceranges|\w*allowedcidrs?|\w*authorizedipranges",
          _WHOLE_INTERNET, "opens access to the whole internet ({item})", unless=_NOT_INBOUND),
    _rule(r"cidrblock", _WHOLE_INTERNET, "opens access to the whole internet ({item})",
          under=r"cidrblocks|\w*authorizednetworks\w*"),
    _rule(r"sourceaddressprefix(?:es)?", r"\*|internet|any",
          "opens access to the whole internet ({shown})", unless=_NOT_INBOUND),
    _rule(r"publiclyaccessible", _TRUE, "makes a database reachable from the internet ({shown})"),
    _rule(r"blockpublicacls|blockpublicpolicy|ignorepublicacls|restrictpublicbuckets", _FALSE,
          "turns off the block on public access to S3 ({shown})"),
    _rule(r"acl|accesscontrol", r"public-?read(?:-?write)?", "makes a bucket public ({shown})"),
    # Protection from deletion, and encryption
    _rule(r"deletionprotection(?:enabled)?", _FALSE, "turns off deletion protection ({shown})"),
    _rule(r"preventdestroy", _FALSE, "lets Terraform destroy what it kept safe ({shown})"),
    _rule(r"skipfinalsnapshot", _TRUE, "deletes a database without a final snapshot ({shown})"),
    _rule(r"forcedestroy", _TRUE, "lets destroying it delete everything it holds ({shown})"),
    _rule(r"(?:storage|kms|disk)?encrypted|encryptionenabled|enableencryption", _FALSE,
          "turns off encryption ({shown})"),
    # IAM policies
    _rule(r"actions?", r"\*", "grants every action ({shown})",
          needs=_IAM_STATEMENT, unless=_DENIES),
    _rule(r"actions?", r"[\w-]+:\*", "grants every action of a service ({shown})",
          needs=_IAM_STATEMENT, unless=_DENIES),
    _rule(r"resources?", r"\*", "applies a wildcard action to every resource ({shown})",
          needs=_WILDCARD_ACTION, unless=_DENIES),
    _rule(r"principal", r"\*", "lets anyone use it ({shown})", unless=_DENIES),
    _rule(r"aws|federated|canonicaluser|identifiers", r"\*",
          "lets anyone use it ({parent}.{shown})", under=r"principals?", unless=_DENIES),
    # Kubernetes RBAC and pods
    _rule(r"verbs|resources|apigroups|nonresourceurls", r"\*",
          "gives a Kubernetes role a wildcard in {key} ({shown})", needs=r"^verbs="),
    _rule(r"name", r"cluster-admin", "binds the cluster-admin role ({shown})", under=r"roleref"),
    _rule(r"privileged", _TRUE, "runs a privileged container ({shown})"),
    _rule(r"host(?:network|pid|ipc)", _TRUE, "shares a namespace of the host ({shown})"),
    _rule(r"allowprivilegeescalation", _TRUE, "lets a container gain privileges ({shown})"),
    _rule(r"runasuser", r"0", "runs a container as root ({shown})"),
    _rule(r"runasnonroot", _FALSE, "lets a container run as root ({shown})"),
    # Applications' and charts' settings
    _rule(r"enabled", _FALSE, "turns off {parent} ({parent}.{shown})", under=_SECURITY_FEATURES),
    _rule(r"networkpolic(?:y|ies)|(?:enable|require)?(?:tls|ssl|https|mtls)(?:enabled|only|"
          r"required)?|sslenforcementenabled|enablehttpstrafficonly",
          _FALSE, "turns off {key} ({shown})"),
    _rule(r"insecure(?:skip(?:tls)?verify)?|skip(?:tls|ssl)?verify|(?:tls|ssl)skipverify", _TRUE,
          "turns off TLS checks ({shown})"),
    _rule(r"(?:tls|ssl)verify|verify(?:ssl|tls)", _FALSE, "turns off TLS checks ({shown})"),
    _rule(r"(?:require)?auth(?:entication|orization)?(?:enabled|required)?", _FALSE,
          "turns off {key} ({shown})"),
)  # fmt: skip


# Any key a rule is about: most settings are none, and are passed over with one match.
_ANY_KEY = re.compile("|".join(f"(?:{rule.key.pattern})" for rule in _RULES))


def read_weakening(file: FileDiff, budget: Budget) -> list[Finding]:
    """What the file's added lines open up or turn off; findings are not placed."""
    if not file.added:
        return []
    removed = Counter(entry.shape for entry in _outline(file, "-", budget).entries if entry.changed)
    after = _outline(file, "+", budget)
    found: list[Finding] = [_TOO_DEEP] if after.too_deep else []
    for entry in (entry for entry in after.entries if entry.changed):
        budget.check()
        if removed[entry.shape] > 0:
            removed[entry.shape] -= 1  # the same setting, moved
        else:
            found.extend(_weakened(entry, after))
        if len(found) >= _MOST_FOUND:
            break
    return list(dict.fromkeys(found))


def _outline(file: FileDiff, side: str, budget: Budget) -> _Outline:
    """The outline of the file as it was (`side` is `-`) or will be (`+`), each entry marked
    as on a changed line or not."""
    outline = _Outline(budget)
    for heading, lines in file.sections():
        kept = [(sign == side, text) for sign, text in lines if sign in (" ", side)]
        outline.section(heading, kept)
    return outline


def _weakened(entry: _Entry, outline: _Outline) -> Iterator[Finding]:
    key, parent = _normal(entry.key), _normal(entry.parents[-1] if entry.parents else "")
    if not _ANY_KEY.fullmatch(key):
        return
    for rule in _RULES:
        if not rule.key.fullmatch(key) or (rule.under and not rule.under.fullmatch(parent)):
            continue
        for item in entry.items:
            if rule.value.fullmatch(item) and _placed(rule, entry, outline):
                yield Finding(Effect.destructive, rule.says.format(**entry.named(item)))
                break


def _placed(rule: _Rule, entry: _Entry, outline: _Outline) -> bool:
    needed = rule.needs is None or outline.around(entry, rule.needs)
    return needed and not (rule.unless and outline.around(entry, rule.unless))


@lru_cache(maxsize=4096)  # keys repeat; a bound, since requests choose them
def _normal(key: str) -> str:
    """A key as rules name it: `deletion_protection`, `DeletionProtection` and
    `deletion-protection` are all `deletionprotection`."""
    return key.replace("_", "").replace("-", "").lower()


# The outline.


@dataclass(frozen=True)
class _Entry:
    """One setting: its key, its value (each item of a list), and where it is."""

    key: str
    items: tuple[str, ...]
    parents: tuple[str, ...]  # keys of the blocks it is in, outermost first
    blocks: tuple[int, ...]  # ids of those blocks, the one it is in last
    changed: bool  # on a line the diff adds (or, in the file as it was, removes)
    equals: str = ": "

    @property
    def shape(self) -> tuple[tuple[str, ...], str, tuple[str, ...]]:
        return self.parents, self.key, self.items

    def named(self, item: str) -> dict[str, str]:
        parent = self.parents[-1] if self.parents else ""
        return {"key": self.key, "item": item, "parent": parent, "shown": self.shown(item)}

    def shown(self, item: str) -> str:
        return f"{self.key}{self.equals}{item}"


@dataclass(frozen=True)
class _Frame:
    """A block: opened by `key {`, `key = [`, `"key": {` or a YAML `key:` with nothing after
    it (then a list may follow at the same indent), or by a YAML list item (`- a: 1`).
    `parents` and `blocks` are its own key and id and those of the blocks it is in."""

    indent: int
    key: str
    parents: tuple[str, ...]
    blocks: tuple[int, ...]
    owns_list: bool = False


_LINE = re.compile(r"^(?P<indent>[ \t]*)(?P<dash>-[ \t]+)?(?P<body>.*)$")
_CLOSERS = re.compile(r"^[\]})]+[ \t,;]*")
_QUOTED = r"\"[^\"]*\"|'[^']*'"
_PAIR = re.compile(
    rf"^(?P<key>{_QUOTED}|[\w.$/@-]+)[ \t]*(?::(?=\s|$)|(?<=[\"']):|=(?![=>~]))[ \t]*(?P<value>.*)$"
)
_HEAD = re.compile(rf"^(?P<key>[\w-]+(?:[ \t]+(?:{_QUOTED}|[\w-]+))*)[ \t]*(?P<value>\{{.*)$")
_BLOCK_TEXT = re.compile(r"^(?:[|>][+-]?\d*|<<-?\s*\w+)$")  # YAML `|`, `>-`; a heredoc `<<EOF`
_COMMENT = re.compile(r"(?:^|(?<=\s))(?:#|//)")
_ENDS = " \t,;"  # what may follow a value on its line
_CLOSING = frozenset("]})")


class _Outline:
    """The settings of a file's lines, and for each block the settings and blocks in it."""

    def __init__(self, budget: Budget) -> None:
        self.budget = budget
        self.entries: list[_Entry] = []
        self.settings: dict[int, list[str]] = {}  # block -> `key=item` of the settings in it
        self.blocks_in: dict[int, list[str]] = {}  # block -> keys of the blocks in it
        self.frames: list[_Frame] = []
        self.blocks = 0
        self.too_deep = False
        self.found: dict[tuple[str, int, bool], bool] = {}  # see `in_block`

    def around(self, entry: _Entry, pattern: re.Pattern[str]) -> bool:
        """Whether `pattern` finds something around the entry: its key, the keys of the blocks
        it is in and of those in its own, or as `key=item` (keys lower case, without `_` and
        `-`) a setting of the blocks it is in."""
        if any(map(pattern.search, (*entry.parents, entry.key))):
            return True
        blocks_in = self.in_block(pattern, entry.blocks[-1], keys=True)
        return blocks_in or any(self.in_block(pattern, block) for block in entry.blocks)

    def in_block(self, pattern: re.Pattern[str], block: int, keys: bool = False) -> bool:
        """Whether `pattern` finds one of a block's settings (or its blocks' keys), worked out
        once for each block, since many entries may share it."""
        asked = (pattern.pattern, block, keys)
        if asked not in self.found:
            listed = (self.blocks_in if keys else self.settings).get(block, [])
            self.found[asked] = any(map(pattern.search, listed))
        return self.found[asked]

    def section(self, heading: str, lines: list[tuple[bool, str]]) -> None:
        """Reads one hunk's lines, each with whether it was changed. Of what is above them only
        the hunk's heading is known: the last line above it that starts at the margin (git's
        default), so the block that holds the hunk's first lines, unless they start at the
        margin themselves (and so close it)."""
        self.frames = [_Frame(-1, "", (), (self.new_block(),))]
        for at, (changed, text) in enumerate([(False, heading), *lines]):
            if at % _LINES_PER_CHECK == 0:
                self.budget.check()
            self.line(_uncommented(text), changed)

    def new_block(self) -> int:
        self.blocks += 1
        return self.blocks

    def line(self, text: str, changed: bool) -> None:
        parts = _LINE.match(text)
        assert parts is not None  # every part of the pattern may be empty
        indent, body = len(parts["indent"]), parts["body"].rstrip(_ENDS)
        if body.startswith("---"):
            del self.frames[1:]  # a new YAML document
        elif parts["dash"] is None:
            self.close(indent)
            self.content(indent, body, changed)
        else:
            self.close(indent, list_item=True)
            if not body or _PAIR.match(body) or _HEAD.match(body):
                self.open(indent, "")  # a list item that is a mapping: a block of its own
            self.content(indent + len(parts["dash"]), body, changed)

    def close(self, indent: int, list_item: bool = False) -> None:
        """Ends the blocks a line at `indent` is not in. A YAML list item at the indent of the
        key that owns the list is in it."""
        while len(self.frames) > 1:
            top = self.frames[-1]
            owned = list_item and top.owns_list and top.indent == indent
            if top.indent < indent or owned:
                return
            self.frames.pop()

    def content(self, indent: int, body: str, changed: bool) -> None:
        body = _CLOSERS.sub("", body) if body[:1] in _CLOSING else body
        pair = _PAIR.match(body) or _HEAD.match(body)
        if pair is None:
            if body:
                self.bare(indent, body, changed)
            return
        key, value = _unquoted(pair["key"]), pair["value"]
        equals = " = " if "=" in body[pair.end("key") : pair.start("value")] else ": "
        if _opens(value):
            self.open(indent, key, owns_list=not value)
        else:
            self.setting(key, value, changed, equals)

    def bare(self, indent: int, body: str, changed: bool) -> None:
        """A line with no key: `{`, `[`, or an item of the list the block around it holds."""
        if _opens(body):
            self.open(indent, "")
        elif body.startswith("{"):
            self.inline("", body, changed)
        elif len(self.frames) > 1:
            owner, self.frames = self.frames[-1], self.frames[:-1]
            self.setting(owner.key, body, changed, ": ")
            self.frames.append(owner)

    def open(self, indent: int, key: str, owns_list: bool = False) -> None:
        if len(self.frames) >= _MOST_DEPTH:
            self.too_deep = True
            return
        top = self.frames[-1]
        self.blocks_in.setdefault(top.blocks[-1], []).append(key)
        parents, blocks = (*top.parents, key), (*top.blocks, self.new_block())
        self.frames.append(_Frame(indent, key, parents, blocks, owns_list))

    def setting(self, key: str, value: str, changed: bool, equals: str) -> None:
        if value.startswith("{"):
            self.inline(key, value, changed)
            return
        *path, key = key.split(".") if "/" not in key else [key]
        items = tuple(_items(value))
        parents, blocks = (*self.frames[-1].parents, *path), self.frames[-1].blocks
        self.entries.append(_Entry(key, items, parents, blocks, changed, equals))
        settings = self.settings.setdefault(blocks[-1], [])
        settings.extend(f"{_normal(key)}={item.lower()}" for item in items)
        for part in _parts(value) if value.startswith("[") else []:
            if part.startswith("{"):
                self.inline(key, part, changed)

    def inline(self, key: str, value: str, changed: bool) -> None:
        """An object written on one line, `{"AWS": "*"}` or `{enabled: false}`, as a block."""
        depth, indent = len(self.frames), self.frames[-1].indent + 1
        self.open(indent, key)
        if len(self.frames) > depth:
            for part in _parts(value):
                self.content(indent, part, changed)
        del self.frames[depth:]


def _opens(value: str) -> bool:
    """Whether a value starts a block on the lines below it."""
    return not value or value[-1] in "{[(" or _BLOCK_TEXT.match(value) is not None


def _uncommented(text: str) -> str:
    """The line less a `#` or `//` comment that starts outside double quotes."""
    if "#" not in text and "//" not in text:
        return text
    quotes, counted = 0, 0
    for comment in _COMMENT.finditer(text):
        quotes, counted = quotes + text.count('"', counted, comment.start()), comment.start()
        if quotes % 2 == 0:
            return text[:counted]
    return text


def _unquoted(text: str) -> str:
    text = text.strip().rstrip(_ENDS)
    return text[1:-1] if len(text) > 1 and text[0] == text[-1] and text[0] in "\"'" else text


def _items(value: str) -> Iterator[str]:
    """A value's items: each of a list's, or the value itself."""
    if not value.startswith("["):
        yield _unquoted(value)
        return
    for part in _parts(value):
        if not part.startswith("{"):
            yield _unquoted(part)


def _parts(text: str) -> list[str]:
    """What is inside a one-line `[...]` or `{...}`, cut at its top-level commas."""
    parts, depth, start, quote = [], 0, 1, ""
    for at, char in enumerate(text):
        if quote:
            quote = "" if char == quote else quote
        elif char in "\"'":
            quote = char
        elif char in "[{(":
            depth += 1
        elif char in "]})":
            depth -= 1
        if not quote and ((char == "," and depth == 1) or depth == 0):
            parts.append(text[start:at].strip())
            start = at + 1
        if depth == 0 and at > 0:
            break
    return [part for part in parts if part]
