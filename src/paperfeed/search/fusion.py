"""Weighted reciprocal rank fusion (pure).

score(d) = sum over rankings r that contain d of  weight_r / (k + rank_r(d)),  with ranks starting at 1.

Only ranks matter, so BM25 scores and cosine similarities, which live on different scales, never need to be
normalised against each other. Ties are broken by the best single rank, then by the first ranking's order,
then by id, so the result is deterministic.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

__all__ = ["Fused", "rrf"]

K = TypeVar("K", bound=Hashable)


@dataclass(frozen=True, slots=True)
class Fused(Generic[K]):
    """One fused item: its id, fused score, and its 1-based rank in each ranking that holds it."""

    id: K
    score: float
    ranks: dict[str, int]


def rrf(
    rankings: Mapping[str, Sequence[K]], *, weights: Mapping[str, float] | None = None, k: float = 60.0
) -> list[Fused[K]]:
    """Fuse named rankings (each a sequence of ids, best first; duplicates after the first are ignored)."""
    if k <= 0:
        raise ValueError("k must be positive")
    scores: dict[K, float] = {}
    ranks: dict[K, dict[str, int]] = {}
    first_seen: dict[K, tuple[int, int]] = {}
    for order, (name, ids) in enumerate(rankings.items()):
        weight = 1.0 if weights is None else float(weights.get(name, 1.0))
        rank = 0
        for item in ids:
            if name in ranks.get(item, {}):
                continue  # a ranking that repeats an id: only its best place counts
            rank += 1
            scores[item] = scores.get(item, 0.0) + weight / (k + rank)
            ranks.setdefault(item, {})[name] = rank
            first_seen.setdefault(item, (order, rank))
    fused = [Fused(item, scores[item], ranks[item]) for item in scores]
    fused.sort(key=lambda f: (-f.score, min(f.ranks.values()), first_seen[f.id], str(f.id)))
    return fused
