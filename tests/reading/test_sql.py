"""Reading SQL: what each statement does, in the words a reviewer sees on the card."""

from __future__ import annotations

import logging
import time

import pytest

from bot.reading.findings import Budget, Effect, OutOfTime, unlimited
from bot.reading.sql import looks_like_sql, read_sql


def said(sql: str, dialect: str | None = None) -> list[tuple[Effect, str]]:
    """What reading `sql` says: each finding's effect and reason."""
    return [(finding.effect, finding.reason) for finding in read_sql(sql, dialect, unlimited())]


def effects(sql: str, dialect: str | None = None) -> set[Effect]:
    return {effect for effect, _ in said(sql, dialect)}


@pytest.mark.parametrize(
    ("sql", "dialect", "reason"),
    [
        ("DROP TABLE customers", None, "drops table customers"),
        ("drop database orders;", None, "drops database orders"),
        ("DROP SCHEMA x CASCADE", None, "drops schema x cascade"),
        ("DROP VIEW IF EXISTS reports.daily", None, "drops view reports.daily"),
        ("DROP USER bob", None, "drops user bob"),
        ("DROP OWNED BY bob", "postgres", "drops every object owned by bob"),
        ("TRUNCATE orders", None, "empties table orders (TRUNCATE)"),
        ("TRUNCATE TABLE events, sessions RESTART IDENTITY", None, "empties table events"),
        ("DELETE FROM orders", None, "deletes every row of orders"),
        ("DELETE FROM orders WHERE 1=1", None, "deletes every row of orders"),
        ("delete from orders where true", None, "deletes every row of orders"),
        ("DELETE FROM orders WHERE id > 0 OR 1 = 1", None, "deletes every row of orders"),
        ('DELETE FROM "Users"', None, "deletes every row of"),
        ("UPDATE users SET role = 'admin'", None, "updates every row of users"),
        ("UPDATE users SET active = false WHERE 'a' = 'a'", None, "updates every row of users"),
        ("ALTER TABLE users DROP COLUMN email", None, "drops column users.email"),
        ("ALTER TABLE orders DROP CONSTRAINT orders_fk", None, "drops constraint orders_fk"),
        ("ALTER TABLE logs DROP PARTITION p2023", "mysql", "drops partition p2023 on logs"),
        ("GRANT ALL ON orders TO bob", None, "grants ALL on orders to bob"),
        ("REVOKE SELECT ON orders FROM bob", None, "revokes SELECT on orders from bob"),
        ("ALTER USER reporting WITH SUPERUSER", "postgres", "grants SUPERUSER to reporting"),
        ("SELECT pg_terminate_backend(pid) FROM pg_stat_activity", None, "pg_terminate_backend"),
        ("SELECT pg_drop_replication_slot('s1')", None, "pg_drop_replication_slot"),
        ("SELECT lo_unlink(4242)", None, "lo_unlink"),
        ("SELECT dblink_exec('conn', 'DELETE FROM t')", None, "dblink_exec"),
        ("KILL 42", "mysql", "ends connection 42"),
        ("SHUTDOWN", "mysql", "shuts down the database server"),
        ("RESET MASTER", "mysql", "resets replication"),
        ("PURGE BINARY LOGS BEFORE '2024-01-01'", "mysql", "deletes binary logs"),
        ("CREATE OR REPLACE TABLE totals AS SELECT 1", None, "replaces table totals"),
        ("EXPLAIN ANALYZE DELETE FROM sessions", "postgres", "deletes every row of sessions"),
        ("WITH gone AS (DELETE FROM t RETURNING *) SELECT * FROM gone", None, "every row of t"),
        ("DO $$ BEGIN DROP TABLE audit; END $$", "postgres", "drops table audit"),
        ("ALTER TABLE orders DISABLE ROW LEVEL SECURITY", None,
         "turns off row-level security on orders"),
        ("alter table if exists only app.orders disable row level security", "postgres",
         "turns off row-level security on app.orders"),
        ("ALTER TABLE orders NO FORCE ROW LEVEL SECURITY", "postgres",
         "lets the owner of orders bypass row-level security"),
        ("ALTER TABLE orders DISABLE TRIGGER ALL", None, "turns off every trigger on orders"),
        ("ALTER TABLE orders DISABLE TRIGGER USER", "postgres", "turns off the triggers on orders"),
        ("ALTER ROLE reporting BYPASSRLS", "postgres", "grants BYPASSRLS to reporting"),
        ("DROP KEYSPACE IF EXISTS analytics;", None, "drops keyspace analytics"),
        ("DROP TABLE analytics.events;", None, "drops table analytics.events"),
        ("TRUNCATE analytics.events;", None, "empties table analytics.events"),
    ],
)  # fmt: skip
def test_what_destroys_is_destructive_and_names_what(
    sql: str, dialect: str | None, reason: str
) -> None:
    found = said(sql, dialect)
    assert any(e is Effect.destructive and reason in r for e, r in found), found


