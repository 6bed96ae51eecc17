"""Vectors of the search-speed corpora, and how far the HNSW index's answers are from exact search.

- Real papers are embedded for real by paperfeed's embedder (cached per text under var/bench/, so an
  interrupted or repeated run embeds only what is missing) and stored as embed_pending stores them.
- A grown paper (bench/corpus.py) gets a blend of the real vectors of the papers its text came from: the
  title donor (the paper it was grown from: title head, first sentence), the second-title donor and the
  mean of the sentence donors, with weights fitted on real embeddings of a sample of grown papers. A blend
  alone sits too close to its category's mean (averaging pulls it there: grown vectors crowd together and
  HNSW recall collapses on them), so it is moved as far as the real embeddings of that sample are from
  their blends, in a direction that is GAMMA parts a real paper's offset from its category's mean and the
  rest Gaussian (GAMMA chosen so that the sample's derived vectors are as crowded as its real embeddings:
  similarity to the nearest real papers, to each other, and to the title donor; calibrate() prints them).
- ANN recall@k: the index's top k against brute-force numpy over every stored vector, for real queries.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

import corpus as grow
from paperfeed.config import Settings
from paperfeed.search.embeddings import DIM, MODEL_NAME, paper_text
from paperfeed.search.query import parse_query
from paperfeed.search.service import SearchService
from paperfeed.search.vector_store import decode_vector, encode_vector, text_hash
from search_common import CachedEmbedder

GAMMA = 0.4  # share of a real within-category offset in a grown vector's spread (the rest: Gaussian)
CHUNK = 2048  # papers embedded per call (and per cache save: an interruption loses at most this many)
SAMPLE = 256  # grown papers embedded for real to calibrate the noise
INSERT = (
    "INSERT OR REPLACE INTO paper_vectors (paper_id, model, vector, content_hash, paper_hash, created_at) "
    "VALUES (?,?,?,?,?,?)"
)


def _now() -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S.000000", time.gmtime())


def embed_all(
    db: Path, settings: Settings, cache_dir: Path, log: Callable[[str], None] = print
) -> dict[str, float]:
    """Embed every paper of `db` for real and store the vectors; returns counts, seconds and papers/s."""
    conn = sqlite3.connect(db)
    rows = conn.execute("SELECT id, title, abstract, content_hash FROM papers ORDER BY id").fetchall()
    embedder = CachedEmbedder.for_settings(settings, cache_dir)
    log(f"    embedding {len(rows):,} papers ({len(embedder):,} texts cached in {embedder.path.name})")
    t0 = time.perf_counter()
    misses0 = embedder.misses
    conn.execute("DELETE FROM paper_vectors")
    for start in range(0, len(rows), CHUNK):
        part = rows[start : start + CHUNK]
        texts = [paper_text(title, abstract or "") for _, title, abstract, _ in part]
        vecs = embedder.embed(texts)
        embedder.save()
        with conn:
            conn.executemany(
                INSERT,
                [
                    (pid, MODEL_NAME, encode_vector(v), text_hash(t), ph, _now())
                    for (pid, _, _, ph), t, v in zip(part, texts, vecs, strict=True)
                ],
            )
        done, fresh = start + len(part), embedder.misses - misses0
        elapsed = time.perf_counter() - t0
        rate = fresh / elapsed if fresh else 0.0
        eta = (len(rows) - done) / rate / 60 if rate else 0.0
        log(f"    {done:,}/{len(rows):,} ({fresh:,} embedded now, {rate:.1f}/s, ~{eta:.0f} min left)")
    conn.close()
    seconds = time.perf_counter() - t0
    fresh = embedder.misses - misses0
    return {"papers": len(rows), "embedded": fresh, "seconds": seconds, "per_s": fresh / seconds}


class Sources:
    """The real vectors a grown paper's vector is made of: its title, second-title and sentence donors'."""

    def __init__(self, db: Path, base_db: Path, real: Sequence[dict[str, Any]], seed: int = 1) -> None:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
        self.first = conn.execute("SELECT min(paper_id) FROM bench_grown").fetchone()[0]
        conn.close()
        base = sqlite3.connect(f"file:{base_db}?mode=ro", uri=True)
        key_to_id = dict(base.execute("SELECT key, id FROM papers"))
        stored = base.execute("SELECT paper_id, vector FROM paper_vectors").fetchall()
        base.close()
        self.bank = np.zeros((max(pid for pid, _ in stored) + 1, DIM), dtype=np.float32)
        for pid, blob in stored:
            self.bank[pid] = decode_vector(blob)
        self.real_count = len(stored)
        # record index -> paper id (extend_database keys grown papers to their donors the same way)
        self.paper_of = np.array([key_to_id[grow._canonical(str(r["id"]))] for r in real], dtype=np.int64)
        self.grower = grow.Grower(real, seed=seed)
        # Per primary category: its records and the mean of their vectors (categories of one paper: all).
        everything = np.arange(len(real))
        self.pools = {
            c: np.array(v) if len(v) > 1 else everything for c, v in self.grower.by_category.items()
        }
        self.means = {c: self.bank[self.paper_of[v]].mean(axis=0) for c, v in self.pools.items()}

    def parts(self, paper_ids: Sequence[int]) -> np.ndarray:
        """(papers, 3, dim): title donor's vector, second-title donor's, mean of the sentence donors'."""
        a_idx, b_idx, flat, starts = [], [], [], []
        for pid in paper_ids:
            a, b, _c, picks = self.grower.plan(int(pid) - self.first)
            a_idx.append(a)
            b_idx.append(b)
            starts.append(len(flat))
            flat.extend(d for d, _ in picks)
        sent = self.bank[self.paper_of[np.asarray(flat)]]
        counts = np.diff(np.append(starts, len(flat)))
        means = np.add.reduceat(sent, starts, axis=0) / counts[:, None]
        return np.stack(
            [self.bank[self.paper_of[np.asarray(a_idx)]], self.bank[self.paper_of[np.asarray(b_idx)]], means],
            axis=1,
        )

    def deviations(self, paper_ids: Sequence[int], rng: np.random.Generator) -> np.ndarray:
        """Per grown paper, a random real paper's offset from the mean of its title donor's category."""
        out = np.empty((len(paper_ids), DIM), dtype=np.float32)
        for n, pid in enumerate(paper_ids):
            a = self.grower.plan(int(pid) - self.first)[0]
            cat = grow._primary(self.grower.records[a])
            pool = self.pools[cat]
            z = pool[int(rng.integers(len(pool)))]
            out[n] = self.bank[self.paper_of[z]] - self.means[cat]
        return out

    def derive(
        self, paper_ids: Sequence[int], weights: np.ndarray, cosines: np.ndarray, seed: int
    ) -> np.ndarray:
        """The vectors of grown papers: their blend, spread as far as `cosines` (drawn per paper)."""
        rng = np.random.default_rng(seed)
        blends = grow.blend(self.parts(paper_ids), weights)
        chosen = rng.choice(np.asarray(cosines), size=len(paper_ids))
        return grow.spread(blends, self.deviations(paper_ids, rng), chosen, rng, GAMMA)

    def neighbours(self, vectors: np.ndarray) -> tuple[float, float]:
        """Mean similarity to the 1st and 10th most similar real paper (how crowded a vector's place is)."""
        sims = np.sort(vectors @ self.bank[np.unique(self.paper_of)].T, axis=1)
        return float(sims[:, -1].mean()), float(sims[:, -10].mean())


