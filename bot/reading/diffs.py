"""Reading a request's diff, and what applying it destroys or changes. The diff is an
infrastructure plan (Terraform, OpenTofu, Pulumi), a unified diff of files, or raw SQL or
migration code.

In a unified diff each file is read by what it is: Kubernetes manifests for objects that go away
or scale to zero, CloudFormation templates for resources that go away, Terraform files for
resources no longer declared anywhere in the diff (one moved to another file is not destroyed),
Prisma schemas for models and fields that go away, SQL and migration files for what their added
lines run, and every configuration file (Terraform, JSON, YAML) for settings that weaken
security. Only SQL and migration files' added lines reach the SQL parser, so a large diff of code
is read quickly.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import PurePosixPath

from bot.reading.access_files import read_access_files
from bot.reading.findings import Budget, Effect, Finding
from bot.reading.migrations import read_migration
from bot.reading.patches import FileDiff, parse_patch
from bot.reading.plans import read_plan
from bot.reading.sql import NOT_PARSED, looks_like_sql, read_sql
from bot.reading.weakening import read_weakening

_SQL_SUFFIXES = frozenset({".sql", ".psql", ".ddl"})
_MIGRATION_FOLDERS = frozenset(
    {"migrations", "migration", "migrate", "alembic", "db", "changelog", "changelogs", "liquibase"}
)
_CODE_SUFFIXES = frozenset(
    {".py", ".rb", ".js", ".mjs", ".cjs", ".ts", ".ex", ".exs", ".xml", ".yaml", ".yml", ".json"}
)
_MIGRATION_MARKERS = re.compile(
    r"from alembic import|migrations\.Migration\b|ActiveRecord::Migration|knex\.schema|"
    r"queryInterface\.|databaseChangeLog|Ecto\.Migration|MigrationInterface"
)
_TERRAFORM_SUFFIXES = frozenset({".tf", ".tofu"})
_CONFIG_SUFFIXES = frozenset({".tf", ".tofu", ".hcl", ".tfvars", ".json", ".yaml", ".yml"})
_PRISMA_SUFFIX = ".prisma"
_MANIFEST_SUFFIXES = frozenset({".yaml", ".yml"})

_BLOCK = re.compile(r'^\s*(?:resource\s+"(?P<type>[^"]+)"\s+|module\s+)"(?P<name>[^"]+)"')
_MOVED = re.compile(r"^\s*(?P<block>moved|removed)\s*\{")
_FROM = re.compile(r"\bfrom\s*=\s*(?P<address>[^\s}#]+)")
_NOT_DESTROYED = re.compile(r"\bdestroy\s*=\s*false\b")
_BLOCK_LINES = 12  # lines of a `moved` or `removed` block looked at
_KIND = re.compile(r"^kind:\s*[\"']?(?P<kind>[\w.-]+)", re.M)
_METADATA = re.compile(r"^metadata:[ \t]*\n(?P<indent>[ \t]+)", re.M)
_TOP_LEVEL_KEY = re.compile(r"^\S", re.M)
_DOCUMENT_START = re.compile(r"^---.*$", re.M)
_TEMPLATE_SUFFIXES = frozenset({".yaml", ".yml", ".json", ".template"})
_TEMPLATE_KEY = re.compile(r'^(?P<indent>\s*)"?(?P<key>[\w-]+)"?\s*:\s*\{?\s*$')
_RESOURCE_TYPE = re.compile(
    r"""^(?P<indent>\s*)"?Type"?\s*:\s*["']?(?P<type>(?:AWS|Alexa|Custom)::[\w:]+)"""
)
_ZERO_REPLICAS = re.compile(r"^\s*(?:replicas|replicaCount)\s*:\s*[\"']?0[\"']?\s*(?:#.*)?$")


def read_diff(text: str, budget: Budget) -> list[Finding]:
    """What applying the diff does, placed at `diff` or `diff <path>`."""
    plan = read_plan(text, budget)
    if plan is not None:
        return [finding.at("diff") for finding in plan]
    files = parse_patch(text, budget)
    if not files:
        return [finding.at("diff") for finding in _read_raw(text, budget)]
    declared = _declared_anywhere(files)
    found: list[Finding] = []
    for file in files:
        budget.check()
        place = f"diff {file.path}".strip()
        found.extend(finding.at(place) for finding in _read_file(file, declared, budget))
    return list(dict.fromkeys(found))


def _read_raw(text: str, budget: Budget) -> list[Finding]:
    """Text that is neither a plan nor a diff: a migration or SQL as it stands."""
    found = read_migration(text, budget)
    if looks_like_sql(text):
        found.extend(read_sql(text, None, budget))
    return list(dict.fromkeys(found))


