"""The per-reader model (pure): train on a reader's examples, rank candidates, explain each pick.

This module is the contract the service, the digest and the benchmark share. The model, chosen by
`make bench-reco` (docs/recommendations.md), fuses four per-reader scores:
- tf-idf kNN: the mean similarity of a candidate to its K nearest positives in hashed tf-idf space
  (recommend/features.py: words and word pairs, the title counted twice, sublinear tf, idf from
  CorpusStats), the reader's side weighted by idf once more (rare shared terms count more), minus half the
  candidate's mean similarity to its 10 nearest papers of the background sample (a generic abstract is
  near everyone's papers: hubness, discounted as CSLS does);
- a linear SVM (liblinear) of the reader's positives against their negatives and the database's fixed
  background sample of 5,000 papers (as arxiv-sanity does against the whole corpus), over the columns of
  the reader's own papers;
- embeddings: the kNN over the stored MiniLM vectors (zero rows, papers without a vector, count as 0);
- categories: the share of the reader's positives in the candidate's categories, plus the categories the
  reader picked;
each z-scored over the candidates and added with the weights of Params; explicit negatives ("less",
"dismiss") also subtract their nearest similarity. Several nearest positives rather than one centroid keep
a reader's separate interests apart. Training is deterministic (sorted rows, liblinear's fixed seed), so
the same signals in any order give the same list and deleting a signal restores the previous one.

How the service uses it: build CorpusStats once (features.CorpusStats.fit over a sample of the database)
and pass it as `stats=` to every paper_set() call, then `rank(train(examples, papers), candidates)`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import scipy.sparse as sp

from paperfeed.recommend.features import CorpusStats, row, shared_terms, term_map

# How much each kind of signal says about the reader (sign = direction). Votes and saves are public or
# organisational acts; "more"/"less" are explicit; a dismissal says only "not this one".
WEIGHTS: dict[str, float] = {
    "vote": 1.0,
    "save": 1.0,
    "more": 1.0,
    "seed": 1.0,
    "claim": 1.0,  # a paper the reader wrote (an approved authorship claim)
    "follow": 0.5,  # a recent paper of an author the reader follows: weaker than choosing the paper
    "less": -1.0,
    "dismiss": -0.5,
}
EXPLICIT = frozenset({"more", "less", "dismiss", "seed"})


@dataclass(frozen=True)
class Params:
    """The model's knobs (chosen on the dev split of `make bench-reco`, docs/recommendations.md)."""

    k: int = 8  # nearest positives averaged per candidate
    tfidf: float = 1.0  # kNN over tf-idf
    svm: float = 1.0  # the reader's linear SVM against the background sample
    embedding: float = 0.5  # kNN over the MiniLM vectors
    category: float = 0.3
    # How much a candidate's likeness to its 10 nearest background papers is discounted: a generic
    # abstract is near every reader's papers (hubness); subtracting it is CSLS for nearest neighbours.
    hubness: float = 0.5
    idf_boost: float = 1.0  # extra idf power on the reader's side of the tf-idf kNN: rare terms count more
    c: float = 1.0  # the SVM's C
    negative: float = 1.0  # weight of the nearest negative's similarity (in z units of the positive side)