def calibrate(
    db: Path, sources: Sources, settings: Settings, cache_dir: Path, sample: int = SAMPLE, seed: int = 1
) -> dict[str, Any]:
    """Fit the blend weights on real embeddings of `sample` grown papers (a seeded draw); report how close
    the blend and the title donor alone come to those real embeddings (cosine)."""
    conn = sqlite3.connect(db)
    grown = [pid for (pid,) in conn.execute("SELECT paper_id FROM bench_grown ORDER BY paper_id")]
    rng = np.random.default_rng(seed)
    picks = sorted(rng.choice(len(grown), size=min(sample, len(grown)), replace=False).tolist())
    ids = [grown[n] for n in picks]
    texts = []
    for pid in ids:
        title, abstract = conn.execute("SELECT title, abstract FROM papers WHERE id = ?", (pid,)).fetchone()
        texts.append(paper_text(title, abstract or ""))
    conn.close()
    embedder = CachedEmbedder.for_settings(settings, cache_dir)
    real = embedder.embed(texts)
    embedder.save()
    parts = sources.parts(ids)
    weights = grow.fit_blend(parts, real)
    blends = grow.blend(parts, weights)
    cosines = (blends * real).sum(axis=1)
    derived = sources.derive(ids, weights, cosines, seed)

    def crowd(x: np.ndarray) -> dict[str, float]:
        top1, top10 = sources.neighbours(x)
        n = len(x)
        pairwise = float(((x @ x.T).sum() - n) / (n * n - n))
        return {
            "top1": top1,
            "top10": top10,
            "pairwise": pairwise,
            "to_donor": float((x * parts[:, 0]).sum(1).mean()),
        }

    return {
        "n": len(ids),
        "weights": [round(float(w), 4) for w in weights],
        "gamma": GAMMA,
        "cosines": [round(float(c), 5) for c in cosines],
        "cos_blend": _spread(cosines),
        "cos_title_donor": _spread((parts[:, 0] * real).sum(axis=1)),
        "cos_derived": _spread((derived * real).sum(axis=1)),
        "crowd": {"real": crowd(real), "derived": crowd(derived), "blend": crowd(blends)},
    }


