"""What the search benchmarks share: a vector cache for re-runs, and building/opening paperfeed's search.

CachedEmbedder remembers vectors on disk, keyed by the model (name, graph, sha256 of the shipped weights,
token budget) and a hash of each text: a changed text or model is simply a miss. Only benchmarks use it.
The indexes are built and searched only through paperfeed's own functions (H1's keyword index and
SearchService, H2's vector storage and usearch index), so the benchmarks measure the product.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

# onnxruntime must be loaded before usearch: the other order segfaults here
# (`from usearch.index import Index; import onnxruntime` -> SIGSEGV).
# Seen here, reported to the search owners.
import onnxruntime  # noqa: F401  # isort: skip
from sqlalchemy.orm import Session, sessionmaker

from paperfeed.config import Settings
from paperfeed.search.embeddings import MODEL_SHA256, Embedder, load_embedder
from paperfeed.search.keyword import keyword_dir
from paperfeed.search.keyword_store import build_keyword_index
from paperfeed.search.service import SearchRequest, SearchService
from paperfeed.search.vector_store import rebuild_vector_index
from paperfeed.search.vectors import VectorIndex


def model_key(settings: Settings, embedder: Embedder) -> str:
    """What decides a vector besides its text: the token budget, and the model's own output on a probe
    sentence (so a changed graph or weights file is a different key, whatever it is called)."""
    probe = embedder.embed(["A probe sentence that fingerprints the embedding model."])[0]
    raw = f"{MODEL_SHA256}:{settings.embed_max_tokens}:" + ",".join(f"{x:.3f}" for x in probe[:64])
    return hashlib.blake2b(raw.encode(), digest_size=6).hexdigest()


def _text_key(text: str) -> bytes:
    return hashlib.blake2b(text.encode(), digest_size=12).digest()


class CachedEmbedder:
    """Embedder protocol over another embedder, with a vector cache in one .npz file."""

    def __init__(self, inner: Embedder, path: Path) -> None:
        self.inner = inner
        self.name = inner.name
        self.dim = inner.dim
        self.path = path
        self.hits = 0
        self.misses = 0
        self._cache: dict[bytes, np.ndarray] = {}
        self._dirty = False
        self._seen: float | None = None  # mtime of the file as last read
        self._merge()

    def _merge(self) -> None:
        """Add the vectors of the file on disk that this cache lacks (another run may have saved some)."""
        if not self.path.exists():
            return
        mtime = self.path.stat().st_mtime
        if mtime == self._seen:
            return
        data = np.load(self.path)
        keys, vecs = data["keys"], data["vectors"]
        for i, k in enumerate(keys):
            self._cache.setdefault(bytes(k), vecs[i])
        self._seen = mtime

    @classmethod
    def for_settings(
        cls, settings: Settings, cache_dir: Path, inner: Embedder | None = None
    ) -> CachedEmbedder:
        """The configured embedder behind a cache file named after the model key."""
        cache_dir.mkdir(parents=True, exist_ok=True)
        inner = inner or load_embedder(settings)
        return cls(inner, cache_dir / f"embeddings-{model_key(settings, inner)}.npz")

    def __len__(self) -> int:
        return len(self._cache)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Cached vectors where known; the rest embedded in one call and remembered."""
        keys = [_text_key(t) for t in texts]
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        missing = [i for i, k in enumerate(keys) if k not in self._cache]
        if missing:
            fresh = self.inner.embed([texts[i] for i in missing])
            for row, i in enumerate(missing):
                self._cache[keys[i]] = fresh[row]
            self._dirty = True
        for i, k in enumerate(keys):
            out[i] = self._cache[k]
        self.misses += len(missing)
        self.hits += len(texts) - len(missing)
        return out

    def save(self) -> None:
        """Write the cache (atomically) when it changed."""
        if not self._dirty:
            return
        self._merge()  # two benchmarks may embed at once: neither drops the other's vectors
        keys = np.array(list(self._cache), dtype="S12")
        vecs = np.stack(list(self._cache.values())).astype(np.float32)
        tmp = self.path.with_name(f"{self.path.name}.{os.getpid()}.tmp.npz")
        np.savez(tmp, keys=keys, vectors=vecs)
        tmp.replace(self.path)
        self._seen = self.path.stat().st_mtime
        self._dirty = False


def build_keyword(settings: Settings, factory: sessionmaker[Session]) -> int:
    """Build the tantivy index from the database (as `paperfeed reindex` does)."""
    return build_keyword_index(
        factory,
        keyword_dir(settings),
        title_boost=settings.search_title_boost,
        shard_docs=settings.search_shard_docs,
    )


def build_vectors(settings: Settings, factory: sessionmaker[Session]) -> int:
    """Build the usearch index from the stored vectors; returns how many it holds."""
    return len(rebuild_vector_index(factory, settings=settings))


def open_service(
    settings: Settings, factory: sessionmaker[Session], embedder: Embedder | None, *, vectors: bool = True
) -> SearchService:
    """The SearchService as the web app opens it: keyword index, embedder, the HNSW file memory-mapped."""
    index = VectorIndex.from_settings(settings, 384, view=True) if vectors else None
    return SearchService(settings=settings, session_factory=factory, embedder=embedder, vector_index=index)


def search_ids(service: SearchService, q: str, mode: str, limit: int, *, load: bool = True) -> list[int]:
    """Paper ids of one search, best first."""
    request = SearchRequest(q=q, mode=mode, limit=limit, load_papers=load, snippets=load)
    result = service.search(request)
    if result.mode != mode:
        raise RuntimeError(f"asked for {mode} search, the service ran {result.mode}: {result.notices}")
    return [h.paper_id for h in result.hits]
