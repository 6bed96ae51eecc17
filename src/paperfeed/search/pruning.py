"""Two-phase keyword retrieval for large indexes.

tantivy-py collects every search through a MultiCollector, so tantivy's block-max WAND (which skips documents
that cannot reach the top k) never runs: a query costs the sum of its terms' posting lists. In a 1M-paper
index a common word like "model" is in 86% of the documents and alone costs ~10 ms, whatever the limit.

So, from `search_prune_min_docs` papers on, a query runs in two phases (the idea of Lucene's
CommonTermsQuery, with the rescoring done per term so tantivy can skip):

1. The *rare* terms (rarest first, while their posting lists hold at most `budget` x papers entries; at
   least the rarest term) are searched as an OR query with the filters: their posting lists are short, and
   they carry most of the BM25 score (idf of a term in 50% of papers is 0.69; of one in 0.1%, 6.9).
2. Each *common* term is scored on those candidates only (an intersection with the candidate ids, so tantivy
   seeks in the long posting list instead of reading it), and its BM25 score is added.

Quoted phrases must match, and a phrase's own words are among the scored terms, so every match of a phrase
query holds a phrase. Phase 1 of a phrase query is therefore the phrases (plus the rare words outside them, as
optional clauses), and *every* scored term that is a phrase word is re-scored: scoring the phrase words in the
same pass as the phrase made tantivy read a union of their long posting lists (at 1M papers,
`"vision transformer" segmentation` took 16 ms in one phase, its phrase alone 9 ms).

The scores of the candidates are exactly the scores the one-phase query gives them; what can differ is which
documents are candidates. bench/search_speed.py reports how often the top 10 agree with the one-phase top 10.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from paperfeed.search.query import ParsedQuery, scoring_terms, stems

__all__ = ["PhasePlan", "TermSplit", "plan_phases", "split_terms"]


@dataclass(frozen=True, slots=True)
class TermSplit:
    """Which scoring terms pick candidates (rare) and which only re-score them (common)."""

    rare: tuple[str, ...]
    common: tuple[str, ...]

    @property
    def pruned(self) -> bool:
        """True when a second phase is needed (some terms only re-score)."""
        return bool(self.rare) and bool(self.common)


def split_terms(
    terms: Sequence[str], doc_freq: Callable[[str], int], num_docs: int, *, budget: float
) -> TermSplit:
    """Split `terms` so the rare ones' posting lists hold at most `budget` x `num_docs` entries in all.

    Terms are taken rarest first while they fit; the rarest term is always taken (alone it may exceed the
    budget: then it is the cheapest choice there is). A repeated term stays repeated. Pure apart from
    `doc_freq`.
    """
    if not terms:
        return TermSplit((), ())
    freqs = {t: doc_freq(t) for t in set(terms)}
    chosen: set[str] = set()
    used = 0
    for term in sorted(freqs, key=lambda t: (freqs[t], t)):
        cost = freqs[term] * terms.count(term)
        if chosen and used + cost > budget * num_docs:
            break
        chosen.add(term)
        used += cost
    rare = tuple(t for t in terms if t in chosen)
    common = tuple(t for t in terms if t not in chosen)
    return TermSplit(rare, common)


@dataclass(frozen=True, slots=True)
class PhasePlan:
    """How a query runs in two phases: `rare` terms score in phase 1, `common` ones re-score candidates."""

    rare: tuple[str, ...]
    common: tuple[str, ...]
    by_phrases: bool  # phase 1 is the phrases, the rare terms optional: it matches what the query matches


def plan_phases(
    parsed: ParsedQuery, doc_freq: Callable[[str], int], num_docs: int, *, budget: float
) -> PhasePlan | None:
    """The two-phase plan of `parsed`, or None when one phase is the better (or the only exact) choice."""
    terms = scoring_terms(parsed.terms)
    if not parsed.phrases:
        split = split_terms(terms, doc_freq, num_docs, budget=budget)
        return PhasePlan(split.rare, split.common, False) if split.pruned else None
    in_phrases = {t for phrase in parsed.phrases for word in phrase for t in stems(word)}
    if not in_phrases & set(terms):
        # Phrases of stop words only: then the scored terms filter the matches, which one phase keeps exact.
        return None
    split = split_terms([t for t in terms if t not in in_phrases], doc_freq, num_docs, budget=budget)
    return PhasePlan(split.rare, split.common + tuple(t for t in terms if t in in_phrases), True)