def _spread(values: np.ndarray) -> dict[str, float]:
    q = np.percentile(values, [10, 50, 90])
    return {"mean": float(values.mean()), "p10": float(q[0]), "p50": float(q[1]), "p90": float(q[2])}


def store_grown(
    db: Path,
    base_db: Path,
    sources: Sources,
    weights: Sequence[float],
    cosines: Sequence[float],
    seed: int = 1,
) -> dict[str, Any]:
    """Copy the real vectors from `base_db`, then store a derived vector (Sources.derive) for every grown
    paper; seeded per block of papers, so a rebuild writes the same vectors."""
    conn = sqlite3.connect(db)
    conn.execute("ATTACH DATABASE ? AS base", (f"file:{base_db}?mode=ro",))
    with conn:
        conn.execute("DELETE FROM paper_vectors")
        conn.execute("INSERT INTO paper_vectors SELECT * FROM base.paper_vectors")
    conn.execute("DETACH DATABASE base")
    reader = conn.execute(
        "SELECT p.id, p.title, p.abstract, p.content_hash FROM papers p JOIN bench_grown g "
        "ON g.paper_id = p.id ORDER BY p.id"
    )
    w = np.asarray(weights, dtype=np.float32)
    pool = np.asarray(cosines, dtype=np.float64)
    grown = 0
    writer = sqlite3.connect(db)
    with writer:
        while rows := reader.fetchmany(20_000):
            vecs = sources.derive([r[0] for r in rows], w, pool, seed * 1_000_003 + grown)
            writer.executemany(
                INSERT,
                [
                    (pid, MODEL_NAME, encode_vector(v), text_hash(paper_text(t, a or "")), ph, _now())
                    for (pid, t, a, ph), v in zip(rows, vecs, strict=True)
                ],
            )
            grown += len(rows)
    writer.close()
    conn.close()
    return {"real": sources.real_count, "grown": grown}


def exact_top(db: Path, queries: np.ndarray, k: int = 10, chunk: int = 131_072) -> np.ndarray:
    """Paper ids of the k most similar stored vectors of each query (brute force, float32 numpy)."""
    q = np.asarray(queries, dtype=np.float32)
    best_ids = np.empty((len(q), 0), dtype=np.int64)
    best = np.empty((len(q), 0), dtype=np.float32)
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    cur = conn.execute("SELECT paper_id, vector FROM paper_vectors WHERE model = ?", (MODEL_NAME,))
    while rows := cur.fetchmany(chunk):
        ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        mat = np.frombuffer(b"".join(r[1] for r in rows), dtype="<f2").reshape(len(rows), DIM)
        scores = q @ mat.astype(np.float32).T
        kk = min(k, len(rows))
        top = np.argpartition(-scores, kk - 1, axis=1)[:, :kk]
        best = np.concatenate([best, np.take_along_axis(scores, top, axis=1)], axis=1)
        best_ids = np.concatenate([best_ids, ids[top]], axis=1)
        if best.shape[1] > k:
            keep = np.argpartition(-best, k - 1, axis=1)[:, :k]
            best = np.take_along_axis(best, keep, axis=1)
            best_ids = np.take_along_axis(best_ids, keep, axis=1)
    conn.close()
    order = np.argsort(-best, axis=1)
    return np.take_along_axis(best_ids, order, axis=1)


def recall_at(found: Sequence[Sequence[int]], exact: np.ndarray, k: int = 10) -> float:
    """Mean share of each query's exact top k that the index's top k holds."""
    hits = [len(set(list(f)[:k]) & set(e[:k].tolist())) / k for f, e in zip(found, exact, strict=True)]
    return sum(hits) / len(hits)


