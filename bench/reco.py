"""Recommendation benchmark: paperfeed's per-reader model against arxiv-sanity-lite's SVM on proxy readers.

    python bench/reco.py --data ../shared/data/arxiv-2025-94k.jsonl.gz [--cutoff 2026-05-01]

Protocol (bench/reco_protocol.py): a proxy reader is an author name with >= 5 papers listed before the
cutoff T and >= 1 in the 4 weeks from T, whose papers form one co-author group; 300 are sampled with a
fixed seed. Their (up to 30 latest) papers before T are the positives; every paper listed in the 4 weeks
is a candidate; the relevant ones are the reader's own. Methods see title + abstract only (the paperfeed
model and the recency baseline also see categories). Every row is computed in this one run:
- random; recency in the reader's top category (newest first, as arXiv's listing pages, then the rest);
- arxiv-sanity-lite: its compute.py tf-idf (unigrams + bigrams, English stop words, sublinear tf,
  max_df 0.5, min_df 5, 10k or 20k features) fitted on every paper listed up to T + 4 weeks, and its
  svm_rank (LinearSVC(class_weight="balanced", C=0.01, max_iter=10000, tol=1e-6)) trained per reader
  against every paper before T, the reader's positives labelled 1;
- MiniLM centroid: cosine to the mean of the positives' stored vectors (paperfeed's own embedder);
- paperfeed: recommend.model.train / rank, as the product calls them.
Timings: training per reader, ranking one reader's week (first 7 days of candidates, with explanations),
and refreshing the lists of 10,000 synthetic readers (each the positives of a sampled real reader, 80% of
them drawn at random) over that week, in one process at one BLAS thread. Writes var/bench/reco.json.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import random
import statistics
import sys
import time
from collections import Counter
from collections.abc import Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.table import Table
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).parent))

import reco_protocol as rp
from paperfeed.recommend import model as reco
from paperfeed.recommend.corpus import BACKGROUND, BACKGROUND_SEED
from paperfeed.recommend.features import CorpusStats, model_text
from reco_vectors import embed_rows, settings_for
from search_common import CachedEmbedder

SEED = 20261206
STATS_SAMPLE = 20_000  # papers the service would sample to build its CorpusStats
SYNTHETIC = 10_000
console = Console(width=160)
Ranking = list[int]


def ranked(ids: np.ndarray, score: np.ndarray) -> Ranking:
    """ids by descending score, ties by id."""
    return [int(i) for i in ids[np.lexsort((ids, -score))]]


def run_random(readers: Sequence[rp.Reader], window: Sequence[int]) -> list[Ranking]:
    """A seeded shuffle per reader."""
    out = []
    for i, _ in enumerate(readers):
        order = list(window)
        random.Random(SEED + i).shuffle(order)
        out.append(order)
    return out


def run_recency(
    papers: Sequence[rp.Paper], readers: Sequence[rp.Reader], window: Sequence[int]
) -> list[Ranking]:
    """The reader's most frequent primary category listed newest first, then every other paper."""
    out = []
    for rd in readers:
        top = Counter(papers[r].categories[0] for r in rd.positives if papers[r].categories).most_common(1)
        cat = top[0][0] if top else ""
        key = sorted(
            window,
            key=lambda r: (
                cat not in papers[r].categories,
                -papers[r].listed.toordinal(),
                papers[r].arxiv_id,
            ),
            reverse=False,
        )
        out.append(key)
    return out


def run_sanity(
    papers: Sequence[rp.Paper],
    readers: Sequence[rp.Reader],
    before: Sequence[int],
    window: Sequence[int],
    features: int,
) -> tuple[list[Ranking], list[float]]:
    """arxiv-sanity-lite's tf-idf + per-reader LinearSVC; returns rankings and seconds per reader."""
    from sklearn import svm
    from sklearn.feature_extraction.text import TfidfVectorizer

    vec = TfidfVectorizer(
        input="content",
        encoding="utf-8",
        decode_error="replace",
        strip_accents="unicode",
        lowercase=True,
        analyzer="word",
        stop_words="english",
        token_pattern=r"(?u)\b[a-zA-Z_][a-zA-Z0-9_]+\b",  # noqa: S106
        ngram_range=(1, 2),
        max_features=features,
        norm="l2",
        use_idf=True,
        smooth_idf=True,
        sublinear_tf=True,
        max_df=0.5,
        min_df=5,
    )
    t0 = time.perf_counter()
    vec.fit([papers[r].text for r in list(before) + list(window)])
    xb = vec.transform([papers[r].text for r in before]).astype(np.float32)
    xw = vec.transform([papers[r].text for r in window]).astype(np.float32)
    console.print(f"  arxiv-sanity tf-idf {features:,}: {time.perf_counter() - t0:.0f} s")
    row_of = {r: i for i, r in enumerate(before)}
    ids = np.array(window)
    out, secs = [], []
    for rd in readers:
        t0 = time.perf_counter()
        y = np.zeros(len(before), np.float32)
        y[[row_of[r] for r in rd.positives]] = 1.0
        clf = svm.LinearSVC(class_weight="balanced", verbose=False, max_iter=10000, tol=1e-6, C=0.01)
        clf.fit(xb, y)
        s = clf.decision_function(xw)
        secs.append(time.perf_counter() - t0)
        out.append(ranked(ids, s))
    return out, secs


