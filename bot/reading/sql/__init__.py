"""Reading SQL: what each statement does to the data, found by parsing it with sqlglot.

`read_sql` reads text that is SQL (with psql or sqlite3 client commands in it);
`looks_like_sql` tells free text that is SQL from English that starts with an SQL keyword.
"""

from bot.reading.sql.reader import MAX_SQL_CHARS, NOT_PARSED, read_sql
from bot.reading.sql.shape import looks_like_sql

__all__ = ["MAX_SQL_CHARS", "NOT_PARSED", "looks_like_sql", "read_sql"]