@pytest.mark.parametrize(
    ("sql", "dialect", "reason"),
    [
        ("INSERT INTO orders VALUES (1, 2)", None, "changes data: INSERT INTO orders"),
        ("DELETE FROM orders WHERE id = 3", None, "deletes rows of orders that match its WHERE"),
        ("UPDATE users SET name = 'x' WHERE id = 2", None, "updates rows of users"),
        ("ALTER TABLE users ADD COLUMN email text", None, "changes schema: ALTER TABLE users"),
        ("CREATE TABLE t (a int)", None, "changes schema: CREATE TABLE t"),
        ("CREATE INDEX i ON t (a)", None, "CREATE INDEX i"),
        ("COPY orders FROM '/tmp/orders.csv'", "postgres", "COPY orders FROM a file"),
        ("MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN DELETE", None, "MERGE INTO t"),
        ("SET search_path = audit", None, "changes settings: SET search_path"),
        ("SELECT * INTO backup FROM orders", "postgres", "SELECT ... INTO backup"),
        ("CALL refresh_totals()", None, "runs CALL"),
        ("EXECUTE prepared_cleanup", None, "runs EXECUTE"),
        ("DO $$ BEGIN PERFORM 1; END $$", "postgres", "runs a procedural block (DO)"),
        ("VACUUM FULL orders", "postgres", "runs VACUUM FULL"),
        ("REPLACE INTO t VALUES (1)", "mysql", "runs REPLACE"),
        ("FLUSH PRIVILEGES", "mysql", "runs FLUSH"),
        ("ALTER TABLE orders ENABLE ROW LEVEL SECURITY", "postgres", "runs ALTER TABLE orders"),
        ("ALTER TABLE orders DISABLE TRIGGER orders_touch", "postgres", "runs ALTER TABLE orders"),
    ],
)
def test_what_changes_data_is_mutating(sql: str, dialect: str | None, reason: str) -> None:
    found = said(sql, dialect)
    assert any(e is Effect.mutating and reason in r for e, r in found), found
    assert Effect.destructive not in effects(sql, dialect)


@pytest.mark.parametrize(
    ("sql", "dialect"),
    [
        ("SELECT * FROM orders WHERE id = 1", None),
        ("WITH x AS (SELECT 1) SELECT * FROM x", None),
        ("SELECT 'drop table customers' AS note", None),
        ("SELECT * FROM t WHERE comment = 'DELETE FROM orders; TRUNCATE x'", None),
        ('SELECT "drop" FROM t', "postgres"),
        ("SELECT 1 -- DROP TABLE users", None),
        ("SHOW TABLES", "mysql"),
        ("SHOW search_path", "postgres"),
        ("EXPLAIN SELECT * FROM orders", None),
        ("EXPLAIN DELETE FROM orders", "postgres"),
        ("DESCRIBE orders", "mysql"),
        ("DESCRIBE KEYSPACE analytics;", None),
        ("DESCRIBE KEYSPACES", None),
        ("DESCRIBE TABLES", None),
        ("DESC TABLE analytics.events", None),
        ("DESC SCHEMA", None),
        ("VALUES (1), (2)", None),
        ("BEGIN; SELECT 1; COMMIT;", None),
        ("COPY orders TO STDOUT", "postgres"),
        ("-- only a comment", None),
        ("", None),
    ],
)
def test_reads_give_no_finding(sql: str, dialect: str | None) -> None:
    assert said(sql, dialect) == []


@pytest.mark.parametrize(
    ("sql", "reason"),
    [
        ("SELECT usename, passwd FROM pg_shadow", "reads credentials: pg_shadow"),
        ("SELECT * FROM pg_catalog.pg_authid", "reads credentials"),
        ("SELECT user, authentication_string FROM mysql.user", "reads credentials: mysql.user"),
        ("SELECT pg_read_file('/etc/passwd')", "pg_read_file"),
    ],
)
def test_reading_credentials_is_sensitive(sql: str, reason: str) -> None:
    found = said(sql)
    assert any(e is Effect.sensitive and reason in r for e, r in found), found


