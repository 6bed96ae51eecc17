"""Retrieval metrics over graded relevance judgments (qrels): nDCG@k and recall@k, as trec_eval has them."""

from __future__ import annotations

import math
import random
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

S = TypeVar("S", bound=Hashable)

Qrels = Mapping[str, Mapping[str, int]]  # query id -> document id -> relevance grade (0 = not relevant)
Run = Mapping[str, Sequence[str]]  # query id -> ranked document ids, best first


def dcg(gains: Sequence[float]) -> float:
    """Discounted cumulative gain of gains listed by rank (linear gain, log2(rank + 1) discount)."""
    return sum(g / math.log2(i + 2) for i, g in enumerate(gains))


def ndcg_at_k(ranked: Sequence[str], judged: Mapping[str, int], k: int) -> float:
    """nDCG@k of one ranking; 0.0 when the query has no relevant document (it is then left out of means)."""
    if k < 1:
        raise ValueError("k must be >= 1")
    ideal = dcg(sorted((g for g in judged.values() if g > 0), reverse=True)[:k])
    if ideal == 0:
        return 0.0
    seen: set[str] = set()
    gains: list[float] = []
    for doc in ranked:
        # A document listed twice counts once: a buggy run must not score above the ideal.
        if doc in seen:
            continue
        seen.add(doc)
        gains.append(max(judged.get(doc, 0), 0))
        if len(gains) == k:
            break
    return dcg(gains) / ideal


def recall_at_k(ranked: Sequence[str], judged: Mapping[str, int], k: int) -> float:
    """Share of the relevant documents found in the first k results."""
    if k < 1:
        raise ValueError("k must be >= 1")
    relevant = {d for d, g in judged.items() if g > 0}
    if not relevant:
        return 0.0
    return len(relevant.intersection(ranked[:k])) / len(relevant)


def _judged_queries(qrels: Qrels) -> list[str]:
    return sorted(q for q, judged in qrels.items() if any(g > 0 for g in judged.values()))


def mean_ndcg(run: Run, qrels: Qrels, k: int = 10) -> float:
    """Mean nDCG@k over every query with a relevant document; a query missing from the run scores 0."""
    queries = _judged_queries(qrels)
    if not queries:
        raise ValueError("no query has a relevant document")
    return sum(ndcg_at_k(run.get(q, ()), qrels[q], k) for q in queries) / len(queries)


def mean_recall(run: Run, qrels: Qrels, k: int = 100) -> float:
    """Mean recall@k over every query with a relevant document; a query missing from the run scores 0."""
    queries = _judged_queries(qrels)
    if not queries:
        raise ValueError("no query has a relevant document")
    return sum(recall_at_k(run.get(q, ()), qrels[q], k) for q in queries) / len(queries)


def parse_qrels(lines: Sequence[str]) -> dict[str, dict[str, int]]:
    """BEIR's qrels TSV (`query-id<TAB>corpus-id<TAB>score`, one header line) as a nested dict."""
    qrels: dict[str, dict[str, int]] = {}
    for n, line in enumerate(lines, 1):
        line = line.strip()
        if not line or (n == 1 and line.startswith("query-id")):
            continue
        parts = line.split("\t")
        if len(parts) != 3:
            raise ValueError(f"qrels line {n}: expected 3 tab-separated fields, got {len(parts)}")
        qrels.setdefault(parts[0], {})[parts[1]] = int(parts[2])
    return qrels


def two_folds(queries: Sequence[str], seed: int) -> tuple[list[str], list[str]]:
    """The query ids shuffled with a fixed seed and cut in two halves (sorted first: the split depends on
    the ids and the seed only, not on the order they came in)."""
    ordered = sorted(set(queries))
    random.Random(seed).shuffle(ordered)
    half = len(ordered) // 2
    return sorted(ordered[:half]), sorted(ordered[half:])


@dataclass(frozen=True, slots=True)
class Fold(Generic[S]):
    """One fold of a cross-validation: the setting chosen on the other queries, scored on these."""

    chosen: S
    tuned_on: int  # queries the setting was chosen on
    tuning_score: float  # its mean score on them
    held_out: tuple[str, ...]  # the queries it is scored on
    held_out_score: float  # its mean score on them


def cross_validate(
    scores: Mapping[S, Mapping[str, float]], folds: Sequence[Sequence[str]]
) -> tuple[list[Fold[S]], float]:
    """Per fold, the setting with the best mean score over the other folds' queries, scored on this fold;
    and the mean over every query of its held-out score (the cross-validated figure). `scores[setting]`
    maps query id -> score; ties go to the setting listed first."""
    if len(folds) < 2:
        raise ValueError("need at least two folds")
    out: list[Fold[S]] = []
    pooled: list[float] = []
    for n, fold in enumerate(folds):
        tune = [q for m, other in enumerate(folds) if m != n for q in other]
        if not fold or not tune:
            raise ValueError("every fold needs queries")
        means = {s: sum(per[q] for q in tune) / len(tune) for s, per in scores.items()}
        chosen = max(means, key=lambda s: means[s])  # max keeps the first of equal means
        held = [scores[chosen][q] for q in fold]
        pooled.extend(held)
        out.append(Fold(chosen, len(tune), means[chosen], tuple(fold), sum(held) / len(held)))
    return out, sum(pooled) / len(pooled)
