"""Whether free text is SQL, told by the shape of its first statement.

A leading keyword is not enough: "delete the old files please" and "update me when done" start
with one. Each keyword must be followed by what SQL puts after it (DELETE FROM, UPDATE x SET
y =, DROP TABLE ...), which English rarely does.
"""

from __future__ import annotations

import re

_NAME = r"[\w.\"`\[\]]+"
_OBJECTS = (
    r"(?:TABLE|DATABASE|SCHEMA|VIEW|MATERIALIZED\s+VIEW|INDEX|USER|ROLE|SEQUENCE|FUNCTION|"
    r"PROCEDURE|TRIGGER|TYPE|EXTENSION|DOMAIN|POLICY|PUBLICATION|SUBSCRIPTION|TABLESPACE|"
    r"SERVER|EVENT|RULE|AGGREGATE|COLLATION|KEYSPACE)\b"
)
_SHAPES = (
    rf"SELECT\s+(?:DISTINCT\s+|TOP\s+\d+\s+)?(?:\*|\d|'|@|\(|{_NAME}\s*(?:\(|,|;|$|FROM\b|AS\b))",
    rf"WITH\s+(?:RECURSIVE\s+)?{_NAME}\s*(?:\([^)]*\)\s*)?AS\s+(?:NOT\s+)?(?:MATERIALIZED\s+)?\(",
    r"INSERT\s+(?:OR\s+\w+\s+|IGNORE\s+)?(?:INTO|OVERWRITE)\b",
    r"(?:REPLACE|MERGE)\s+INTO\b",
    rf"UPDATE\s+(?:ONLY\s+)?{_NAME}(?:\s+(?:AS\s+)?\w+)?\s+SET\s+(?:{_NAME}\s*=|\()",
    rf"DELETE\s+(?:{_NAME}(?:\s*,\s*{_NAME})*\s+)?FROM\s+{_NAME}",
    rf"DROP\s+(?:TEMPORARY\s+|TEMP\s+)?(?:{_OBJECTS}|OWNED\s+BY\b)",
    rf"TRUNCATE\s+(?:TABLE\s+)?(?:ONLY\s+)?{_NAME}\s*(?:;|,|$|CASCADE\b|RESTART\b|CONTINUE\b)",
    rf"ALTER\s+(?:{_OBJECTS}|SYSTEM\b|DEFAULT\s+PRIVILEGES\b|LARGE\s+OBJECT\b)",
    r"CREATE\s+(?:OR\s+REPLACE\s+)?(?:(?:TEMP|TEMPORARY|UNIQUE|GLOBAL|LOCAL|UNLOGGED|"
    rf"MATERIALIZED|RECURSIVE|VIRTUAL|EXTERNAL|TRANSIENT)\s+)*{_OBJECTS}",
    rf"(?:GRANT|REVOKE)\s+[\w\s,()]+?\s+ON\s+{_NAME}",
    rf"GRANT\s+{_NAME}(?:\s*,\s*{_NAME})*\s+TO\s+\S+\s*(?:;|$|WITH\b)",
    rf"REVOKE\s+{_NAME}(?:\s*,\s*{_NAME})*\s+FROM\s+\S+\s*(?:;|$|CASCADE\b)",
    rf"COPY\s+(?:\(|INTO\b|{_NAME}\s*(?:\([^)]*\)\s*)?(?:FROM|TO)\s+(?:STDIN|STDOUT|PROGRAM|E?'))",
    rf"VACUUM(?:\s+(?:FULL|FREEZE|VERBOSE|ANALYZE))*(?:\s*\([^)]*\))?(?:\s+{_NAME})?\s*(?:;|$)",
    r"EXPLAIN\s+(?:ANALYZE\s+|VERBOSE\s+|\([^)]*\)\s*|FORMAT\s*=\s*\w+\s+)*"
    r"(?:SELECT|INSERT|UPDATE|DELETE|WITH|MERGE|VALUES|TABLE|REPLACE)\b",
    r"SHOW\s+(?:TABLES|DATABASES|SCHEMAS|COLUMNS|INDEX|INDEXES|GRANTS|PROCESSLIST|FULL|CREATE|"
    rf"VARIABLES|STATUS|ALL)\b|SHOW\s+{_NAME}\s*(?:;|$)",
    rf"DESC(?:RIBE)?\s+{_NAME}\s*(?:;|$)",
    rf"SET\s+(?:SESSION\s+|LOCAL\s+|GLOBAL\s+)?@{{0,2}}{_NAME}\s*(?:=|TO\s+\S+\s*(?:;|$))",
    rf"CALL\s+{_NAME}\s*\(",
    r"(?:BEGIN|START\s+TRANSACTION)\s*(?:;|$|TRANSACTION\b|WORK\b|ISOLATION\b)",
    r"(?:COMMIT|ROLLBACK)(?:\s+(?:WORK|TRANSACTION|TO\s+\w+))?\s*(?:;|$)",
)
_SQL_START = re.compile("|".join(f"(?:{shape})" for shape in _SHAPES), re.I | re.M)
_LEADING_COMMENTS = re.compile(r"(?:\s+|--[^\n]*|/\*.*?\*/)*", re.S)


def looks_like_sql(text: str) -> bool:
    """Whether `text` starts, after comments, with an SQL statement rather than English."""
    start = _LEADING_COMMENTS.match(text)
    rest = text[start.end() if start else 0 :]
    return _SQL_START.match(rest[:4096]) is not None