DEFAULT = Params()


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
    extra: dict[str, Any] = field(default_factory=dict)  # "tfidf": csr rows, "stats": CorpusStats

    def __len__(self) -> int:
        return len(self.ids)

    def index(self) -> dict[int, int]:
        """paper id -> row."""
        return {int(pid): row for row, pid in enumerate(self.ids)}

    @property
    def tfidf(self) -> sp.csr_matrix:
        """The hashed tf-idf rows (built by paper_set)."""
        return self.extra["tfidf"]

    @property
    def stats(self) -> CorpusStats:
        """The corpus statistics the tf-idf rows were built with."""
        return self.extra["stats"]  # type: ignore[no-any-return]

    def tfidf_columns(self) -> sp.csc_matrix:
        """The tf-idf rows by column (built once, on first use): a reader's columns are sliced from it."""
        if "tfidf_csc" not in self.extra:
            self.extra["tfidf_csc"] = sp.csc_matrix(self.tfidf)
        return self.extra["tfidf_csc"]

    def background_density(self, background: PaperSet, k: int = 10) -> np.ndarray:
        """Mean tf-idf cosine of each paper to its k nearest background papers (kept per background)."""
        key = f"bg-density-{k}"
        kept = self.extra.get(key)
        if kept is None or kept[0] is not background.tfidf:
            bt = background.tfidf.T.tocsc()
            out = np.zeros(len(self.ids), np.float32)
            kk = min(k, bt.shape[1])
            for start in range(0, len(self.ids), 512):
                sims = _dense(self.tfidf[start : start + 512] @ bt)
                if kk:
                    out[start : start + 512] = np.partition(sims, -kk, axis=1)[:, -kk:].mean(axis=1)
            kept = (background.tfidf, out)
            self.extra[key] = kept
        return kept[1]

    def term_map(self, i: int) -> dict[int, str]:
        """Column -> term of paper row i (for explanations), computed once per paper of this set."""
        maps: dict[int, dict[int, str]] = self.extra.setdefault("term_maps", {})
        if i not in maps:
            maps[i] = term_map(self.texts[i])
        return maps[i]

    def category_matrix(self) -> tuple[sp.csr_matrix, dict[str, int]]:
        """(papers x categories 0/1 matrix, category -> column), built once on first use."""
        if "categories" not in self.extra:
            vocab = {c: i for i, c in enumerate(sorted({c for cs in self.categories for c in cs}))}
            rows = [r for r, cs in enumerate(self.categories) for _ in cs]
            cols = [vocab[c] for cs in self.categories for c in cs]
            m = sp.csr_matrix(
                (np.ones(len(rows), np.float32), (rows, cols)),
                shape=(len(self.categories), max(len(vocab), 1)),
            )
            self.extra["categories"] = (m, vocab)
        return self.extra["categories"]  # type: ignore[no-any-return]


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
    """What training keeps of a reader: their positive and negative papers' rows, weights and categories."""

    positive_ids: tuple[int, ...]
    positive_vectors: np.ndarray
    positive_weights: np.ndarray
    negative_vectors: np.ndarray
    negative_weights: np.ndarray
    categories: frozenset[str]
    positive_texts: tuple[str, ...] = ()
    positive_tfidf: sp.csr_matrix | None = None
    negative_tfidf: sp.csr_matrix | None = None
    negative_ids: tuple[int, ...] = ()
    category_share: dict[str, float] = field(default_factory=dict)
    stats: CorpusStats | None = None
    params: Params = DEFAULT
    # The tf-idf columns any of the reader's papers uses, and their rows restricted to them (dense): a
    # candidate's similarity needs only these columns.
    columns: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    positive_compact: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), np.float32))
    negative_compact: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), np.float32))
    positive_terms: tuple[dict[int, str], ...] = ()  # column -> term, per positive (for explanations)
    # The reader's linear SVM over their own columns (aligned with `columns`): a few KB, not 2**20 floats.
    svm_coef: np.ndarray | None = None
    svm_intercept: float = 0.0
    background: PaperSet | None = None  # the shared background sample (not a copy)

    @property
    def empty(self) -> bool:
        """True when there is nothing positive to learn from."""
        return len(self.positive_ids) == 0


def paper_set(
    ids: Sequence[int],
    vectors: np.ndarray,
    texts: Sequence[str],
    categories: Sequence[Sequence[str]],
    *,
    stats: CorpusStats | None = None,
) -> PaperSet:
    """Build the model's view of some papers (the one constructor): adds their hashed tf-idf rows.

    Pass the service's CorpusStats; without it the statistics of these texts alone are used (tests).
    """
    texts = tuple(texts)
    stats = stats if stats is not None else CorpusStats.fit(texts)
    return PaperSet(
        ids=np.asarray(ids, dtype=np.int64),
        vectors=np.asarray(vectors, dtype=np.float32),
        texts=texts,
        categories=tuple(tuple(c) for c in categories),
        extra={"tfidf": stats.transform(texts), "stats": stats},
    )


def _weights(examples: Sequence[Example], rows: dict[int, int]) -> dict[int, float]:
    """One weight per paper: an explicit signal overrides a vote or save; among equals the strongest wins."""
    by_paper: dict[int, float] = {}
    rank_of: dict[int, tuple[int, float]] = {}
    # Sorting first makes the order of the examples irrelevant.
    for ex in sorted(examples, key=lambda e: (e.paper_id, e.kind)):
        if ex.paper_id not in rows or ex.kind not in WEIGHTS:
            continue
        weight = WEIGHTS[ex.kind]
        key = (1 if ex.kind in EXPLICIT else 0, abs(weight))
        if ex.paper_id not in rank_of or key > rank_of[ex.paper_id]:
            rank_of[ex.paper_id] = key
            by_paper[ex.paper_id] = weight
    return by_paper


def _boost(background: PaperSet, params: Params) -> np.ndarray:
    """The idf boost per column (idf ** idf_boost), built once per background sample."""
    key = f"boost-{params.idf_boost}"
    if key not in background.extra:
        background.extra[key] = np.power(background.stats.idf(), params.idf_boost).astype(np.float32)
    return background.extra[key]  # type: ignore[no-any-return]


