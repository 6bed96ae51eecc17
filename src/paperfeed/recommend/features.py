"""Hashed tf-idf features of paper texts (pure): no vocabulary to refit as the corpus grows.

Terms are the words and word pairs of title + abstract (English stop words dropped, as arxiv-sanity-lite
tokenises), hashed into N_FEATURES buckets; a term's weight is a sublinear tf (1 + log count) times its idf,
each row L2-normalised. The only corpus statistic is the document frequency of each bucket, kept by
CorpusStats:

    stats = CorpusStats.fit(texts_of_a_sample)   # once, e.g. 20,000 random papers of the database
    matrix = stats.transform(texts)              # any papers, any time: new papers need no refit
    stats.to_bytes() / CorpusStats.from_bytes()  # to keep it (a few MB) between runs

The service builds the stats once from a sample of the database (refitting only when the corpus has grown
several-fold; the idf of a grown corpus hardly moves) and passes them to `model.paper_set(..., stats=...)`
for every PaperSet it builds, so that the reader's papers and the candidates share one feature space.
"""

from __future__ import annotations

import io
import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, HashingVectorizer
from sklearn.utils import murmurhash3_32

N_FEATURES = 2**20
MAX_DF = 0.5  # a term in more than half the papers says nothing about a reader (as arxiv-sanity-lite)
TOKEN = r"(?u)\b[a-zA-Z_][a-zA-Z0-9_]+\b"  # noqa: S105  # arxiv-sanity-lite's token pattern (not a secret)

_VECTORIZER = HashingVectorizer(
    n_features=N_FEATURES,
    token_pattern=TOKEN,
    stop_words="english",
    strip_accents="unicode",
    lowercase=True,
    ngram_range=(1, 2),
    alternate_sign=False,
    norm=None,
    dtype=np.float32,
)
_WORD = re.compile(TOKEN)


def model_text(title: str, abstract: str) -> str:
    """The text the features see: the title twice, then the abstract (a title word says more).

    Counting the title twice is the cheap form of a title field weight; it measured better on the dev split
    of `make bench-reco` than title + abstract once (docs/recommendations.md).
    """
    return f"{title}\n{title}\n{abstract}"


def counts(texts: Sequence[str]) -> sp.csr_matrix:
    """Raw hashed term counts, one row per text."""
    return sp.csr_matrix(_VECTORIZER.transform(list(texts)), dtype=np.float32)


def terms(text: str) -> list[str]:
    """The terms of a text as the features see them (words and word pairs), for explanations."""
    words = [w for w in _WORD.findall(text.lower()) if w not in ENGLISH_STOP_WORDS]
    return words + [f"{a} {b}" for a, b in itertools.pairwise(words)]


def bucket(term: str) -> int:
    """The feature column of one term (HashingVectorizer's own hash: signed murmurhash3, abs, modulo)."""
    return int(abs(murmurhash3_32(term, positive=False))) % N_FEATURES


@dataclass(frozen=True)
class CorpusStats:
    """Document frequencies of the hashed terms over a sample of papers, and the idf they give."""

    docs: int
    df: np.ndarray  # int32 (N_FEATURES,)

    @classmethod
    def fit(cls, texts: Sequence[str]) -> CorpusStats:
        """Count in how many of the texts each term occurs."""
        df = np.zeros(N_FEATURES, np.int32)
        for start in range(0, len(texts), 5000):
            part = counts(texts[start : start + 5000])
            np.add.at(df, part.indices, 1)
        return cls(docs=len(texts), df=df)

    def idf(self) -> np.ndarray:
        """Smoothed idf per bucket; zero for terms in more than MAX_DF of the papers."""
        n = max(self.docs, 1)
        idf = (np.log((1.0 + n) / (1.0 + self.df)) + 1.0).astype(np.float32)
        idf[self.df > MAX_DF * n] = 0.0
        return idf

    def transform(self, texts: Sequence[str]) -> sp.csr_matrix:
        """L2-normalised sublinear tf-idf rows of the texts."""
        m = counts(texts)
        m.data = (1.0 + np.log(m.data)).astype(np.float32)
        m = sp.csr_matrix(m.multiply(self._idf_row()), dtype=np.float32)
        norms = np.sqrt(np.asarray(m.multiply(m).sum(axis=1)).ravel())
        norms[norms == 0] = 1.0
        out = sp.csr_matrix(sp.diags(1.0 / norms).astype(np.float32) @ m, dtype=np.float32)
        out.sort_indices()  # shared_terms intersects rows by binary search
        return out

    def _idf_row(self) -> np.ndarray:
        cached = self.__dict__.get("_idf")
        if cached is None:
            cached = self.idf()[None, :]
            object.__setattr__(self, "_idf", cached)
        return cached

    def weight(self, term: str) -> float:
        """The idf of one term (how distinctive it is)."""
        return float(self._idf_row()[0, bucket(term)])

    def to_bytes(self) -> bytes:
        """The stats as a compressed .npz blob."""
        buf = io.BytesIO()
        np.savez_compressed(buf, docs=np.array([self.docs]), df=self.df)
        return buf.getvalue()

    @classmethod
    def from_bytes(cls, blob: bytes) -> CorpusStats:
        """Stats written by to_bytes()."""
        data = np.load(io.BytesIO(blob))
        return cls(docs=int(data["docs"][0]), df=data["df"].astype(np.int32))


def term_map(text: str) -> dict[int, str]:
    """Feature column -> the term of this text it counts (to name the columns two papers share)."""
    out: dict[int, str] = {}
    for t in terms(text):
        out.setdefault(bucket(t), t)
    return out


def row(m: sp.csr_matrix, i: int) -> tuple[np.ndarray, np.ndarray]:
    """(columns, weights) of one row of a CSR matrix, without building a matrix for it.

    The columns come sorted: every matrix of this module is canonical (transform sorts its indices).
    """
    lo, hi = m.indptr[i], m.indptr[i + 1]
    return m.indices[lo:hi], m.data[lo:hi]


def _intersect(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Positions in a and in b of the values both hold (each unique; b sorted, as CSR rows keep it)."""
    if not len(a) or not len(b):
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    at = np.searchsorted(b, a)
    at[at == len(b)] = 0
    hit = np.flatnonzero(b[at] == a)
    return hit, at[hit]


def shared_terms(
    a: tuple[np.ndarray, np.ndarray],
    b: tuple[np.ndarray, np.ndarray],
    names: dict[int, str],
    limit: int = 5,
) -> tuple[str, ...]:
    """The terms two tf-idf rows (row()) share, by their weight in both (names: term_map of either text).

    Up to half the terms are pairs ("surface code"), listed first; then single words.
    """
    ia, ib = _intersect(a[0], b[0])
    if not len(ia):
        return ()
    cols = a[0][ia]
    weight = a[1][ia] * b[1][ib]
    # Pairs say more than words; the words stay too (a reader may look for the bare term).
    pairs: list[str] = []
    words: list[str] = []
    want_pairs = (limit + 1) // 2
    for i in np.lexsort((cols, -weight)):
        name = names.get(int(cols[i]))
        if weight[i] <= 0 or name is None:
            continue
        if " " in name:
            if len(pairs) < want_pairs:
                pairs.append(name)
        elif len(words) < limit:
            words.append(name)
        if len(pairs) == want_pairs and len(words) >= limit - want_pairs:
            break  # the rest would be cut anyway (a ranked list explains 50 papers: this is its hot loop)
    return tuple(pairs + words)[:limit]
