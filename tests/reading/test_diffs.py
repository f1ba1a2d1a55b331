"""Reading a request's diff: plans, unified diffs of manifests, Terraform, SQL and migrations."""

from __future__ import annotations

import json

import pytest

from bot.reading.diffs import read_diff
from bot.reading.findings import Budget, Effect, Finding, OutOfTime, unlimited


def git_diff(
    path: str,
    removed: str = "",
    added: str = "",
    *,
    kept: str = "",
    created: bool = False,
    deleted: bool = False,
) -> str:
    """One file's change as `git diff` prints it: kept lines first, then removed, then added."""
    context, old, new = kept.splitlines(), removed.splitlines(), added.splitlines()
    old_count, new_count = len(context) + len(old), len(context) + len(new)
    lines = [f"diff --git a/{path} b/{path}"]
    lines += ["new file mode 100644"] if created else []
    lines += ["deleted file mode 100644"] if deleted else []
    lines += [
        f"--- {'/dev/null' if created else 'a/' + path}",
        f"+++ {'/dev/null' if deleted else 'b/' + path}",
        f"@@ -{min(old_count, 1)},{old_count} +{min(new_count, 1)},{new_count} @@",
    ]
    lines += [f" {line}" for line in context] + [f"-{line}" for line in old]
    return "\n".join(lines + [f"+{line}" for line in new]) + "\n"


def read(diff: str) -> list[Finding]:
    return read_diff(diff, unlimited())


def said(diff: str) -> list[tuple[Effect, str]]:
    """Each finding's effect and text (its place, then its reason)."""
    return [(finding.effect, finding.text) for finding in read(diff)]


def destructive(diff: str) -> list[str]:
    return [text for effect, text in said(diff) if effect is Effect.destructive]


WEB = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  labels:
    name: web-frontend
  name: web
spec:
  replicas: 3