def _read_file(file: FileDiff, declared: set[str], budget: Budget) -> list[Finding]:
    suffix = PurePosixPath(file.path).suffix.lower()
    found: list[Finding] = []
    if suffix in _TERRAFORM_SUFFIXES:
        found.extend(_terraform(file, declared))
    if suffix in _MANIFEST_SUFFIXES:
        found.extend(_kubernetes(file))
    if suffix in _TEMPLATE_SUFFIXES:
        found.extend(_cloudformation(file))
    if suffix in _SQL_SUFFIXES or _is_migration(file):
        found.extend(_migration(file, suffix, budget))
    if suffix in _CONFIG_SUFFIXES:
        found.extend(read_weakening(file, budget))
    if suffix == _PRISMA_SUFFIX:
        found.extend(_prisma(file, declared))
    found.extend(read_access_files(file))
    return found


# Terraform configuration.


def _declared_anywhere(files: list[FileDiff]) -> set[str]:
    """Terraform addresses the diff declares in added lines, or moves (or forgets) rather than
    destroys, and Prisma models it declares (`model Name`; a model may move between files)."""
    declared: set[str] = set()
    for file in files:
        suffix = PurePosixPath(file.path).suffix.lower()
        if suffix in _TERRAFORM_SUFFIXES:
            declared.update(_declared(file.added), _moved_away(file.added))
        if suffix == _PRISMA_SUFFIX:
            declared.update(
                f"model {model['name']}" for model in map(_MODEL.match, file.added) if model
            )
    return declared


def _moved_away(lines: list[str]) -> Iterator[str]:
    """Addresses a `moved` block renames, or a `removed` block with `destroy = false` forgets."""
    for at, line in enumerate(lines):
        block = _MOVED.match(line)
        if block is None:
            continue
        body = lines[at : at + _BLOCK_LINES]
        address = next((found["address"] for found in map(_FROM.search, body) if found), None)
        destroys = block["block"] == "removed" and not any(map(_NOT_DESTROYED.search, body))
        if address and not destroys:
            yield address


def _declared(lines: list[str]) -> list[str]:
    blocks = (_BLOCK.match(line) for line in lines)
    return [
        f"{block['type']}.{block['name']}" if block["type"] else f"module.{block['name']}"
        for block in blocks
        if block
    ]


def _terraform(file: FileDiff, declared: set[str]) -> list[Finding]:
    removed = [text for sign, text in file.lines if sign == "-"]
    gone = [address for address in dict.fromkeys(_declared(removed)) if address not in declared]
    if not gone:
        return []
    noun = "resources" if len(gone) > 1 else "resource"
    return [Finding(Effect.destructive, f"removes Terraform {noun} {', '.join(gone)}")]


# Kubernetes manifests.


def _kubernetes(file: FileDiff) -> list[Finding]:
    found: list[Finding] = []
    still_there = _objects(file.new)
    gone = [name for name in _objects(file.old) if name not in still_there]
    if gone:
        found.append(Finding(Effect.destructive, f"deletes Kubernetes {', '.join(gone)}"))
    if any(_ZERO_REPLICAS.match(line) for line in file.added):
        what = f"{still_there[0]} " if len(still_there) == 1 else ""
        found.append(Finding(Effect.destructive, f"scales {what}to zero replicas"))
    return found


def _objects(lines: list[str]) -> list[str]:
    """`Kind name` of each manifest in the lines, as far as they show it."""
    objects = []
    for document in _DOCUMENT_START.split("\n".join(lines)):
        kind = _KIND.search(document)
        if kind:
            name = _metadata_name(document)
            objects.append(f"{kind['kind']} {name}" if name else kind["kind"])
    return objects


def _metadata_name(document: str) -> str:
    """`metadata.name`: the `name:` indented as the first key under `metadata:`."""
    metadata = _METADATA.search(document)
    if metadata is None:
        return ""
    block = _TOP_LEVEL_KEY.split(document[metadata.start(1) :], maxsplit=1)[0]
    name = re.search(rf"^{metadata['indent']}name:[ \t]*(?P<name>.+)$", block, re.M)
    return name["name"].strip().strip("\"'") if name else ""


# CloudFormation templates.


def _cloudformation(file: FileDiff) -> list[Finding]:
    still_there = set(_template_resources(file.new))
    gone = [name for name in _template_resources(file.old) if name not in still_there]
    if not gone:
        return []
    noun = "resources" if len(gone) > 1 else "resource"
    return [Finding(Effect.destructive, f"removes CloudFormation {noun} {', '.join(gone)}")]


