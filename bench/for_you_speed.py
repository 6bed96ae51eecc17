"""How long one For-you request takes: `recommend.service.for_you()` on the demo database, per tab.

The demo's 3,672 real papers (`paperfeed demo`'s bundled data) in a fresh SQLite file, a reader with ten
imported cs.CL papers and five votes. The vectors are SYNTHETIC (random unit vectors, seed 0): embedding the
demo takes minutes here and the time of a request does not depend on the vectors' values, only on their
number and width. Cold = a new candidate cache and new corpus statistics (a process's first request);
warm = both cached (every later request). Prints a markdown table and writes var/bench/for_you.json.

    .venv/bin/python bench/for_you_speed.py [--warm 15] [--cold 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from paperfeed.accounts.models import User  # noqa: E402
from paperfeed.accounts.users import create_user  # noqa: E402
from paperfeed.commands.common import ready, settings_for  # noqa: E402
from paperfeed.commands.ingest import run_ingest  # noqa: E402
from paperfeed.community.votes import set_vote  # noqa: E402
from paperfeed.config import Settings  # noqa: E402
from paperfeed.db.models import Paper  # noqa: E402
from paperfeed.ingest.demo import demo_items, is_empty  # noqa: E402
from paperfeed.recommend import corpus, signals  # noqa: E402
from paperfeed.recommend.candidates import CandidateCache, background, candidate_ids  # noqa: E402
from paperfeed.recommend.service import for_you  # noqa: E402
from paperfeed.search.embeddings import DIM, MODEL_NAME  # noqa: E402
from paperfeed.search.models import PaperVector  # noqa: E402
from paperfeed.search.vector_store import encode_vector  # noqa: E402

WORK = ROOT / "var" / "bench" / "for_you"
NOW = datetime.now(UTC)


def build(db: Path) -> tuple[Settings, sessionmaker[Session], int]:
    """The demo database with synthetic vectors and one reader; returns (settings, factory, user id)."""
    settings = settings_for(str(db), data_dir=db.parent)
    factory = ready(settings)
    if is_empty(factory):
        run_ingest(settings, demo_items(), label="demo papers", factory=factory)
    with factory() as session, session.begin():
        have = set(session.scalars(select(PaperVector.paper_id)))
        rng = np.random.default_rng(0)
        for pid in session.scalars(select(Paper.id).order_by(Paper.id)):
            vec = rng.standard_normal(DIM).astype(np.float32)
            if pid in have:
                continue
            session.add(
                PaperVector(
                    paper_id=pid,
                    model=MODEL_NAME,
                    vector=encode_vector(vec / np.linalg.norm(vec)),
                    content_hash="synthetic",
                    paper_hash="synthetic",
                    created_at=NOW,
                )
            )
    with factory() as session, session.begin():
        user = _user(session) or create_user(
            session, settings, email="bench@example.org", username="bench", password="x" * 16, verified=True
        )
        uid = int(user.id)
    with factory() as session:
        cl = list(
            session.scalars(
                select(Paper.id).where(Paper.primary_category == "cs.CL").order_by(Paper.id.desc()).limit(15)
            )
        )
    for pid in cl[:10]:
        signals.record_signal(factory, user_id=uid, paper_id=pid, kind="seed", now=NOW)
    for pid in cl[10:15]:
        set_vote(factory, user_id=uid, paper_id=pid, voted=True)
    return settings, factory, uid


def _user(session: Session) -> User | None:
    return session.scalar(select(User).where(User.username == "bench"))


def main() -> None:
    """Build, then time the day / week / month tabs cold and warm."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--warm", type=int, default=15)
    parser.add_argument("--cold", type=int, default=3)
    args = parser.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    settings, factory, uid = build(WORK / "demo.db")
    load_before = os.getloadavg()
    rows = []
    for kind in ("day", "week", "month"):
        cold, warm = [], []
        n = 0
        for _ in range(args.cold):
            cache = CandidateCache()
            corpus.default_corpus_cache().clear()
            with factory() as session:
                t = time.perf_counter()
                got = for_you(
                    session,
                    user_id=uid,
                    kind=kind,
                    until=None,
                    now=NOW,
                    limit=30,
                    settings=settings,
                    cache=cache,
                )
                cold.append((time.perf_counter() - t) * 1000)
        fit_t = time.perf_counter()
        with factory() as session:
            corpus.default_corpus_cache().clear()
            corpus.corpus_stats(session)
            background(session)  # the fixed background sample is built with the statistics
        fit_ms = (time.perf_counter() - fit_t) * 1000
        for _ in range(args.warm):
            with factory() as session:
                t = time.perf_counter()
                got = for_you(
                    session,
                    user_id=uid,
                    kind=kind,
                    until=None,
                    now=NOW,
                    limit=30,
                    settings=settings,
                    cache=cache,
                )
                warm.append((time.perf_counter() - t) * 1000)
        with factory() as session:
            n = (
                len(candidate_ids(session, got.start, got.until + timedelta(days=1)))
                if got.start and got.until
                else 0
            )
        rows.append(
            {
                "tab": kind,
                "candidates": n,
                "items": len(got.items),
                "cold_ms_median": statistics.median(cold),
                "warm_ms_median": statistics.median(warm),
                "corpus_fit_ms": fit_ms,
            }
        )
    out = {
        "when": NOW.isoformat(timespec="minutes"),
        "load_before": load_before,
        "load_after": os.getloadavg(),
    }
    out["rows"] = rows
    (ROOT / "var" / "bench" / "for_you.json").write_text(json.dumps(out, indent=1))
    print(f"load average before {load_before}, after {out['load_after']}")
    print(f"| tab (candidates) | cold (median of {args.cold}) | warm (median of {args.warm}) | corpus fit |")
    print("|---|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r['tab']} ({r['candidates']:,}) | {r['cold_ms_median']:.0f} ms "
            f"| {r['warm_ms_median']:.0f} ms | {r['corpus_fit_ms']:.0f} ms |"
        )


if __name__ == "__main__":
    main()