def run_centroid(
    readers: Sequence[rp.Reader], vec: dict[int, np.ndarray], window: Sequence[int]
) -> tuple[list[Ranking], list[float]]:
    """Cosine to the normalised mean of the positives' vectors."""
    cand = np.stack([vec[r] for r in window])
    ids = np.array(window)
    out, secs = [], []
    for rd in readers:
        t0 = time.perf_counter()
        c = np.stack([vec[r] for r in rd.positives]).mean(axis=0)
        s = cand @ (c / (np.linalg.norm(c) or 1.0))
        secs.append(time.perf_counter() - t0)
        out.append(ranked(ids, s))
    return out, secs


def run_paperfeed(
    readers: Sequence[rp.Reader],
    pos: reco.PaperSet,
    cand: reco.PaperSet,
    bg: reco.PaperSet,
    params: reco.Params,
) -> tuple[list[Ranking], list[float], list[reco.ReaderModel]]:
    """paperfeed's model: train on the positives as saves (against the background), score every candidate."""
    out, secs, models = [], [], []
    for rd in readers:
        t0 = time.perf_counter()
        m = reco.train([reco.Example(r, "save") for r in rd.positives], pos, background=bg, params=params)
        secs.append(time.perf_counter() - t0)
        s, _ = reco.score(m, cand)
        out.append(ranked(cand.ids, s))
        models.append(m)
    return out, secs, models


def time_week(models: Sequence[reco.ReaderModel], week: reco.PaperSet) -> list[float]:
    """Seconds to rank (and explain the top 50 of) one week of candidates, per reader."""
    secs = []
    for m in models:
        t0 = time.perf_counter()
        reco.rank(m, week, limit=50)
        secs.append(time.perf_counter() - t0)
    return secs


def refresh(
    readers: Sequence[rp.Reader],
    pos: reco.PaperSet,
    week: reco.PaperSet,
    bg: reco.PaperSet,
    params: reco.Params,
) -> tuple[float, float, int]:
    """(seconds to train, seconds to rank) 10,000 synthetic readers over the week, and their count.

    Each reader is trained then ranked before the next (a model holds ~150 KB of its own, median, mostly its
    positives' rows and term names, besides the stats and background every model shares: 10,000 are not
    kept in this process).
    """
    rng = random.Random(SEED)
    profiles = []
    for _ in range(SYNTHETIC):
        rd = readers[rng.randrange(len(readers))]
        keep = max(1, round(0.8 * len(rd.positives)))
        profiles.append(sorted(rng.sample(list(rd.positives), keep)))
    t_train = t_rank = 0.0
    for p in profiles:
        t0 = time.perf_counter()
        m = reco.train([reco.Example(r, "save") for r in p], pos, background=bg, params=params)
        t1 = time.perf_counter()
        reco.rank(m, week, limit=50)
        t_train, t_rank = t_train + t1 - t0, t_rank + time.perf_counter() - t1
    return t_train, t_rank, len(profiles)


def subset(ps: reco.PaperSet, rows: Sequence[int]) -> reco.PaperSet:
    """The rows of a PaperSet as another one (features kept, not recomputed)."""
    idx = list(rows)
    return reco.PaperSet(
        ids=ps.ids[idx],
        vectors=ps.vectors[idx],
        texts=tuple(ps.texts[i] for i in idx),
        categories=tuple(ps.categories[i] for i in idx),
        extra={"tfidf": ps.tfidf[idx], "stats": ps.stats},
    )


def fit_stats(papers: Sequence[rp.Paper], before: Sequence[int]) -> CorpusStats:
    """The corpus statistics as the service builds them: STATS_SAMPLE earlier papers, a fixed seed."""
    sample = random.Random(SEED).sample(list(before), min(STATS_SAMPLE, len(before)))
    return CorpusStats.fit([model_text(papers[r].title, papers[r].abstract) for r in sample])


