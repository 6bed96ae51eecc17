"""Bulk inserts through the driver's executemany: SQLAlchemy's per-row parameter processing is the
largest cost of a big ingest, and these rows need none beyond the column types' bind processors."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import Table
from sqlalchemy.orm import Session

IN_CHUNK = 900  # bound IN-lists so SQLite's host-parameter limit is never hit


def chunks(seq: Sequence[Any], size: int = IN_CHUNK) -> Iterator[Sequence[Any]]:
    """Consecutive slices of at most `size` items."""
    for i in range(0, len(seq), size):
        yield seq[i : i + size]


def bulk_insert(
    session: Session, table: Table, columns: Sequence[str], rows: list[tuple[Any, ...]], *, suffix: str = ""
) -> None:
    """INSERT rows (tuples in `columns` order) with one executemany; `suffix` is e.g. an ON CONFLICT
    clause, whose syntax SQLite and PostgreSQL share."""
    if not rows:
        return
    conn = session.connection()
    dialect = conn.dialect
    # Dates and datetimes need the dialect's own encoding (SQLite stores them as text in a fixed format).
    procs = [table.c[c].type.bind_processor(dialect) for c in columns]
    for col, proc in enumerate(procs):
        if proc is None:
            continue
        memo: dict[Any, Any] = {}  # a batch shares one timestamp: encode each distinct value once
        for i, row in enumerate(rows):
            value = row[col]
            if value is not None:
                if value not in memo:
                    memo[value] = proc(value)
                rows[i] = (*row[:col], memo[value], *row[col + 1 :])
    mark = "?" if dialect.paramstyle == "qmark" else "%s"
    sql = (
        f"INSERT INTO {table.name} ({', '.join(columns)}) "  # noqa: S608 - names come from our own models
        f"VALUES ({', '.join([mark] * len(columns))}) {suffix}"
    )
    conn.exec_driver_sql(sql, rows)
