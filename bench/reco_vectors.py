"""Vectors for the recommendation benchmark: paperfeed's embedder behind the shared on-disk cache.

Only the papers the benchmark uses are embedded (the readers' positives and the candidates of a split);
vectors are cached per text under var/bench/embeddings-<model key>.npz, so a re-run embeds nothing.
`python bench/reco_vectors.py --data ...` embeds the main and the dev split ahead of a run.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from datetime import date
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))

import reco_protocol as rp
from paperfeed.config import Settings
from search_common import CachedEmbedder

CHUNK = 512  # papers per embed call and cache save: an interruption loses at most this many


def settings_for(workdir: Path) -> Settings:
    """paperfeed's default embedder, its built graph kept under workdir."""
    return Settings(data_dir=workdir / "reco")


def needed_rows(papers: Sequence[rp.Paper], cutoff: date, *, sample: int, seed: int) -> list[int]:
    """Rows the benchmark embeds for one split: the sampled readers' positives and every candidate."""
    readers = rp.select_readers(papers, cutoff, sample=sample, seed=seed)
    _, window = rp.split(papers, cutoff)
    return sorted({r for rd in readers for r in rd.positives} | set(window))


def embed_rows(
    papers: Sequence[rp.Paper], rows: Sequence[int], embedder: CachedEmbedder, log: bool = True
) -> np.ndarray:
    """Vectors of the given rows (cached ones read, the rest embedded in chunks and saved)."""
    out = np.zeros((len(rows), embedder.dim), np.float32)
    t0 = time.perf_counter()
    for start in range(0, len(rows), CHUNK):
        part = rows[start : start + CHUNK]
        out[start : start + len(part)] = embedder.embed([papers[r].text for r in part])
        embedder.save()
        if log and embedder.misses:
            rate = embedder.misses / (time.perf_counter() - t0)
            print(f"  {start + len(part):,}/{len(rows):,} ({embedder.misses:,} embedded, {rate:.1f}/s)")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=Path("../shared/data/arxiv-2025-94k.jsonl.gz"))
    parser.add_argument("--workdir", type=Path, default=Path("var/bench"))
    parser.add_argument("--cutoff", action="append", default=[])
    parser.add_argument("--sample", type=int, default=300)
    parser.add_argument("--seed", type=int, default=20261206)
    args = parser.parse_args()
    papers = rp.load_papers(args.data)
    embedder = CachedEmbedder.for_settings(settings_for(args.workdir), args.workdir)
    print(f"cache {embedder.path} holds {len(embedder):,} vectors")
    for cut in args.cutoff or ["2026-05-01", "2026-03-01"]:
        rows = needed_rows(papers, date.fromisoformat(cut), sample=args.sample, seed=args.seed)
        print(f"split {cut}: {len(rows):,} papers")
        embed_rows(papers, rows, embedder)


if __name__ == "__main__":
    main()