"""


# Kubernetes manifests.


def test_a_deleted_manifest_names_the_object_it_deletes() -> None:
    diff = git_diff("k8s/web.yaml", removed=WEB, deleted=True)
    assert destructive(diff) == ["diff k8s/web.yaml: deletes Kubernetes Deployment web"]


def test_a_manifest_of_several_documents_names_each_object() -> None:
    service = "apiVersion: v1\nkind: Service\nmetadata:\n  name: web-svc\n"
    diff = git_diff("k8s/web.yml", removed=f"{WEB}---\n{service}", deleted=True)
    assert destructive(diff) == [
        "diff k8s/web.yml: deletes Kubernetes Deployment web, Service web-svc"
    ]


def test_a_document_removed_from_a_kept_manifest_is_deleted() -> None:
    service = "---\napiVersion: v1\nkind: Service\nmetadata:\n  name: web-svc\n"
    diff = git_diff("k8s/web.yaml", kept=WEB, removed=service)
    assert destructive(diff) == ["diff k8s/web.yaml: deletes Kubernetes Service web-svc"]


def test_scaling_to_zero_replicas_is_destructive() -> None:
    diff = git_diff(
        "k8s/web.yaml", kept="kind: Deployment\nmetadata:\n  name: web\nspec:",
        removed="  replicas: 3", added="  replicas: 0",
    )  # fmt: skip
    assert destructive(diff) == ["diff k8s/web.yaml: scales Deployment web to zero replicas"]


def test_changing_replicas_or_an_image_is_not_destructive() -> None:
    diff = git_diff(
        "k8s/web.yaml", kept="kind: Deployment\nmetadata:\n  name: web\nspec:",
        removed="  replicas: 3\n  image: web:1.0", added="  replicas: 10\n  image: web:1.1",
    )  # fmt: skip
    assert read(diff) == []


# Terraform and CloudFormation.

LOGS = 'resource "aws_s3_bucket" "logs" {\n  bucket = "acme-logs"\n}\n'
ROLE = 'resource "aws_iam_role" "ci" {\n  name = "ci"\n}\n'


def test_a_deleted_terraform_file_names_the_resources_it_removes() -> None:
    diff = git_diff("infra/logs.tf", removed=LOGS + ROLE, deleted=True)
    assert destructive(diff) == [
        "diff infra/logs.tf: removes Terraform resources aws_s3_bucket.logs, aws_iam_role.ci"
    ]


def test_a_resource_removed_from_a_kept_file_is_destroyed() -> None:
    diff = git_diff("main.tf", kept='provider "aws" {}', removed=LOGS)
    assert destructive(diff) == ["diff main.tf: removes Terraform resource aws_s3_bucket.logs"]


def test_a_resource_moved_to_another_file_is_not_destroyed() -> None:
    diff = git_diff("main.tf", removed=LOGS) + git_diff("s3.tf", added=LOGS, created=True)
    assert destructive(diff) == []


def test_a_resource_renamed_with_a_moved_block_is_not_destroyed() -> None:
    renamed = LOGS.replace('"logs"', '"audit_logs"', 1)
    moved = "moved {\n  from = aws_s3_bucket.logs\n  to   = aws_s3_bucket.audit_logs\n}\n"
    diff = git_diff("main.tf", removed=LOGS, added=renamed + moved)
    assert destructive(diff) == []


def test_a_removed_cloudformation_resource_is_destroyed() -> None:
    table = (
        "  OrdersTable:\n    Type: AWS::DynamoDB::Table\n    Properties:\n      TableName: orders\n"
    )
    api = "  Api:\n    Type: AWS::Serverless::Api\n"
    diff = git_diff("template.yaml", kept=f"Resources:\n{api}", removed=table)
    assert destructive(diff) == [
        "diff template.yaml: removes CloudFormation resource OrdersTable (AWS::DynamoDB::Table)"
    ]


# Prisma schemas.

AUDIT = "model AuditEntry {\n  id     Int    @id\n  action String\n}\n"
USER = "model User {\n  id    Int     @id\n  email String  @unique\n"


def test_a_prisma_model_removed_drops_its_table() -> None:
    diff = git_diff("prisma/schema.prisma", kept=f"{USER}}}\n", removed=AUDIT)
    assert destructive(diff) == ["diff prisma/schema.prisma: drops table AuditEntry"]


def test_a_deleted_prisma_schema_drops_each_table() -> None:
    diff = git_diff("prisma/schema.prisma", removed=f"{USER}}}\n{AUDIT}", deleted=True)
    assert destructive(diff) == [
        "diff prisma/schema.prisma: drops table User",
        "diff prisma/schema.prisma: drops table AuditEntry",
    ]


def test_a_prisma_model_moved_to_another_file_is_not_dropped() -> None:
    diff = git_diff("prisma/schema.prisma", removed=AUDIT) + git_diff(
        "prisma/audit.prisma", added=AUDIT, created=True
    )
    assert destructive(diff) == []


def test_a_field_removed_from_a_prisma_model_drops_its_column() -> None:
    diff = git_diff("prisma/schema.prisma", kept=USER, removed="  nickname String?\n")
    assert destructive(diff) == ["diff prisma/schema.prisma: drops column User.nickname"]


def test_a_hunk_inside_a_prisma_model_is_in_the_model_its_heading_names() -> None:
    diff = (
        "--- a/prisma/schema.prisma\n+++ b/prisma/schema.prisma\n"
        "@@ -30,4 +30,3 @@ model Order {\n   total     Decimal\n-  couponCode String?\n"
        "   createdAt DateTime @default(now())\n }\n"
    )
    assert destructive(diff) == ["diff prisma/schema.prisma: drops column Order.couponCode"]


@pytest.mark.parametrize(
    ("removed", "added"),
    [
        ("  name  String", "  name  String  @db.VarChar(200)"),
        ("  name  String", '  fullName String @map("name")'),
        ("  posts Post[]", ""),
        ("  team  Team    @relation(fields: [teamId], references: [id])", ""),
        ("", "  nickname String?"),
    ],
    ids=["changed", "renamed-with-map", "relation-list", "relation", "added"],
)
def test_prisma_fields_changed_renamed_or_only_relations_drop_no_column(
    removed: str, added: str
) -> None:
    diff = git_diff("prisma/schema.prisma", removed, added, kept=USER)
    assert destructive(diff) == []


# Diffs that destroy nothing.


def test_deleting_a_test_file_or_editing_a_readme_destroys_nothing() -> None:
    test = "def test_export(tmp_path):\n    assert export(tmp_path)\n"
    diff = git_diff("tests/test_export.py", removed=test, deleted=True) + git_diff(
        "README.md", removed="Drop the old table first.", added="Delete nothing by hand."
    )
    assert read(diff) == []


def test_adding_an_index_on_deleted_at_destroys_nothing() -> None:
    sql = "-- lookups by deleted_at\nCREATE INDEX idx_orders_deleted_at ON orders (deleted_at);"
    diff = git_diff("migrations/V43__orders_deleted_at.sql", added=sql, created=True)
    assert destructive(diff) == []


# SQL and migration files.


def test_sql_added_to_a_migration_is_read_and_placed_at_its_path() -> None:
    diff = git_diff("db/migrate/003_cleanup.sql", added="DROP TABLE customers;", created=True)
    assert said(diff) == [
        (Effect.destructive, "diff db/migrate/003_cleanup.sql: drops table customers")
    ]


def test_adding_a_column_is_a_change_not_a_destruction() -> None:
    sql = "ALTER TABLE users ADD COLUMN email text;\nCREATE INDEX users_email ON users (email);"
    diff = git_diff("migrations/004_email.sql", added=sql, created=True)
    assert destructive(diff) == []
    assert {effect for effect, _ in said(diff)} == {Effect.mutating}


def test_a_select_that_mentions_drop_destroys_nothing() -> None:
    sql = "SELECT 'drop table users' AS note, count(*) FROM audit WHERE action = 'DELETE';"
    assert read(git_diff("reports/audit.sql", added=sql, created=True)) == []


def test_a_deleted_migration_is_a_change() -> None:
    diff = git_diff("db/migrate/001_init.sql", removed="CREATE TABLE t (a int);", deleted=True)
    reason = "diff db/migrate/001_init.sql: deletes a migration or SQL file"
    assert said(diff) == [(Effect.mutating, reason)]


def test_lines_past_a_hunk_that_counts_too_few_are_still_read() -> None:
    diff = (
        "diff --git a/db/schema.sql b/db/schema.sql\n--- a/db/schema.sql\n+++ b/db/schema.sql\n"
        "@@ -1,1 +1,1 @@\n-SELECT 1;\n+SELECT 2;\n+DROP TABLE customers;\n"
    )
    assert destructive(diff) == ["diff db/schema.sql: drops table customers"]


def test_part_of_a_statement_added_to_a_sql_file_is_a_change() -> None:
    diff = git_diff("schema.sql", kept="CREATE TABLE users (\n  id int,", added="  email text,")
    assert [effect for effect, _ in said(diff)] == [Effect.mutating]


@pytest.mark.parametrize(
    ("path", "code", "reason"),
    [
        (
            "alembic/versions/a1_drop.py",
            "def upgrade():\n    op.drop_column('users', 'email')\n",
            "migration drops column users.email",
        ),
        (
            "alembic/versions/a1_drop.py",
            'def upgrade():\n    op.drop_table("orders")\n',
            "migration drops table orders",
        ),
        (
            "alembic/versions/a1_drop.py",
            'def upgrade():\n    op.execute("DROP TABLE legacy_orders")\n',
            "drops table legacy_orders",
        ),
        (
            "shop/migrations/0007_remove_email.py",
            "        migrations.RemoveField(\n            model_name='user',\n"
            "            name='email',\n        ),\n",
            "migration drops column user.email",
        ),
        (
            "shop/migrations/0008_delete_order.py",
            "        migrations.DeleteModel(\n            name='Order',\n        ),\n",
            "migration deletes model Order",
        ),
        (
            "shop/migrations/0009_sql.py",
            '        migrations.RunSQL("TRUNCATE shop_cart"),\n',
            "empties table shop_cart",
        ),
        (
            "db/migrate/20240101_drop_orders.rb",
            "  def change\n    drop_table :orders\n  end\n",
            "migration drops table orders",
        ),
        (
            "db/migrate/20240102_remove_email.rb",
            "  def change\n    remove_column :users, :email, :string\n  end\n",
            "migration drops column users.email",
        ),
        (
            "db/migrate/20240103_sql.rb",
            '  def up\n    execute "DELETE FROM sessions"\n  end\n',
            "deletes every row of sessions",
        ),
        (
            "migrations/20240101_drop.js",
            "exports.up = (knex) => knex.schema.dropTableIfExists('orders');\n",
            "migration drops table orders",
        ),
        (
            "migrations/20240102-remove-email.js",
            "  up: (queryInterface) => queryInterface.removeColumn('users', 'email'),\n",
            "migration drops column users.email",
        ),
        (
            "db/changelog/002-drop.xml",
            '  <dropColumn tableName="users" columnName="email"/>\n',
            "migration drops column users.email",
        ),
        (
            "db/changelog/003-drop.yaml",
            "  - changeSet:\n      changes:\n        - dropTable:\n            tableName: orders\n",
            "migration drops table orders",
        ),
        (
            "priv/repo/migrations/20240101_drop.exs",
            "  def change do\n    drop table(:orders)\n  end\n",
            "migration drops table orders",
        ),
        (
            "priv/repo/migrations/20240102_remove.exs",
            "  def change do\n    alter table(:users) do\n      remove :email\n    end\n  end\n",
            "migration drops column email",
        ),
    ],
)
def test_migration_code_that_drops_names_what_it_drops(path: str, code: str, reason: str) -> None:
    found = destructive(git_diff(path, added=code, created=True))
    assert any(text.startswith(f"diff {path}: {reason}") for text in found), found


def test_what_only_a_rollback_drops_is_not_read() -> None:
    code = (
        "from alembic import op\n\n\ndef upgrade():\n    op.create_table('webhooks')\n\n\n"
        "def downgrade():\n    op.drop_table('webhooks')\n"
    )
    diff = git_diff("alembic/versions/d7a1_webhooks.py", added=code, created=True)
    assert destructive(diff) == []


def test_a_code_refactor_destroys_nothing() -> None:
    diff = git_diff(
        "src/cleanup.py",
        kept="import os",
        removed="def drop_table(name):\n    return name",
        added="def remove_table(name):\n    # DROP TABLE is never sent from here\n    return name",
    )
    assert read(diff) == []


def test_each_file_of_a_diff_is_read_at_its_own_path() -> None:
    diff = (
        git_diff("src/app.py", removed="x = 1", added="x = 2")
        + git_diff("k8s/web.yaml", removed=WEB, deleted=True)
        + git_diff("db/migrate/9.sql", added="TRUNCATE orders;", created=True)
    )
    assert destructive(diff) == [
        "diff k8s/web.yaml: deletes Kubernetes Deployment web",
        "diff db/migrate/9.sql: empties table orders (TRUNCATE)",
    ]


# Plans.


def plan_json(*changes: tuple[str, list[str]]) -> str:
    resource_changes = [{"address": a, "change": {"actions": acts}} for a, acts in changes]
    return json.dumps({"format_version": "1.2", "resource_changes": resource_changes})


def test_a_plan_that_deletes_or_replaces_is_destructive() -> None:
    plan = plan_json(
        ("aws_db_instance.orders", ["delete"]),
        ("aws_instance.web", ["delete", "create"]),
        ("aws_lb.api", ["create", "delete"]),
        ("aws_s3_bucket.new", ["create"]),
        ("aws_iam_role.ci", ["no-op"]),
    )
    assert said(plan) == [
        (Effect.destructive, "diff: plan destroys aws_db_instance.orders"),
        (Effect.destructive, "diff: plan replaces aws_instance.web, aws_lb.api"),
        (Effect.mutating, "diff: plan creates aws_s3_bucket.new"),
    ]


def test_a_plan_that_only_updates_in_place_is_not_destructive() -> None:
    plan = plan_json(("aws_security_group.web", ["update"]), ("aws_iam_role.ci", ["no-op"]))
    assert said(plan) == [(Effect.mutating, "diff: plan changes aws_security_group.web in place")]


def test_plan_json_that_does_not_parse_is_opaque() -> None:
    broken = plan_json(("aws_db_instance.orders", ["delete"]))[:-10]
    assert said(broken) == [(Effect.opaque, "diff: cannot be read: plan JSON that does not parse")]


def test_json_that_is_not_a_plan_is_read_as_text() -> None:
    assert read('{"name": "web", "replicas": 3}') == []


PLAN_TEXT = """\
Terraform will perform the following actions:

  # aws_db_instance.orders will be destroyed
  - resource "aws_db_instance" "orders" {
      - identifier = "orders" -> null
    }

  # module.web.aws_instance.app must be replaced