def test_each_statement_is_read() -> None:
    found = said("SELECT 1; DROP TABLE a; INSERT INTO b VALUES (1); DROP TABLE c")
    assert (Effect.destructive, "drops table a") in found
    assert (Effect.destructive, "drops table c") in found
    assert (Effect.mutating, "changes data: INSERT INTO b") in found


@pytest.mark.parametrize(
    ("sql", "reason"),
    [
        ("DROP KEYSPACE analytics WITH replication = {'class': 'x'} AND (((", "drops keyspace"),
        ("DROP TABLE analytics.events USING TIMEOUT 10s (((", "drops table analytics.events"),
        ("TRUNCATE TABLE analytics.events USING TIMEOUT 10s (((", "empties table analytics.events"),
    ],
)
def test_cql_that_does_not_parse_stays_destructive(sql: str, reason: str) -> None:
    found = said(sql)
    assert any(e is Effect.destructive and reason in r for e, r in found), found


def test_a_describe_that_does_not_parse_hides_nothing_about_the_statements_around_it() -> None:
    found = said("DESCRIBE KEYSPACE analytics; DROP KEYSPACE analytics;")
    assert found == [(Effect.destructive, "drops keyspace analytics")]


def test_a_describe_that_analyzes_and_does_not_parse_is_not_a_read() -> None:
    assert effects("DESCRIBE ANALYZE DELETE FROM t WHERE (((", "mysql") == {Effect.opaque}


def test_sqlglot_falling_back_to_a_command_is_not_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.DEBUG):
        said("ALTER TABLE orders DISABLE ROW LEVEL SECURITY; VACUUM FULL orders", "postgres")
    assert "Falling back" not in caplog.text


def test_a_statement_that_does_not_parse_hides_nothing_about_the_others() -> None:
    found = said("SELECT ((( FROM; DROP TABLE customers")
    assert (Effect.opaque, "cannot be read: SQL that does not parse") in found
    assert (Effect.destructive, "drops table customers") in found


