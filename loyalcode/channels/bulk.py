"""Bulk rows the fastest way each database has: ``COPY`` on PostgreSQL (psycopg 3),
``executemany`` on the sqlite3 driver. Both run on the session's own connection, in
the caller's transaction, so a later refusal or rollback takes them back too.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy.orm import Session

CHUNK = 50_000  # rows a call on SQLite: memory stays flat whatever the count


def write_rows(session: Session, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """Insert ``rows`` (tuples in the order of ``columns``) into ``table``; the count.

    ``table`` and ``columns`` are the caller's constants, never input.
    """
    conn = session.connection()
    raw: Any = conn.connection.driver_connection
    names = ", ".join(columns)
    count = 0
    if conn.dialect.name == "postgresql":
        with raw.cursor() as cur, cur.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
                count += 1
        return count
    marks = ", ".join("?" for _ in columns)
    statement = f"INSERT INTO {table} ({names}) VALUES ({marks})"
    cur = raw.cursor()
    try:
        chunk: list[Sequence[Any]] = []
        for row in rows:
            chunk.append(row)
            if len(chunk) >= CHUNK:
                cur.executemany(statement, chunk)
                count += len(chunk)
                chunk = []
        if chunk:
            cur.executemany(statement, chunk)
            count += len(chunk)
    finally:
        cur.close()
    return count