def _unit_columns(m: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(m, axis=0)
    norms[norms == 0] = 1.0
    out: np.ndarray = (m / norms[None, :]).astype(np.float32)
    return out


def _restrict(m: sp.csr_matrix, columns: np.ndarray) -> sp.csr_matrix:
    """The rows of m over `columns` only (sorted, holding every column m uses), as a compact matrix.

    scipy's m[:, columns] allocates arrays as long as all 2**20 columns; renumbering is much cheaper.
    """
    indices = np.searchsorted(columns, m.indices).astype(np.int32)
    return sp.csr_matrix((m.data, indices, m.indptr), shape=(m.shape[0], len(columns)))


def _svm(
    positives: sp.csr_matrix,
    pos_weights: np.ndarray,
    negatives: sp.csr_matrix,
    neg_weights: np.ndarray,
    background: PaperSet,
    exclude: Sequence[int],
    columns: np.ndarray,
    c: float,
) -> tuple[np.ndarray, float]:
    """A linear SVM of the reader's positives against their negatives and the background sample.

    Over the reader's own columns only (positives and negatives come restricted by _restrict): a term
    none of their papers uses would only get a weight against the background, which ranked candidates
    as well as no weight at all on the dev split (docs/recommendations.md), and training is 4x faster.
    """
    from sklearn.svm import LinearSVC  # imported on first training: the web process may never train

    keep = ~np.isin(background.ids, np.asarray(exclude, np.int64))
    bg = sp.csr_matrix(background.tfidf_columns()[:, columns])
    if not keep.all():
        bg = bg[np.flatnonzero(keep)]
    x = sp.vstack([positives, negatives, bg], format="csr")
    y = np.r_[np.ones(positives.shape[0]), np.zeros(negatives.shape[0] + bg.shape[0])]
    weight = np.r_[pos_weights, neg_weights, np.ones(bg.shape[0], np.float32)]
    # Fixed random_state and data order: liblinear's shuffling is the only randomness.
    clf = LinearSVC(C=c, class_weight="balanced", random_state=0, max_iter=2000, tol=1e-4)
    clf.fit(x, y, sample_weight=weight)
    return clf.coef_.ravel().astype(np.float32), float(clf.intercept_[0])


def train(
    examples: Sequence[Example],
    papers: PaperSet,
    *,
    categories: Sequence[str] = (),
    background: PaperSet | None = None,
    params: Params = DEFAULT,
) -> ReaderModel:
    """Fit a reader's model; deterministic: the same examples (in any order) give the same model.

    papers holds (at least) the papers of the examples; background is the database's fixed sample
    (recommend.corpus), built with the same CorpusStats. Without one, `papers` serves as the background.
    """
    background = background if background is not None else papers
    rows = papers.index()
    by_paper = _weights(examples, rows)
    pos = sorted(pid for pid, w in by_paper.items() if w > 0)
    neg = sorted(pid for pid, w in by_paper.items() if w < 0)
    dim = papers.vectors.shape[1] if papers.vectors.ndim == 2 else 0
    pos_rows = [rows[p] for p in pos]
    neg_rows = [rows[p] for p in neg]
    tfidf = papers.tfidf
    pos_m, neg_m = sp.csr_matrix(tfidf[pos_rows]), sp.csr_matrix(tfidf[neg_rows])
    columns = np.union1d(pos_m.indices, neg_m.indices).astype(np.int64)
    pos_c, neg_c = _restrict(pos_m, columns), _restrict(neg_m, columns)
    share: Counter[str] = Counter()
    for r in pos_rows:
        share.update(set(papers.categories[r]))
    n = max(len(pos_rows), 1)
    category_share = {c: k / n for c, k in sorted(share.items())}
    for c in categories:  # categories the reader picked count as if all their papers were there
        category_share[c] = 1.0
    pos_w = np.array([by_paper[p] for p in pos], np.float32)
    neg_w = np.array([-by_paper[p] for p in neg], np.float32)
    boost = _boost(background, params)
    coef, intercept = None, 0.0
    if pos and params.svm:
        coef, intercept = _svm(pos_c, pos_w, neg_c, neg_w, background, pos + neg, columns, params.c)
    col_boost = boost[columns][:, None]
    return ReaderModel(
        positive_ids=tuple(pos),
        positive_vectors=papers.vectors[pos_rows] if pos_rows else np.zeros((0, dim), np.float32),
        positive_weights=pos_w,
        negative_vectors=papers.vectors[neg_rows] if neg_rows else np.zeros((0, dim), np.float32),
        negative_weights=neg_w,
        categories=frozenset(category_share),
        positive_texts=tuple(papers.texts[r] for r in pos_rows),
        positive_tfidf=pos_m,
        negative_tfidf=neg_m,
        negative_ids=tuple(neg),
        category_share=category_share,
        stats=papers.stats,
        params=params,
        columns=columns,
        positive_compact=_unit_columns(pos_c.toarray().T * col_boost),
        negative_compact=_unit_columns(neg_c.toarray().T * col_boost),
        positive_terms=tuple(papers.term_map(r) for r in pos_rows),
        svm_coef=coef,
        svm_intercept=intercept,
        background=background,
    )


def _z(x: np.ndarray) -> np.ndarray:
    sd = float(x.std())
    return (x - float(x.mean())) / sd if sd > 1e-9 else np.zeros_like(x)


def _topk_mean(sims: np.ndarray, k: int) -> np.ndarray:
    k = min(k, sims.shape[1])
    if k == sims.shape[1]:
        return sims.mean(axis=1)  # type: ignore[no-any-return]
    return np.partition(sims, -k, axis=1)[:, -k:].mean(axis=1)  # type: ignore[no-any-return]


def _dense(m: Any) -> np.ndarray:
    return np.asarray(m.toarray() if sp.issparse(m) else m, dtype=np.float32)


def score(model: ReaderModel, candidates: PaperSet) -> tuple[np.ndarray, np.ndarray]:
    """(score per candidate, row of its nearest positive); papers the reader reacted to get -inf."""
    p = model.params
    n = len(candidates)
    if model.empty or n == 0:
        return np.full(n, -np.inf), np.zeros(n, np.int64)
    w = model.positive_weights[None, :]
    sub = candidates.tfidf_columns()[:, model.columns]
    t = _dense(sub @ model.positive_compact) * w
    e = (candidates.vectors @ model.positive_vectors.T) * w
    knn = _topk_mean(t, p.k)
    if model.background is not None and p.hubness:
        # A candidate near many background papers (a generic abstract) is near everyone's papers too.
        knn = knn - p.hubness * candidates.background_density(model.background)
    total = p.tfidf * _z(knn) + p.embedding * _z(_topk_mean(e, p.k))
    if model.svm_coef is not None and p.svm:
        total = total + p.svm * _z(np.asarray(sub @ model.svm_coef) + model.svm_intercept)
    if p.category:
        incidence, vocab = candidates.category_matrix()
        share = np.zeros(incidence.shape[1], np.float32)
        for c, v in model.category_share.items():
            if c in vocab:
                share[vocab[c]] = v
        cat = _dense(incidence.multiply(share[None, :]).max(axis=1)).ravel()
        total = total + p.category * _z(cat)
    if len(model.negative_ids) and p.negative:
        nw = model.negative_weights[None, :]
        nt = _dense(sub @ model.negative_compact) * nw
        ne = (candidates.vectors @ model.negative_vectors.T) * nw
        # In the same units as the positive side: the nearest negative pulls down what resembles it.
        sd_t, sd_e = float(t.max(axis=1).std()) or 1.0, float(e.max(axis=1).std()) or 1.0
        total = total - p.negative * (p.tfidf * nt.max(axis=1) / sd_t + p.embedding * ne.max(axis=1) / sd_e)
    nearest = (t + 0.5 * e).argmax(axis=1)
    # Papers the reader already reacted to are not recommended again.
    known = np.isin(candidates.ids, np.array(model.positive_ids + model.negative_ids, np.int64))
    total = total.astype(np.float64)
    total[known] = -np.inf
    return total, nearest


def rank(model: ReaderModel, candidates: PaperSet, *, limit: int = 50) -> list[Recommendation]:
    """The candidates ordered by the reader's model, best first, each with its reasons."""
    if model.empty or len(candidates) == 0:
        return []
    total, nearest = score(model, candidates)
    order = np.lexsort((candidates.ids, -total))[:limit]  # ties broken by id: deterministic
    tfidf, mine = candidates.tfidf, model.positive_tfidf
    assert mine is not None  # train() always sets it
    out: list[Recommendation] = []
    for i in order:
        if not np.isfinite(total[i]):
            break
        anchor = int(nearest[i])
        out.append(
            Recommendation(
                paper_id=int(candidates.ids[i]),
                score=float(total[i]),
                because=(model.positive_ids[anchor],),
                terms=shared_terms(row(tfidf, int(i)), row(mine, anchor), model.positive_terms[anchor]),
            )
        )
    return out
