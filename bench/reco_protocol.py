"""The recommendation benchmark's protocol (pure): papers, proxy readers, and the ranking metrics.

A proxy reader is an author name with at least MIN_BEFORE papers listed before the cutoff T and at least
one in the WINDOW days from T. Their (up to MAX_POSITIVES latest) papers before T are what a model may
learn from; the candidates are every paper listed in the window; the relevant ones are the reader's own
papers among them. A name whose papers (positives and relevant) do not form one co-author group, i.e.
are not all connected through shared co-authors other than the reader, is skipped as possibly two people.
"""

from __future__ import annotations

import gzip
import json
import math
import random
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from paperfeed.ingest.jsonl import parse_jsonl_object
from paperfeed.search.embeddings import paper_text

MIN_BEFORE = 5
MAX_POSITIVES = 30
WINDOW = 28  # days


@dataclass(frozen=True)
class Paper:
    """One paper as the benchmark needs it: text for the models, authors only for the protocol."""

    row: int
    arxiv_id: str
    text: str  # title + ". " + abstract, as paperfeed embeds it
    title: str
    abstract: str
    authors: tuple[str, ...]
    categories: tuple[str, ...]
    listed: date


@dataclass(frozen=True)
class Reader:
    """A proxy reader: their positives (rows, oldest first) and their relevant candidates (rows)."""

    name: str
    positives: tuple[int, ...]
    relevant: frozenset[int]


def load_papers(path: Path) -> list[Paper]:
    """Every paper of the JSONL dump with a listing date, cleaned as paperfeed's ingest cleans it."""
    if not path.exists():
        raise SystemExit(
            f"{path} not found: pass --data pointing at arxiv-2025-94k.jsonl.gz (../shared/data)"
        )
    out: list[Paper] = []
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as fh:
        for line in fh:
            if not line.strip():
                continue
            try:
                rec = parse_jsonl_object(json.loads(line))
            except ValueError:
                continue
            if rec.listing_date is None or rec.arxiv_id is None:
                continue
            out.append(
                Paper(
                    row=len(out),
                    arxiv_id=rec.arxiv_id,
                    text=paper_text(rec.title, rec.abstract),
                    title=rec.title,
                    abstract=rec.abstract,
                    authors=tuple(a.strip() for a in rec.authors if a.strip()),
                    categories=tuple(rec.categories),
                    listed=rec.listing_date,
                )
            )
    return out


def one_group(name: str, papers: Sequence[Paper]) -> bool:
    """True when the papers are connected through shared co-authors other than `name`."""
    if len(papers) <= 1:
        return True
    parent = list(range(len(papers)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    first_with: dict[str, int] = {}
    for i, p in enumerate(papers):
        for a in p.authors:
            if a == name:
                continue
            if a in first_with:
                parent[find(i)] = find(first_with[a])
            else:
                first_with[a] = i
    return len({find(i) for i in range(len(papers))}) == 1


def split(papers: Sequence[Paper], cutoff: date) -> tuple[list[int], list[int]]:
    """(rows listed before the cutoff, rows listed in the window from it)."""
    end = cutoff + timedelta(days=WINDOW)
    before = [p.row for p in papers if p.listed < cutoff]
    window = [p.row for p in papers if cutoff <= p.listed < end]
    return before, window


def select_readers(papers: Sequence[Paper], cutoff: date, *, sample: int, seed: int) -> list[Reader]:
    """The proxy readers of the protocol, `sample` of them drawn with a fixed seed (sorted by name first)."""
    before, window = split(papers, cutoff)
    by_author_before: dict[str, list[int]] = defaultdict(list)
    by_author_window: dict[str, list[int]] = defaultdict(list)
    for row in before:
        for a in set(papers[row].authors):
            by_author_before[a].append(row)
    for row in window:
        for a in set(papers[row].authors):
            by_author_window[a].append(row)
    readers: list[Reader] = []
    for name in sorted(by_author_window):
        rows = by_author_before.get(name, [])
        if len(rows) < MIN_BEFORE:
            continue
        latest = sorted(rows, key=lambda r: (papers[r].listed, papers[r].arxiv_id))[-MAX_POSITIVES:]
        relevant = by_author_window[name]
        if not one_group(name, [papers[r] for r in latest + relevant]):
            continue
        readers.append(Reader(name=name, positives=tuple(latest), relevant=frozenset(relevant)))
    rng = random.Random(seed)
    if len(readers) > sample:
        readers = sorted(rng.sample(readers, sample), key=lambda r: r.name)
    return readers


def ndcg(ranked: Sequence[int], relevant: Iterable[int], k: int) -> float:
    """Binary-relevance nDCG@k of one ranking."""
    rel = set(relevant)
    if not rel:
        return 0.0
    gain = sum(1.0 / math.log2(i + 2) for i, r in enumerate(ranked[:k]) if r in rel)
    ideal = sum(1.0 / math.log2(i + 2) for i in range(min(len(rel), k)))
    return gain / ideal


def recall(ranked: Sequence[int], relevant: Iterable[int], k: int) -> float:
    """Share of the relevant items in the top k."""
    rel = set(relevant)
    if not rel:
        return 0.0
    return len(rel.intersection(ranked[:k])) / len(rel)


def reciprocal_rank(ranked: Sequence[int], relevant: Iterable[int]) -> float:
    """1 / rank of the first relevant item (0 when none is ranked)."""
    rel = set(relevant)
    for i, r in enumerate(ranked):
        if r in rel:
            return 1.0 / (i + 1)
    return 0.0


METRICS = ("ndcg@10", "ndcg@50", "recall@50", "recall@100", "mrr")


def scores(ranked: Sequence[int], relevant: Iterable[int]) -> dict[str, float]:
    """Every metric of the table for one reader's ranking."""
    rel = set(relevant)
    return {
        "ndcg@10": ndcg(ranked, rel, 10),
        "ndcg@50": ndcg(ranked, rel, 50),
        "recall@50": recall(ranked, rel, 50),
        "recall@100": recall(ranked, rel, 100),
        "mrr": reciprocal_rank(ranked, rel),
    }


def mean_scores(per_reader: Sequence[dict[str, float]]) -> dict[str, float]:
    """The mean of each metric over readers."""
    n = max(len(per_reader), 1)
    return {m: sum(s[m] for s in per_reader) / n for m in METRICS}