-/+ resource "aws_instance" "app" {
    }

Plan: 1 to add, 0 to change, 2 to destroy.
"""


def test_plan_text_names_what_it_destroys_and_replaces() -> None:
    assert destructive(PLAN_TEXT) == [
        "diff: plan destroys aws_db_instance.orders",
        "diff: plan replaces module.web.aws_instance.app",
    ]


def test_plan_text_in_colour_reads_the_same() -> None:
    coloured = PLAN_TEXT.replace("# aws_db", "# \x1b[1maws_db").replace(" will", "\x1b[0m will")
    assert destructive(coloured) == destructive(PLAN_TEXT)


def test_a_plan_summary_alone_counts_what_it_destroys() -> None:
    assert destructive("Plan: 0 to add, 0 to change, 3 to destroy.\n") == [
        "diff: plan destroys 3 resources"
    ]


def test_a_plan_that_changes_in_place_is_not_destructive() -> None:
    plan = (
        "Terraform will perform the following actions:\n\n"
        "  # aws_instance.web will be updated in-place\n"
        '  ~ resource "aws_instance" "web" {\n    }\n\n'
        "Plan: 0 to add, 1 to change, 0 to destroy.\n"
    )
    assert said(plan) == [(Effect.mutating, "diff: plan changes aws_instance.web in place")]


def test_a_pulumi_preview_names_what_it_deletes() -> None:
    preview = (
        "Previewing update (acme/infra/staging)\n\n"
        "     Type                 Name            Plan\n"
        "     pulumi:pulumi:Stack  infra-staging\n"
        " -   └─ aws:s3:Bucket     logs            delete\n\n"
        "Resources:\n    - 1 to delete\n    5 unchanged\n"
    )
    assert destructive(preview) == ["diff: plan destroys aws:s3:Bucket logs"]


# Text that is neither a plan nor a diff.


def test_raw_sql_is_read_as_sql() -> None:
    assert destructive("DROP TABLE customers;\n") == ["diff: drops table customers"]


def test_raw_migration_code_is_read_by_its_calls() -> None:
    code = "from alembic import op\n\ndef upgrade():\n    op.drop_table('orders')\n"
    assert destructive(code) == ["diff: migration drops table orders"]


def test_prose_is_not_read_as_anything() -> None:
    assert read("Delete the old files please, then update me when done.") == []


# Bounds.


def large_code_diff() -> str:
    hunk = "".join(
        f"-    value_{n} = compute({n})\n+    value_{n} = compute({n} + 1)\n" for n in range(40)
    )
    files = (
        f"diff --git a/src/m{i}.py b/src/m{i}.py\n--- a/src/m{i}.py\n+++ b/src/m{i}.py\n"
        f"@@ -1,40 +1,40 @@\n{hunk}"
        for i in range(450)
    )
    return "".join(files)


def test_a_budget_that_ran_out_stops_reading_a_large_diff() -> None:
    with pytest.raises(OutOfTime):
        read_diff(large_code_diff(), Budget(-1))


def test_a_mebibyte_of_code_diff_is_read_well_within_two_seconds() -> None:
    diff = large_code_diff()
    assert len(diff) > 1_000_000
    assert read_diff(diff, Budget(2.0)) == []


def test_a_rollback_that_the_upgrade_calls_is_read() -> None:
    code = "def upgrade():\n    downgrade()\n\n\ndef downgrade():\n    op.drop_table('webhooks')\n"
    diff = git_diff("alembic/versions/d7a1_webhooks.py", added=code, created=True)
    assert destructive(diff) == [
        "diff alembic/versions/d7a1_webhooks.py: migration drops table webhooks"
    ]


def test_an_unclosed_rollback_hides_nothing() -> None:
    xml = '<databaseChangeLog>\n  <rollback>\n  <dropTable tableName="orders"/>\n'
    diff = git_diff("db/changelog/004.xml", added=xml, created=True)
    assert destructive(diff) == ["diff db/changelog/004.xml: migration drops table orders"]


def test_a_diff_with_windows_line_ends_is_read_at_its_path() -> None:
    diff = git_diff("db/migrate/9.sql", added="DROP TABLE customers;", created=True)
    assert destructive(diff.replace("\n", "\r\n")) == [
        "diff db/migrate/9.sql: drops table customers"
    ]


def test_a_line_separator_inside_an_added_line_hides_nothing() -> None:
    diff = git_diff("db/migrate/9.sql", added="SELECT 1;\u2028DROP TABLE customers;", created=True)
    assert destructive(diff) == ["diff db/migrate/9.sql: drops table customers"]
