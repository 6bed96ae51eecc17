"""Ingest benchmark: the 94k real JSONL into SQLite, against raw sqlite3.executemany of the same rows.

Prints a table. Baseline and paperfeed run in the same process, one after the other, on fresh files in the
same temp dir, so the ratio is what to read (machines are noisy).
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine, text

from paperfeed.config import Settings
from paperfeed.db.engine import make_engine, make_sessionmaker
from paperfeed.db.migrate import upgrade
from paperfeed.ingest.jsonl import JsonlSource
from paperfeed.ingest.store import IngestReport, store_records

RAW_SCHEMA = """CREATE TABLE papers_raw (id TEXT PRIMARY KEY, title TEXT, authors TEXT, categories TEXT,
comment TEXT, summary TEXT, listing_date TEXT)"""


def baseline(path: Path, workdir: Path) -> tuple[int, float, float]:
    """Rows parsed up front, then one executemany: (rows, insert seconds, read+insert seconds)."""
    t0 = time.perf_counter()
    rows = []
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        for line in fh:
            r = json.loads(line)
            rows.append(
                (
                    r["id"],
                    r["title"],
                    json.dumps(r.get("authors")),
                    json.dumps(r.get("categories")),
                    r.get("comment"),
                    r["summary"],
                    r["listing_date"],
                )
            )
    conn = sqlite3.connect(workdir / "raw.db")
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute(RAW_SCHEMA)
    t1 = time.perf_counter()
    with conn:
        conn.executemany("INSERT INTO papers_raw VALUES (?,?,?,?,?,?,?)", rows)
    t2 = time.perf_counter()
    conn.close()
    return len(rows), t2 - t1, t2 - t0


TABLES = ("papers", "authors", "paper_authors", "paper_categories", "code_links", "submissions")


def baseline_same_rows(source_db: Path, workdir: Path) -> tuple[int, int, float]:
    """Every row paperfeed wrote (all six tables), re-inserted with raw sqlite3.executemany into the same
    migrated schema in one transaction: the floor for writing exactly what paperfeed writes."""
    dumped: dict[str, tuple[list[str], list[tuple[object, ...]]]] = {}
    src = sqlite3.connect(source_db)
    for table in TABLES:
        cur = src.execute(f"SELECT * FROM {table}")
        dumped[table] = ([d[0] for d in cur.description], cur.fetchall())
    src.close()
    target = workdir / "same-rows.db"
    engine = make_engine(Settings(database_url=f"sqlite:///{target}"))
    upgrade(engine)
    engine.dispose()
    conn = sqlite3.connect(target)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA cache_size=-65536")
    t0 = time.perf_counter()
    with conn:
        for table, (cols, rows) in dumped.items():
            marks = ",".join("?" * len(cols))
            conn.executemany(f"INSERT INTO {table} ({','.join(cols)}) VALUES ({marks})", rows)
    elapsed = time.perf_counter() - t0
    conn.close()
    n_rows = sum(len(rows) for _, rows in dumped.values())
    return len(dumped["papers"][1]), n_rows, elapsed


def fingerprint(engine: Engine) -> str:
    """A digest of every stored row that matters, to prove a re-run changed nothing."""
    h = hashlib.sha256()
    with engine.connect() as conn:
        for sql in (
            "SELECT id, key, content_hash, updated_at FROM papers ORDER BY id",
            "SELECT paper_id, position, author_id FROM paper_authors ORDER BY paper_id, position",
            "SELECT paper_id, position, category FROM paper_categories ORDER BY paper_id, position",
            "SELECT id, paper_id, url, stars FROM code_links ORDER BY id",
            "SELECT id, paper_id, day, submitted_by FROM submissions ORDER BY id",
            "SELECT count(*) FROM authors",
        ):
            for row in conn.execute(text(sql)):
                h.update(repr(tuple(row)).encode())
    return h.hexdigest()


def run_paperfeed(path: Path, settings: Settings) -> tuple[IngestReport, float]:
    """One full ingest through JsonlSource and the store; returns the report and seconds."""
    engine = make_engine(settings)
    upgrade(engine)
    factory = make_sessionmaker(engine)
    t0 = time.perf_counter()
    report = store_records(
        factory,
        JsonlSource(path).records(),
        batch_size=settings.ingest_batch_size,
        workers=settings.ingest_workers,
    )
    elapsed = time.perf_counter() - t0
    engine.dispose()
    return report, elapsed


def main() -> int:
    """Run the benchmark and print the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, required=True, help="arxiv-2025-94k.jsonl.gz")
    args = parser.parse_args()
    if not args.data.exists():
        print(f"benchmark data not found: {args.data} (it lives in ../shared/data)", file=sys.stderr)
        return 2
    console = Console(width=140)
    with tempfile.TemporaryDirectory(prefix="pf-bench-") as tmp:
        workdir = Path(tmp)
        n_raw, t_insert, t_read_insert = baseline(args.data, workdir)
        settings = Settings(database_url=f"sqlite:///{workdir / 'paperfeed.db'}", data_dir=workdir)
        first, t_first = run_paperfeed(args.data, settings)
        engine = make_engine(settings)
        before = fingerprint(engine)
        second, t_second = run_paperfeed(args.data, settings)
        after = fingerprint(engine)
        engine.dispose()
        n_same, n_same_rows, t_same = baseline_same_rows(workdir / "paperfeed.db", workdir)

    rate_raw = n_raw / t_insert
    rate_same = n_same / t_same
    rate_raw_all = n_raw / t_read_insert
    rate_first = first.seen / t_first
    rate_second = second.seen / t_second
    table = Table(title=f"ingest {args.data.name} into SQLite ({n_raw:,} lines)")
    for col in ("run", "seconds", "papers/s", "new", "updated", "unchanged", "rejected"):
        table.add_column(col, justify="right" if col != "run" else "left")
    table.add_row(
        f"baseline A: sqlite3.executemany of the same rows ({n_same_rows:,} rows, 6 tables)",
        f"{t_same:.2f}",
        f"{rate_same:,.0f}",
        "",
        "",
        "",
        "",
    )
    table.add_row(
        "baseline B: sqlite3.executemany into one flat table",
        f"{t_insert:.2f}",
        f"{rate_raw:,.0f}",
        "",
        "",
        "",
        "",
    )
    table.add_row(
        "baseline C: json parse + flat executemany",
        f"{t_read_insert:.2f}",
        f"{rate_raw_all:,.0f}",
        "",
        "",
        "",
        "",
    )
    for name, rep, secs, rate in (
        ("paperfeed first run", first, t_first, rate_first),
        ("paperfeed re-run", second, t_second, rate_second),
    ):
        table.add_row(
            name,
            f"{secs:.2f}",
            f"{rate:,.0f}",
            str(rep.new),
            str(rep.updated),
            str(rep.unchanged),
            str(rep.rejected),
        )
    console.print(table)
    ratio = rate_first / rate_same
    speedup = t_first / t_second
    unchanged = before == after and second.new == 0 and second.updated == 0
    console.print(f"first run / baseline A (same rows):  {ratio:.2f}  (target >= 0.25)")
    console.print(f"first run / baseline B (flat table): {rate_first / rate_raw:.2f}  (for reference)")
    console.print(f"re-run speed-up over first run:    {speedup:.1f}x (target >= 5x)")
    console.print(f"re-run changed nothing:            {unchanged} (row fingerprint before == after)")
    ok = ratio >= 0.25 and speedup >= 5 and unchanged
    console.print("[green]PASS[/]" if ok else "[red]FAIL[/]")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
