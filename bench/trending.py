"""Trending benchmark: recompute the scores of the 94k real papers with synthetic votes, comments and stars.

The database (the 94k real arXiv papers, ingested once, then synthetic signals drawn with a fixed seed) is
cached under var/bench/. Timed in the same run, --repeat times each (the best and the median are printed):
- `recompute` of each window (load every paper's signals + stars gained, score, replace the stored rows);
- the same load + score without the write;
- the formula alone: numpy over 94k papers, against the pure per-paper loop of `trending_score` (the ratio);
- what the web reads live: one window's papers (`ranked_page`, `top_trending`).
"""

from __future__ import annotations

import argparse
import os
import random
import sqlite3
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table
from sqlalchemy import func, select

from paperfeed.config import Settings
from paperfeed.db.engine import make_engine, make_sessionmaker
from paperfeed.db.migrate import upgrade
from paperfeed.db.models import Paper, Submission
from paperfeed.ingest.jsonl import JsonlSource
from paperfeed.ingest.store import store_records
from paperfeed.ranking import service
from paperfeed.ranking.stars import repo_of
from paperfeed.ranking.trending import WINDOWS, Signals, TrendingParams, trending_score

SEED = 20261128
DB_VERSION = 2  # bump when the schema or the synthetic data change
console = Console(width=140)


def build(db: Path, data: Path) -> None:
    """Ingest the dump into a fresh file, add synthetic signals, then move it into place (atomic cache)."""
    tmp = db.with_suffix(".tmp")
    for leftover in (tmp, Path(f"{tmp}-wal"), Path(f"{tmp}-shm")):
        leftover.unlink(missing_ok=True)
    settings = Settings(database_url=f"sqlite:///{tmp}", data_dir=db.parent, ingest_workers=1)
    engine = make_engine(settings)
    upgrade(engine)
    t0 = time.perf_counter()
    with console.status("ingesting the 94k papers (once; cached afterwards)"):
        report = store_records(
            make_sessionmaker(engine), JsonlSource(data).records(), batch_size=5000, workers=1
        )
    console.print(f"ingested {report.new:,} papers in {time.perf_counter() - t0:.1f} s")
    engine.dispose()
    synthesise(tmp)
    tmp.rename(db)


def synthesise(path: Path) -> None:
    """Votes, comments and daily star histories drawn with a fixed seed (heavy-tailed, like real ones)."""
    rng = np.random.default_rng(SEED)
    conn = sqlite3.connect(path)
    ids = [r[0] for r in conn.execute("SELECT id FROM papers ORDER BY id")]
    n = len(ids)
    # Most papers get nothing; a few get many: a Pareto tail over a 20% "noticed" minority.
    noticed = rng.random(n) < 0.2
    upvotes = np.where(noticed, np.floor(rng.pareto(1.3, n) * 3), 0).astype(int)
    local = np.where(noticed, rng.poisson(1.0, n), 0).astype(int)
    comments = np.where(noticed, np.floor(rng.pareto(1.6, n) * 1.5), 0).astype(int)
    with conn:
        conn.executemany(
            "UPDATE papers SET upvotes = ?, vote_count = ?, comment_count = ? WHERE id = ?",
            list(zip(upvotes.tolist(), local.tolist(), comments.tolist(), ids, strict=True)),
        )
    latest = conn.execute("SELECT max(day) FROM submissions").fetchone()[0]
    end = datetime.fromisoformat(latest).replace(tzinfo=UTC) + timedelta(hours=12)
    repos = sorted(
        {
            r
            for (url,) in conn.execute("SELECT url FROM code_links WHERE kind = 'github'")
            if (r := repo_of(url))
        }
    )
    pyrng = random.Random(SEED)
    rows: list[tuple[str, int, str]] = []
    for repo in repos:
        stars = int(pyrng.paretovariate(1.1) * 20)
        rate = pyrng.paretovariate(1.5) - 1  # stars a day, most repos near 0
        # 35 daily snapshots up to the last listing day: more than a month, so every window has a baseline.
        for day in range(35, -1, -1):
            at = end - timedelta(days=day)
            rows.append((repo, stars, at.strftime("%Y-%m-%d %H:%M:%S.%f")))
            stars += int(pyrng.expovariate(1 / rate)) if rate > 0 else 0
    with conn:
        conn.executemany("INSERT INTO star_snapshots (repo, stars, fetched_at) VALUES (?, ?, ?)", rows)
        conn.execute(f"PRAGMA user_version = {DB_VERSION}")
    conn.close()
    console.print(
        f"synthetic signals: {n:,} papers, {len(repos):,} GitHub repositories, {len(rows):,} snapshots"
    )


def best(fn: Callable[[], object], repeat: int) -> tuple[float, float, float, object]:
    """(best wall, median wall, best CPU) seconds of `repeat` runs, and the last result.

    CPU time (this process, SQLite included: it runs in-process) is reported beside wall time because
    the machine is shared: wall time counts the waits for a core, CPU time does not.
    """
    walls, cpus = [], []
    result: object = None
    for _ in range(repeat):
        c0, t0 = time.process_time(), time.perf_counter()
        result = fn()
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    return min(walls), statistics.median(walls), min(cpus), result