def paper_set(
    papers: Sequence[rp.Paper],
    rows: Sequence[int],
    stats: CorpusStats,
    vectors: np.ndarray,
) -> reco.PaperSet:
    """The model's view of some rows, with the service's text and the given (aligned) vectors."""
    return reco.paper_set(
        rows,
        vectors,
        [model_text(papers[r].title, papers[r].abstract) for r in rows],
        [papers[r].categories for r in rows],
        stats=stats,
    )


def background_set(
    papers: Sequence[rp.Paper], before: Sequence[int], stats: CorpusStats, dim: int
) -> reco.PaperSet:
    """The service's fixed background: BACKGROUND earlier papers drawn with its seed (vectors unused)."""
    rows = sorted(random.Random(BACKGROUND_SEED).sample(list(before), BACKGROUND))
    return paper_set(papers, rows, stats, np.zeros((len(rows), dim), np.float32))


def param_value(knob: str, text: str) -> float:
    """A Params field's value parsed from the command line, with the field's own type."""
    return type(getattr(reco.DEFAULT, knob))(text)  # type: ignore[no-any-return]


def common_arguments(description: str, cutoff: str) -> argparse.ArgumentParser:
    """The arguments bench/reco.py and bench/reco_tune.py share."""
    parser = argparse.ArgumentParser(
        description=description, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=Path("../shared/data/arxiv-2025-94k.jsonl.gz"))
    parser.add_argument("--workdir", type=Path, default=Path("var/bench"))
    parser.add_argument("--cutoff", default=cutoff)
    parser.add_argument("--sample", type=int, default=300)
    return parser


def main() -> None:
    parser = common_arguments(__doc__ or "", "2026-05-01")
    parser.add_argument("--no-sanity", action="store_true", help="skip the (slow) arxiv-sanity rows")
    parser.add_argument("--no-refresh", action="store_true", help="skip the 10,000-reader refresh timing")
    parser.add_argument(
        "--sanity-features", default="10000,20000", help="arxiv-sanity's max_features, comma-separated"
    )
    parser.add_argument(
        "--param", action="append", default=[], help="override a model.Params field, e.g. --param svm=0.5"
    )
    args = parser.parse_args()
    cutoff = date.fromisoformat(args.cutoff)

    t_all = time.perf_counter()
    papers = rp.load_papers(args.data)
    readers = rp.select_readers(papers, cutoff, sample=args.sample, seed=SEED)
    before, window = rp.split(papers, cutoff)
    week_end = cutoff + timedelta(days=7)
    week = [i for i, r in enumerate(window) if papers[r].listed < week_end]
    pos_rows = sorted({r for rd in readers for r in rd.positives})
    n_rel = sum(len(rd.relevant) for rd in readers)
    console.print(
        f"cutoff {cutoff}: {len(papers):,} papers, {len(before):,} before, {len(window):,} candidates "
        f"({len(week):,} in the first week); {len(readers)} readers, {len(pos_rows):,} positives, "
        f"{n_rel} relevant"
    )
    embedder = CachedEmbedder.for_settings(settings_for(args.workdir), args.workdir)
    vec_rows = sorted(set(pos_rows) | set(window))
    vectors = embed_rows(papers, vec_rows, embedder)
    vec = {r: vectors[i] for i, r in enumerate(vec_rows)}

    results: dict[str, dict[str, Any]] = {}

    def record(key: str, label: str, rankings: Sequence[Ranking], secs: Sequence[float] = ()) -> None:
        per = [rp.scores(rk, rd.relevant) for rk, rd in zip(rankings, readers, strict=True)]
        m: dict[str, Any] = rp.mean_scores(per) | {"label": label}
        if secs:
            m["train_ms_median"] = 1000 * statistics.median(secs)
        results[key] = m
        console.print(f"  {label}: nDCG@10 {m['ndcg@10']:.3f}, recall@100 {m['recall@100']:.3f}")

    record("random", "random", run_random(readers, window))
    record(
        "recency", "recency in the reader's top category (categories)", run_recency(papers, readers, window)
    )
    if not args.no_sanity:
        for n in (int(f) for f in args.sanity_features.split(",")):
            rk, secs = run_sanity(papers, readers, before, window, n)
            record(
                f"arxiv-sanity-svm-{n // 1000}k",
                f"arxiv-sanity-lite SVM, {n // 1000}k tf-idf features",
                rk,
                secs,
            )
    rk, secs = run_centroid(readers, vec, window)
    record("minilm-centroid", "MiniLM centroid", rk, secs)

    t0 = time.perf_counter()
    stats = fit_stats(papers, before)
    t_stats = time.perf_counter() - t0
    params = reco.Params(**{k: param_value(k, v) for k, v in (a.split("=", 1) for a in args.param)})
    t0 = time.perf_counter()
    pos = paper_set(papers, pos_rows, stats, np.stack([vec[r] for r in pos_rows]))
    cand = paper_set(papers, window, stats, np.stack([vec[r] for r in window]))
    t_feat = time.perf_counter() - t0
    bg = background_set(papers, before, stats, embedder.dim)
    console.print(f"  paperfeed params: {params}")
    rk, secs, models = run_paperfeed(readers, pos, cand, bg, params)
    record("paperfeed", "paperfeed (tf-idf kNN + SVM + MiniLM kNN + categories)", rk, secs)
    week_set = subset(cand, week)
    results["paperfeed"]["rank_week_ms_median"] = 1000 * statistics.median(time_week(models, week_set))
    results["paperfeed"]["params"] = dataclasses.asdict(params)
    n_syn = 0
    if not args.no_refresh:
        del models
        t_train, t_rank, n_syn = refresh(readers, pos, week_set, bg, params)
        results["paperfeed"]["refresh_10k_s"] = t_rank
        results["paperfeed"]["train_10k_s"] = t_train
    results["paperfeed"]["stats_fit_s"] = t_stats
    results["paperfeed"]["features_per_paper_ms"] = 1000 * t_feat / (len(pos_rows) + len(window))

    sanity = [k for k in results if k.startswith("arxiv-sanity-svm-")]
    if sanity:
        best = max(sanity, key=lambda k: (results[k]["ndcg@10"], results[k]["recall@100"]))
        results["arxiv-sanity-svm"] = dict(results[best]) | {
            "label": results[best]["label"] + " (better row)"
        }
    report(results, len(readers), len(window), len(week), n_rel, n_syn)
    out = {
        "readers": len(readers),
        "cutoff": str(cutoff),
        "candidates": len(window),
        "week_candidates": len(week),
        "relevant": n_rel,
        "seconds": time.perf_counter() - t_all,
        "methods": results,
    }
    args.workdir.mkdir(parents=True, exist_ok=True)
    (args.workdir / "reco.json").write_text(json.dumps(out, indent=1))
    console.print(f"wrote {args.workdir / 'reco.json'}")


