"""The per-reader model (pure): train on a reader's examples, rank candidates, explain each pick.

This module is the contract the service, the digest and the benchmark share. The first version scores by
embedding similarity (nearest positive, minus nearest negative, plus a category prior); the model chosen by
`make bench-reco` replaces the internals behind the same functions.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np

from paperfeed.search.query import STOP_WORDS

# How much each kind of signal says about the reader (sign = direction). Votes and saves are public or
# organisational acts; "more"/"less" are explicit; a dismissal says only "not this one".
WEIGHTS: dict[str, float] = {
    "vote": 1.0,
    "save": 1.0,
    "more": 1.0,
    "seed": 1.0,
    "less": -1.0,
    "dismiss": -0.5,
}

_WORD = re.compile(r"[a-z][a-z0-9\-]{2,}")


@dataclass(frozen=True)
class Example:
    """One thing the reader did with a paper: kind is a key of WEIGHTS."""

    paper_id: int
    kind: str
    at: datetime | None = None


@dataclass(frozen=True)
class PaperSet:
    """Papers as the model sees them, rows aligned: ids, unit vectors (zero row = none), text, categories."""

    ids: np.ndarray  # int64 (n,)
    vectors: np.ndarray  # float32 (n, d), L2-normalised; a zero row when the paper has no vector yet
    texts: tuple[str, ...]  # title + abstract
    categories: tuple[tuple[str, ...], ...]
    extra: dict[str, Any] = field(default_factory=dict)  # features a model version precomputes (tf-idf...)

    def __len__(self) -> int:
        return len(self.ids)

    def index(self) -> dict[int, int]:
        """paper id -> row."""
        return {int(pid): row for row, pid in enumerate(self.ids)}


@dataclass(frozen=True)
class Recommendation:
    """A ranked paper with its reasons: the reader's papers it is closest to and the terms they share."""

    paper_id: int
    score: float
    because: tuple[int, ...] = ()
    terms: tuple[str, ...] = ()
    exploration: bool = False


@dataclass(frozen=True)
class ReaderModel:
    """What training keeps of a reader: positive and negative examples with weights, and categories."""

    positive_ids: tuple[int, ...]
    positive_vectors: np.ndarray
    positive_weights: np.ndarray
    negative_vectors: np.ndarray
    negative_weights: np.ndarray
    categories: frozenset[str]
    positive_texts: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        """True when there is nothing positive to learn from."""
        return len(self.positive_ids) == 0


def words(text: str) -> set[str]:
    """Content words of a text, for explanations."""
    return {w for w in _WORD.findall(text.lower()) if w not in STOP_WORDS}


def paper_set(
    ids: Sequence[int],
    vectors: np.ndarray,
    texts: Sequence[str],
    categories: Sequence[Sequence[str]],
) -> PaperSet:
    """Build the model's view of some papers (the one constructor: a model version adds its features here)."""
    return PaperSet(
        ids=np.asarray(ids, dtype=np.int64),
        vectors=np.asarray(vectors, dtype=np.float32),
        texts=tuple(texts),
        categories=tuple(tuple(c) for c in categories),
    )


def train(
    examples: Sequence[Example],
    papers: PaperSet,
    *,
    categories: Sequence[str] = (),
    background: PaperSet | None = None,
) -> ReaderModel:
    """Fit a reader's model; deterministic: the same examples (in any order) give the same model.

    papers holds (at least) the papers of the examples; background is a sample of the corpus the model may
    use as unlabelled negatives (this first version does not).
    """
    del background
    rows = papers.index()
    # One weight per paper: an explicit signal ("more", "less", "dismiss", "seed") overrides a vote or a
    # save of the same paper; among equals the strongest wins. Sorting first makes the order irrelevant.
    explicit = {"more", "less", "dismiss", "seed"}
    by_paper: dict[int, float] = {}
    rank_of: dict[int, tuple[int, float]] = {}
    for ex in sorted(examples, key=lambda e: (e.paper_id, e.kind)):
        if ex.paper_id not in rows or ex.kind not in WEIGHTS:
            continue
        weight = WEIGHTS[ex.kind]
        key = (1 if ex.kind in explicit else 0, abs(weight))
        if ex.paper_id not in rank_of or key > rank_of[ex.paper_id]:
            rank_of[ex.paper_id] = key
            by_paper[ex.paper_id] = weight
    pos = sorted(pid for pid, w in by_paper.items() if w > 0)
    neg = sorted(pid for pid, w in by_paper.items() if w < 0)
    dim = papers.vectors.shape[1] if papers.vectors.ndim == 2 else 0
    pos_rows = [rows[p] for p in pos]
    neg_rows = [rows[p] for p in neg]
    cats = set(categories)
    for r in pos_rows:
        cats.update(papers.categories[r][:1])
    return ReaderModel(
        positive_ids=tuple(pos),
        positive_vectors=papers.vectors[pos_rows] if pos_rows else np.zeros((0, dim), np.float32),
        positive_weights=np.array([by_paper[p] for p in pos], np.float32),
        negative_vectors=papers.vectors[neg_rows] if neg_rows else np.zeros((0, dim), np.float32),
        negative_weights=np.array([-by_paper[p] for p in neg], np.float32),
        categories=frozenset(cats),
        positive_texts=tuple(papers.texts[r] for r in pos_rows),
    )


def rank(model: ReaderModel, candidates: PaperSet, *, limit: int = 50) -> list[Recommendation]:
    """The candidates ordered by the reader's model, best first, each with its reasons."""
    if model.empty or len(candidates) == 0:
        return []
    sims = candidates.vectors @ model.positive_vectors.T  # (n, p)
    best = sims.argmax(axis=1)
    score = sims.max(axis=1) + 0.5 * (sims @ model.positive_weights) / max(len(model.positive_ids), 1)
    if len(model.negative_weights):
        neg = (candidates.vectors @ model.negative_vectors.T) * model.negative_weights
        score = score - 0.8 * neg.max(axis=1).clip(min=0)
    prior = np.array([0.05 if set(c) & model.categories else 0.0 for c in candidates.categories], np.float32)
    score = score + prior
    # Papers the reader already reacted to are not recommended again.
    known = np.isin(candidates.ids, np.array(model.positive_ids, np.int64))
    score[known] = -np.inf
    order = np.lexsort((candidates.ids, -score))  # ties broken by id: deterministic
    out: list[Recommendation] = []
    for row in order[:limit]:
        if not np.isfinite(score[row]):
            break
        anchor = int(best[row])
        shared = words(candidates.texts[row]) & words(model.positive_texts[anchor])
        out.append(
            Recommendation(
                paper_id=int(candidates.ids[row]),
                score=float(score[row]),
                because=(model.positive_ids[anchor],),
                terms=tuple(sorted(shared, key=lambda w: (-len(w), w))[:5]),
            )
        )
    return out