def _template_resources(lines: list[str]) -> list[str]:
    """`LogicalId (AWS::Type)` for each `Type: AWS::...` the lines show, named by its key."""
    found: list[str] = []
    keys: list[tuple[int, str]] = []
    for line in lines:
        key = _TEMPLATE_KEY.match(line)
        if key:
            depth = len(key["indent"])
            keys = [*(k for k in keys if k[0] < depth), (depth, key["key"])]
            continue
        kind = _RESOURCE_TYPE.match(line)
        owners = [name for depth, name in keys if kind and depth < len(kind["indent"])]
        if kind and owners:
            found.append(f"{owners[-1]} ({kind['type']})")
    return found


# Prisma schemas.

_MODEL = re.compile(r"^\s*model\s+(?P<name>\w+)\s*\{")
_AT_MARGIN = re.compile(r"^\S")  # a block's `}`, or another block (`enum`, `datasource` ...)
_FIELD = re.compile(r"^\s+(?P<name>\w+)\s+(?P<type>\w+)(?P<list>\[\])?\??(?P<rest>.*)$")
_MAPPED = re.compile(r'@map\(\s*(?:name:\s*)?"(?P<name>[^"]+)"')
_PRISMA_SCALARS = frozenset(
    {"BigInt", "Boolean", "Bytes", "DateTime", "Decimal", "Float", "Int", "Json", "String",
     "Unsupported"}
)  # fmt: skip


def _prisma(file: FileDiff, declared: set[str]) -> list[Finding]:
    """Models removed (and declared nowhere else in the diff) drop their tables; fields removed
    from a model the file keeps, and not added back, drop their columns. A relation field is
    no column."""
    lines = list(_in_models(file))
    removed = [m["name"] for sign, _, text in lines if sign == "-" and (m := _MODEL.match(text))]
    gone = [name for name in dict.fromkeys(removed) if f"model {name}" not in declared]
    elsewhere = {name.removeprefix("model ") for name in declared if name.startswith("model ")}
    models = {model for _, model, _ in lines if model} | elsewhere
    columns = {sign: _columns(lines, sign, models) for sign in "+-"}
    dropped = [
        f"{model}.{column}"
        for model, column in dict.fromkeys(columns["-"])
        if (model, column) not in columns["+"] and model not in removed
    ]
    return [Finding(Effect.destructive, f"drops table {name}") for name in gone] + [
        Finding(Effect.destructive, f"drops column {name}") for name in dropped
    ]


def _in_models(file: FileDiff) -> Iterator[tuple[str, str | None, str]]:
    """Each line with its sign and the model it is in (None outside any). A hunk that starts
    inside a model is in the model its heading names."""
    for heading, lines in file.sections():
        opened = _MODEL.match(heading)
        model = opened["name"] if opened else None
        for sign, text in lines:
            opened = _MODEL.match(text)
            if opened or _AT_MARGIN.match(text):
                model = opened["name"] if opened else None
            yield sign, model, text


def _columns(
    lines: list[tuple[str, str | None, str]], sign: str, models: set[str]
) -> list[tuple[str, str]]:
    """(model, column) of each field on lines with `sign`: its `@map` name, or its own."""
    found = []
    for each, model, text in lines:
        field = _FIELD.match(text) if each == sign and model else None
        if field and model and not _relation(field, models):
            mapped = _MAPPED.search(field["rest"])
            found.append((model, mapped["name"] if mapped else field["name"]))
    return found


def _relation(field: re.Match[str], models: set[str]) -> bool:
    kind = field["type"]
    listed = bool(field["list"]) and kind not in _PRISMA_SCALARS
    return listed or kind in models or "@relation" in field["rest"]


# SQL and migration files.


def _is_migration(file: FileDiff) -> bool:
    folders = {part.lower() for part in PurePosixPath(file.path).parts[:-1]}
    if not folders.isdisjoint(_MIGRATION_FOLDERS):
        return True
    return any(_MIGRATION_MARKERS.search(text) for _, text in file.lines)


def _migration(file: FileDiff, suffix: str, budget: Budget) -> list[Finding]:
    if file.deleted:
        return [Finding(Effect.mutating, "deletes a migration or SQL file")]
    added = "\n".join(file.added)
    if not added.strip():
        return []
    if suffix in _SQL_SUFFIXES:
        found = read_sql(added, None, budget)
        return found if file.created else [_as_fragment(finding) for finding in found]
    if suffix in _CODE_SUFFIXES:
        return read_migration(added, budget)
    return read_sql(added, None, budget) if looks_like_sql(added) else []


def _as_fragment(finding: Finding) -> Finding:
    """Added lines of a changed SQL file may be part of a statement, which parses only whole."""
    if finding != NOT_PARSED:
        return finding
    return Finding(Effect.mutating, "changes SQL that does not parse on its own (part of a file)")