def report(
    results: dict[str, dict[str, Any]], readers: int, cands: int, week: int, rel: int, syn: int
) -> None:
    """The rich table, and the goals against the better arxiv-sanity row."""
    table = Table(title=f"{readers} proxy readers, {cands:,} candidates ({week:,} in a week), {rel} relevant")
    for col in ("method", "nDCG@10", "nDCG@50", "recall@50", "recall@100", "MRR", "train / reader"):
        table.add_column(col, justify="left" if col == "method" else "right")
    for key, m in results.items():
        if key == "arxiv-sanity-svm":
            continue
        train = f"{m['train_ms_median']:.1f} ms" if "train_ms_median" in m else ""
        table.add_row(m["label"], *(f"{m[k]:.3f}" for k in rp.METRICS), train)
    console.print(table)
    pf = results["paperfeed"]
    refreshed = (
        f"{syn:,} readers' lists ranked in {pf['refresh_10k_s']:.1f} s (trained in {pf['train_10k_s']:.1f} s)"
        if syn
        else "refresh not timed"
    )
    console.print(
        f"paperfeed: rank a week ({week:,} papers, top 50 explained) "
        f"{pf['rank_week_ms_median']:.1f} ms median; "
        f"train {pf['train_ms_median']:.1f} ms median; {refreshed}; CorpusStats over "
        f"{STATS_SAMPLE:,} papers {pf['stats_fit_s']:.1f} s; "
        f"features {pf['features_per_paper_ms']:.2f} ms/paper"
    )
    if "arxiv-sanity-svm" in results:
        sv = results["arxiv-sanity-svm"]
        r10 = pf["ndcg@10"] / sv["ndcg@10"] if sv["ndcg@10"] else float("inf")
        r100 = pf["recall@100"] / sv["recall@100"] if sv["recall@100"] else float("inf")
        ok = r10 >= 1.25 and r100 >= 1.15
        console.print(
            f"against {sv['label']}: nDCG@10 x{r10:.2f} (goal 1.25), recall@100 x{r100:.2f} (goal 1.15): "
            + ("MET" if ok else "NOT MET")
        )


if __name__ == "__main__":
    # One BLAS thread: the products are small, and threads only contend on a shared 2-core machine.
    with threadpool_limits(limits=1):
        main()