@pytest.mark.parametrize(
    ("sql", "reason"),
    [
        ("DROP TABLE customers ((( nonsense", "drops table customers"),
        ("TRUNCATE TABLE orders %%% junk", "empties table orders"),
        ("DELETE FROM orders ))) junk", "deletes every row of orders"),
        ("ALTER TABLE users DROP COLUMN email ((", "drops column users.email"),
        ("GRANT ALL PRIVILEGES ON *.* TO 'bob'@'%' ((", "grants"),
    ],
)
def test_text_that_does_not_parse_is_destructive_when_its_keywords_say_so(
    sql: str, reason: str
) -> None:
    found = said(sql)
    assert any(e is Effect.destructive and reason in r for e, r in found), found


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT 'drop table users' FROM t WHERE (((",
        "this is not sql ((",
        "SELECT 'unterminated",
        "DELETE FROM orders WHERE (((",
    ],
)
def test_text_that_does_not_parse_and_names_no_destruction_is_opaque(sql: str) -> None:
    assert effects(sql) == {Effect.opaque}


@pytest.mark.parametrize(
    "sql",
    [
        "\\dt\n\\d users\n\\l\n\\du\n\\x\n\\timing\nSELECT 1;",
        "\\d+ orders\nSELECT count(*) FROM orders;\n\\q",
        "\\copy orders TO STDOUT",
    ],
)
def test_psql_commands_that_show_things_are_reads(sql: str) -> None:
    assert said(sql, "postgres") == []


@pytest.mark.parametrize(
    "sql",
    ["\\! rm -rf /", "SELECT 1;\n\\o |mail ops@example.com", "\\copy t TO PROGRAM 'gzip > x.gz'"],
)
def test_psql_shell_escapes_are_opaque(sql: str) -> None:
    assert (Effect.opaque, "cannot be read: psql shell escape") in said(sql, "postgres")


def test_psql_include_runs_sql_that_is_not_shown() -> None:
    assert said("\\i setup.sql", "postgres") == [
        (Effect.mutating, "runs SQL from file setup.sql (not shown)")
    ]


def test_psql_commands_do_not_hide_the_sql_around_them() -> None:
    found = said("\\timing\nDROP TABLE customers;\n\\x\n", "postgres")
    assert found == [(Effect.destructive, "drops table customers")]


def test_sqlite_dot_commands() -> None:
    assert said(".tables\n.schema users\n.mode csv\n.headers on\nSELECT 1;", "sqlite") == []
    assert (Effect.opaque, "cannot be read: sqlite3 shell escape") in said(".shell rm -rf /")
    assert said(".read evil.sql", "sqlite") == [
        (Effect.mutating, "runs SQL from file evil.sql (not shown)")
    ]


def test_findings_are_left_for_the_caller_to_place() -> None:
    assert [f.where for f in read_sql("DROP TABLE a", None, unlimited())] == [""]


def test_text_over_a_mebibyte_is_not_read() -> None:
    huge = "SELECT 1;\n" * (110 * 1024)
    assert said(huge) == [(Effect.opaque, "cannot be read: SQL too large to read")]


def test_a_budget_that_ran_out_stops_reading() -> None:
    with pytest.raises(OutOfTime):
        read_sql("SELECT 1; SELECT 2;", None, Budget(-1))


def test_an_unknown_dialect_reads_as_any() -> None:
    assert said("DROP TABLE customers", "no-such-dialect") == [
        (Effect.destructive, "drops table customers")
    ]


def test_reasons_and_logs_leave_out_string_literals(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG):
        found = said("ALTER USER bob IDENTIFIED BY 'hunter2'", "mysql")
        found += said("SET app.api_key = 'hunter2'")
    assert found
    assert "hunter2" not in caplog.text
    assert all("hunter2" not in reason for _, reason in found), found


@pytest.mark.parametrize(
    "text",
    [
        "SELECT * FROM orders",
        "select id, email from users where id = 3",
        "SELECT count(*) FROM t",
        "  -- why\n/* note */ DELETE FROM orders WHERE id = 1",
        "WITH recent AS (SELECT 1) SELECT * FROM recent",
        "INSERT INTO t VALUES (1)",
        "UPDATE users SET name = 'x'",
        "DELETE FROM sessions",
        "DROP TABLE customers",
        "TRUNCATE orders",
        "ALTER TABLE users ADD COLUMN x int",
        "CREATE UNIQUE INDEX i ON t (a)",
        "GRANT SELECT ON orders TO bob",
        "REVOKE admin FROM bob",
        "MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN DELETE",
        "REPLACE INTO t VALUES (1)",
        "COPY t FROM STDIN",
        "VACUUM FULL",
        "EXPLAIN ANALYZE SELECT 1",
        "SHOW TABLES",
        "DESCRIBE users",
        "SET statement_timeout = 0",
        "CALL refresh()",
        "BEGIN;",
        "COMMIT",
        "ROLLBACK",
    ],
)
def test_sql_looks_like_sql(text: str) -> None:
    assert looks_like_sql(text)


@pytest.mark.parametrize(
    "text",
    [
        "delete the old files please",
        "update me when done",
        "select the best option",
        "drop me a line",
        "show me the logs",
        "describe the problem in detail",
        "set up the staging server",
        "create a table of results",
        "truncate the log file",
        "copy the files to s3",
        "vacuum the living room",
        "begin the deployment",
        "commit the changes",
        "rollback the deploy",
        "explain why it failed",
        "grant me access to the repo please",
        "alter the plan",
        "merge the branches",
        "with love from bob",
        "",
    ],
)
def test_english_does_not_look_like_sql(text: str) -> None:
    assert not looks_like_sql(text)


def test_a_where_that_holds_inside_parentheses_is_every_row() -> None:
    found = said("DELETE FROM orders WHERE id = 1 OR (id = 2 OR 1 = 1)")
    assert found == [(Effect.destructive, "deletes every row of orders")]


def test_a_where_that_never_holds_is_not_every_row() -> None:
    assert effects("DELETE FROM orders WHERE id = 3 OR 1 = 0") == {Effect.mutating}


def test_an_insert_too_long_to_parse_is_read_as_a_change_by_its_words() -> None:
    rows = ", ".join(f"({n}, 'name {n}')" for n in range(6000))
    assert said(f"INSERT INTO customers (id, name) VALUES {rows};") == [
        (Effect.mutating, "changes data: INSERT INTO customers")
    ]


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT " + "(" * 5000 + "1" + ")" * 5000,
        "EXPLAIN ANALYZE " * 5000 + "SELECT 1",
        "DELETE FROM t WHERE " + " OR ".join(f"id = {n}" for n in range(3000)),
        "DELETE FROM t WHERE " + " AND ".join(f"{n} = {n}" for n in range(3000)),
        "DROP TABLE " + "a." * 200_000 + "b",
        "DELETE FROM x " * 60_000,
        "SELECT 1;\n' " + "SELECT 2;\n" * 20_000,
    ],
    ids=["parens", "explain", "or", "and", "name", "tokens", "stray quote"],
)
def test_sql_built_to_be_slow_is_read_in_a_few_seconds(sql: str) -> None:
    started = time.monotonic()
    read_sql(sql, None, unlimited())
    assert time.monotonic() - started < 3.0