def main() -> int:
    """Run the benchmark and print the table."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--data", type=Path, default=Path("../shared/data/arxiv-2025-94k.jsonl.gz"))
    ap.add_argument("--db", type=Path, default=Path(f"var/bench/trending-94k-v{DB_VERSION}.db"))
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    if not args.db.exists():
        if not args.data.exists():
            console.print(f"[red]{args.data} is missing: it holds the 94k papers this benchmark ranks.[/red]")
            return 2
        args.db.parent.mkdir(parents=True, exist_ok=True)
        build(args.db, args.data)

    settings = Settings(database_url=f"sqlite:///{args.db.resolve()}", data_dir=args.db.parent)
    engine = make_engine(settings)
    upgrade(engine)
    factory = make_sessionmaker(engine)
    with factory() as session:
        papers = session.scalar(select(func.count()).select_from(Paper)) or 0
        until = session.scalar(select(func.max(Submission.day)))
    assert until is not None
    now = datetime.combine(until, datetime.min.time(), tzinfo=UTC) + timedelta(hours=18)
    params = TrendingParams.from_settings(settings)
    rows: list[tuple[str, str, float, float, float]] = []
    load0 = os.getloadavg()[0]

    def add(name: str, n: int, fn: Callable[[], object]) -> tuple[float, object]:
        b, med, cpu, result = best(fn, args.repeat)
        rows.append((name, f"{n:,}", b, med, cpu))
        return b, result

    total_best = 0.0
    for win in WINDOWS:
        t, _written = add(
            f"recompute(window={win}): load + score + replace stored rows",
            papers,
            lambda w=win: service.recompute(factory, settings=settings, now=now, window=w),  # type: ignore[misc]
        )
        total_best += t
    t_all, _ = add(
        "recompute(all three windows)",
        papers * 3,
        lambda: service.recompute(factory, settings=settings, now=now),
    )

    with factory() as session:
        t_load, scores = add(
            "load + score, no write (week)",
            papers,
            lambda: service.compute_window(
                session, settings=settings, window="week", now=now, eligible_only=False
            ),
        )
        assert isinstance(scores, service.WindowScores)

        def formula() -> object:
            return service.score_arrays(
                upvotes=scores.upvotes,
                local_votes=scores.local_votes,
                comments=scores.comment_count,
                stars_gained=scores.stars_gained,
                listed_h=scores.listed_h,
                as_of=scores.as_of,
                params=params,
            )

        t_np, _ = add("formula only, numpy (score_arrays)", papers, formula)
        epoch = datetime(1970, 1, 1, tzinfo=UTC)
        signals = [
            Signals(int(u), int(v), int(c), int(s), epoch + timedelta(hours=float(h)))
            for u, v, c, s, h in zip(
                scores.upvotes,
                scores.local_votes,
                scores.comment_count,
                scores.stars_gained,
                scores.listed_h,
                strict=True,
            )
        ]
        t_py, pure = add(
            "baseline: formula only, per-paper Python loop (trending_score)",
            papers,
            lambda: [trending_score(s, scores.as_of, params).score for s in signals],
        )
        assert isinstance(pure, list)
        agree = bool(np.allclose(np.array(pure), scores.score, rtol=1e-12, atol=0))
        for win in WINDOWS:
            live = service.compute_window(session, settings=settings, window=win, now=now)
            add(
                f"live page: ranked_page(window={win}), first 50",
                len(live),
                lambda w=win: service.ranked_page(session, settings=settings, window=w, now=now),  # type: ignore[misc]
            )
        add(
            "top_trending(window=week, limit=10)",
            len(service.compute_window(session, settings=settings, window="week", now=now)),
            lambda: service.top_trending(session, settings=settings, window="week", limit=10),
        )
        gained = int((scores.stars_gained > 0).sum())

    table = Table(title=f"Trending on {papers:,} real papers (synthetic votes/stars, seed {SEED}), SQLite")
    table.add_column("run")
    for col in ("papers", "wall s (best)", "wall s (median)", "CPU s (best)"):
        table.add_column(col, justify="right")
    for name, n, b, med, cpu in rows:
        table.add_row(name, n, f"{b:.3f}", f"{med:.3f}", f"{cpu:.3f}")
    console.print(table)
    # The headline is read on both: the best run (least disturbed by the neighbours) and the median
    # (what a typical run took).
    windows = rows[:3]
    console.print(
        f"recompute of one window, slowest window: wall best {max(r[2] for r in windows):.3f} s, "
        f"median {max(r[3] for r in windows):.3f} s; CPU best {max(r[4] for r in windows):.3f} s "
        f"(target < 1 s; best of {args.repeat}: "
        f"{'met' if max(r[2] for r in windows) < 1 else 'NOT met'}, median: "
        f"{'met' if max(r[3] for r in windows) < 1 else 'NOT met'})"
    )
    console.print(f"recompute of all three windows: best {t_all:.3f} s, median {rows[3][3]:.3f} s")
    console.print(f"load + score without the write: best {t_load:.3f} s, median {rows[4][3]:.3f} s")
    console.print(
        f"formula: numpy {t_np * 1000:.1f} ms vs Python loop {t_py * 1000:.0f} ms: "
        f"{t_py / t_np:.0f}x faster; identical scores (rtol 1e-12): {agree}"
    )
    console.print(f"papers with stars gained this week: {gained:,}; until {until}, now {now:%Y-%m-%d %H:%M}")
    load = os.getloadavg()
    console.print(
        f"load average (1 min) at start {load0:.1f}, at end {load[0]:.1f}, on {os.cpu_count()} CPUs: "
        "other processes share them"
    )
    engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