EF_SWEEP = (64, 128, 256, 512, 1024)


def ann_recall(
    service: SearchService, db: Path, queries: list[str], base_db: Path | None = None
) -> dict[str, Any]:
    """recall@10 of the HNSW index against brute-force search over every stored vector, per query vector.

    Two ways of asking the index: k=10 (the plain top 10), and k = search_candidates then the first 10 (what
    semantic and hybrid search ask for); then k=10 at other ef_search values. Query vectors are made one at
    a time, as the service makes them. With `base_db` (a grown corpus's real papers), also recall on the
    real vectors alone against as many grown vectors alone (same_size_check).
    """
    assert service.embedder is not None and service.vector_index is not None
    index, pool = service.vector_index, service.settings.search_candidates
    texts = [" ".join(parse_query(q).text.replace('"', " ").split()) for q in queries]
    qv = np.stack([service.embedder.embed([t])[0] for t in texts])
    out: dict[str, Any] = {"recall_queries": len(qv), "recall_pool": pool}
    for key, k in (("k10", 10), ("pool", pool)):
        t = time.perf_counter()
        found = [[pid for pid, _ in index.search(v, k)][:10] for v in qv]
        out[f"ann_ms_{key}"] = (time.perf_counter() - t) * 1000 / len(qv)
        out[f"found_{key}"] = found
    t = time.perf_counter()
    exact = exact_top(db, qv, 10)
    out["exact_s"] = time.perf_counter() - t
    for key in ("k10", "pool"):
        out[f"recall10_{key}"] = recall_at(out.pop(f"found_{key}"), exact, 10)
    out["ef_search"] = service.settings.vector_expansion_search
    hnsw = index._index  # the usearch Index: its search width can be changed on an open (viewed) index
    sweep = {}
    for ef in EF_SWEEP:
        hnsw.expansion_search = ef
        t = time.perf_counter()
        found = [[pid for pid, _ in index.search(v, 10)] for v in qv]
        sweep[ef] = (recall_at(found, exact, 10), (time.perf_counter() - t) * 1000 / len(qv))
    hnsw.expansion_search = service.settings.vector_expansion_search
    out["ef_sweep"] = sweep
    if base_db is not None:
        out["same_size"] = same_size_check(base_db, db, qv, service.settings)
    return out


def same_size_check(base_db: Path, db: Path, qv: np.ndarray, settings: Settings) -> dict[str, Any]:
    """recall@10 (k=10, the configured HNSW settings) on the base's real vectors alone, and on as many
    grown vectors alone (every n-th grown paper): are derived vectors as easy for HNSW as real ones?"""
    import tempfile

    from paperfeed.search.vectors import VectorIndex

    real = sqlite3.connect(f"file:{base_db}?mode=ro", uri=True).execute(
        "SELECT paper_id, vector FROM paper_vectors"
    )
    real_rows = real.fetchall()
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    grown = conn.execute("SELECT count(*) FROM bench_grown").fetchone()[0]
    step = max(1, grown // len(real_rows))
    grown_rows = conn.execute(
        "SELECT v.paper_id, v.vector FROM paper_vectors v JOIN bench_grown g ON g.paper_id = v.paper_id "
        "WHERE (g.paper_id - (SELECT min(paper_id) FROM bench_grown)) % ? = 0",
        (step,),
    ).fetchall()
    conn.close()
    out: dict[str, Any] = {}
    for name, rows in (("real", real_rows), ("derived", grown_rows[: len(real_rows)])):
        ids = np.array([r[0] for r in rows], dtype=np.int64)
        vecs = (
            np.frombuffer(b"".join(r[1] for r in rows), dtype="<f2")
            .reshape(len(rows), DIM)
            .astype(np.float32)
        )
        index = VectorIndex.open(
            Path(tempfile.gettempdir()) / f"never-saved-{name}.usearch",  # in memory: never saved
            DIM,
            dtype=settings.vector_dtype,
            connectivity=settings.vector_connectivity,
            expansion_add=settings.vector_expansion_add,
            expansion_search=settings.vector_expansion_search,
        )
        index.add(ids, vecs)
        exact = ids[np.argsort(-(qv @ vecs.T), axis=1)[:, :10]]
        found = [[pid for pid, _ in index.search(v, 10)] for v in qv]
        out[name] = {"vectors": len(rows), "recall10": recall_at(found, exact, 10)}
    return out
