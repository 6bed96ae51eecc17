"""Tune the recommendation model's Params on a split (the dev split, 2026-03-01, by default).

    python bench/reco_tune.py --data ../shared/data/arxiv-2025-94k.jsonl.gz [--cutoff 2026-03-01] \
        --grid svm=0,0.5,1 --grid hubness=0,0.5 ...

Loads the split once (readers, features, vectors from the cache bench/reco_vectors.py fills, or from an
.npz given with --vectors, such as bench/reco_finetune.py writes), prints what the vectors alone reach
(cosine to the mean of a reader's positives), trains each reader once per (c, idf_boost) and re-scores
the other knobs on the trained models, then prints nDCG@10 and recall@100 for every combination of the grid.
The defaults in recommend.model.Params were chosen with it on the dev split, never on the reported split
(make bench-reco, 2026-05-01).
"""

from __future__ import annotations

import dataclasses
import itertools
import sys
from datetime import date
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).parent))

import reco_protocol as rp
from paperfeed.recommend import model as reco
from reco import (
    SEED,
    background_set,
    common_arguments,
    fit_stats,
    paper_set,
    param_value,
    ranked,
    run_centroid,
)
from reco_vectors import embed_rows, settings_for
from search_common import CachedEmbedder

console = Console(width=160)
TRAIN_KNOBS = ("c", "idf_boost")  # the knobs that change what training keeps


def load_vectors(path: Path, rows: list[int]) -> np.ndarray:
    """The given rows' vectors from an .npz with `rows` and `vectors` (bench/reco_finetune.py writes one)."""
    data = np.load(path)
    at = {int(r): i for i, r in enumerate(data["rows"])}
    missing = [r for r in rows if r not in at]
    if missing:
        raise SystemExit(
            f"{path} lacks {len(missing):,} of the split's rows (was it written for this cutoff?)"
        )
    vectors: np.ndarray = data["vectors"]
    return vectors[[at[r] for r in rows]]


def main() -> None:
    parser = common_arguments(__doc__ or "", "2026-03-01")
    parser.add_argument("--grid", action="append", default=[], help="knob=v1,v2,... (a Params field)")
    parser.add_argument(
        "--vectors", type=Path, help="an .npz of rows and vectors to use instead of paperfeed's embedder"
    )
    args = parser.parse_args()
    cutoff = date.fromisoformat(args.cutoff)
    papers = rp.load_papers(args.data)
    readers = rp.select_readers(papers, cutoff, sample=args.sample, seed=SEED)
    before, window = rp.split(papers, cutoff)
    pos_rows = sorted({r for rd in readers for r in rd.positives})
    embedder = CachedEmbedder.for_settings(settings_for(args.workdir), args.workdir)
    vec_rows = sorted(set(pos_rows) | set(window))
    vectors = (
        embed_rows(papers, vec_rows, embedder)
        if args.vectors is None
        else load_vectors(args.vectors, vec_rows)
    )
    vec = {r: vectors[i] for i, r in enumerate(vec_rows)}
    centroid, _ = run_centroid(readers, vec, window)
    cm = rp.mean_scores([rp.scores(rk, rd.relevant) for rk, rd in zip(centroid, readers, strict=True)])
    console.print(
        f"the vectors alone (centroid): nDCG@10 {cm['ndcg@10']:.3f}, recall@100 {cm['recall@100']:.3f}"
    )
    stats = fit_stats(papers, before)
    pos = paper_set(papers, pos_rows, stats, np.stack([vec[r] for r in pos_rows]))
    cand = paper_set(papers, window, stats, np.stack([vec[r] for r in window]))
    bg = background_set(papers, before, stats, embedder.dim)
    console.print(f"split {cutoff}: {len(readers)} readers, {len(window):,} candidates")

    grid: dict[str, list[float]] = {}
    for g in args.grid:
        knob, values = g.split("=", 1)
        grid[knob] = [param_value(knob, v) for v in values.split(",")]
    knobs = list(grid)
    table = Table(title=f"dev split {cutoff}")
    for k in [*knobs, "nDCG@10", "recall@100", "MRR"]:
        table.add_column(k, justify="right")
    trained: dict[tuple[float, ...], list[reco.ReaderModel]] = {}
    for combo in itertools.product(*(grid[k] for k in knobs)):
        params = dataclasses.replace(reco.DEFAULT, **dict(zip(knobs, combo, strict=True)))
        key = (*(getattr(params, k) for k in TRAIN_KNOBS), params.svm != 0)
        if key not in trained:
            trained[key] = [
                reco.train([reco.Example(r, "save") for r in rd.positives], pos, background=bg, params=params)
                for rd in readers
            ]
        per = []
        for m, rd in zip(trained[key], readers, strict=True):
            s, _ = reco.score(dataclasses.replace(m, params=params), cand)
            per.append(rp.scores(ranked(cand.ids, s), rd.relevant))
        mean = rp.mean_scores(per)
        table.add_row(*(str(c) for c in combo), *(f"{mean[m]:.3f}" for m in ("ndcg@10", "recall@100", "mrr")))
        console.print(
            f"  {dict(zip(knobs, combo, strict=True))}: {mean['ndcg@10']:.3f} {mean['recall@100']:.3f}"
        )
    console.print(table)


if __name__ == "__main__":
    with threadpool_limits(limits=1):
        main()
