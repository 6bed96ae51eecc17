"""The vector index: a usearch HNSW file (cosine) next to the database, derived from paper_vectors."""

from __future__ import annotations

import json
import math
import os
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from paperfeed.search.locations import index_root

if TYPE_CHECKING:
    from paperfeed.config import Settings

VectorDType = Literal["f16", "i8"]


class VectorIndexError(RuntimeError):
    """The index file cannot be used as asked (wrong dimension or type, unreadable, read-only view)."""


def _import_onnxruntime_first() -> None:
    # With the pinned wheels, importing onnxruntime after usearch's compiled module segfaults the process
    # (`python -c "import usearch.compiled; import onnxruntime"`); the other order is fine. The embedder
    # imports onnxruntime lazily, so whoever opens an index first must take it in first.
    import onnxruntime  # type: ignore[import-untyped]  # noqa: F401


def default_index_path(settings: Settings) -> Path:
    """Where the HNSW file lives: settings.vector_index_path, or this database's index folder
    (`<data_dir>/<database name>.index/vectors.usearch`, search/locations.py)."""
    if settings.vector_index_path is not None:
        return Path(settings.vector_index_path)
    return index_root(settings) / "vectors.usearch"


def _meta_path(path: Path) -> Path:
    return path.with_name(path.name + ".json")


class VectorIndex:
    """Paper id -> vector, searched by cosine similarity (best first). Thread-safe; save() is atomic.

    Next to the index file a small JSON sidecar holds its dimension, storage type, model and sync cursor;
    it is written after the index, so a crash in between leaves an older cursor (a harmless re-sync).
    """

    def __init__(
        self, index: Any, path: Path, *, dim: int, dtype: VectorDType, view: bool, meta: dict[str, Any]
    ):
        self._index = index
        self.path = path
        self.dim = dim
        self.dtype: VectorDType = dtype
        self.view = view
        self.meta = meta
        self._lock = threading.RLock()
        self._dirty = False
        # A new index has never been saved: its first save is always due.
        self.saved_at = time.monotonic() if path.exists() else -math.inf

    @classmethod
    def open(
        cls,
        path: Path | str,
        dim: int,
        *,
        dtype: VectorDType = "f16",
        connectivity: int = 16,
        expansion_add: int = 128,
        expansion_search: int = 64,
        view: bool = False,
    ) -> VectorIndex:
        """Load the index at path, or create an empty one; view=True memory-maps it read-only."""
        _import_onnxruntime_first()
        from usearch.index import Index

        path = Path(path)
        meta: dict[str, Any] = {}
        if path.exists():
            try:
                index = Index.restore(str(path), view=view)
            except Exception as exc:  # usearch raises plain RuntimeError/ValueError on a damaged file
                raise VectorIndexError(f"{path}: unreadable vector index ({exc}); rebuild it") from exc
            if index is None:
                raise VectorIndexError(f"{path}: not a usearch index; rebuild it")
            if index.ndim != dim:
                raise VectorIndexError(
                    f"{path}: index has dimension {index.ndim}, expected {dim}; rebuild it"
                )
            stored = str(index.dtype).rsplit(".", 1)[-1].lower()
            if stored != dtype:
                raise VectorIndexError(f"{path}: index stores {stored}, settings ask for {dtype}; rebuild it")
            index.expansion_search = expansion_search  # type: ignore[misc]  # usearch has a setter
            meta_file = _meta_path(path)
            if meta_file.exists():
                try:
                    meta = json.loads(meta_file.read_text(encoding="utf-8"))
                except (OSError, ValueError):
                    meta = {}  # a lost cursor only costs a full re-sync
            return cls(index, path, dim=dim, dtype=dtype, view=view, meta=meta)
        if view:
            raise VectorIndexError(f"{path}: no vector index to view")
        index = Index(
            ndim=dim,
            metric="cos",
            dtype=dtype,
            connectivity=connectivity,
            expansion_add=expansion_add,
            expansion_search=expansion_search,
        )
        return cls(index, path, dim=dim, dtype=dtype, view=False, meta={})

    @classmethod
    def from_settings(cls, settings: Settings, dim: int, *, view: bool = False) -> VectorIndex:
        """open() with the path and HNSW parameters from settings."""
        return cls.open(
            default_index_path(settings),
            dim,
            dtype=settings.vector_dtype,
            connectivity=settings.vector_connectivity,
            expansion_add=settings.vector_expansion_add,
            expansion_search=settings.vector_expansion_search,
            view=view,
        )

    def _writable(self) -> None:
        if self.view:
            # usearch crashes the process on a write to a memory-mapped index: refuse it here.
            raise VectorIndexError(f"{self.path}: opened as a read-only view")

    def _vectors(self, vectors: np.ndarray, n: int) -> np.ndarray:
        arr = np.ascontiguousarray(np.asarray(vectors, dtype=np.float32).reshape(n, -1))
        if arr.shape[1] != self.dim:
            raise ValueError(f"vectors have dimension {arr.shape[1]}, the index {self.dim}")
        return arr

    def add(self, ids: np.ndarray | list[int], vectors: np.ndarray) -> int:
        """Insert or replace the vectors of ids (the last one wins for a repeated id); returns how many."""
        self._writable()
        keys = np.asarray(ids, dtype=np.int64).reshape(-1)
        if keys.size == 0:
            return 0
        arr = self._vectors(vectors, keys.size)
        # Keep the last occurrence of each id: usearch refuses duplicate keys in one call.
        rev_unique, rev_pos = np.unique(keys[::-1], return_index=True)
        if rev_unique.size != keys.size:
            pos = keys.size - 1 - rev_pos
            keys, arr = keys[pos], arr[pos]
        with self._lock:
            present = np.asarray(self._index.contains(keys), dtype=bool).reshape(-1)
            if present.any():
                self._index.remove(keys[present])
            self._index.add(keys.astype(np.uint64), arr)
            self._dirty = True
        return int(keys.size)

    def remove(self, ids: np.ndarray | list[int]) -> int:
        """Remove ids (absent ones are ignored); returns how many were present."""
        self._writable()
        keys = np.unique(np.asarray(ids, dtype=np.int64).reshape(-1))
        if keys.size == 0:
            return 0
        with self._lock:
            present = keys[np.asarray(self._index.contains(keys), dtype=bool).reshape(-1)]
            if present.size:
                self._index.remove(present)
                self._dirty = True
        return int(present.size)

    def search(self, vector: np.ndarray, k: int = 10) -> list[tuple[int, float]]:
        """The k nearest papers as (paper id, cosine similarity), best first."""
        if k <= 0:
            return []
        query = self._vectors(vector, 1)[0]
        with self._lock:
            if len(self._index) == 0:
                return []
            matches = self._index.search(query, min(k, len(self._index)))
        return [
            (int(key), float(1.0 - dist)) for key, dist in zip(matches.keys, matches.distances, strict=True)
        ]

    def search_many(self, vectors: np.ndarray, k: int = 10) -> list[list[tuple[int, float]]]:
        """search() for each row of vectors, in one multi-threaded call."""
        arr = np.asarray(vectors, dtype=np.float32)
        arr = self._vectors(arr, arr.reshape(-1, self.dim).shape[0])
        if k <= 0 or arr.shape[0] == 0:
            return [[] for _ in range(arr.shape[0])]
        with self._lock:
            if len(self._index) == 0:
                return [[] for _ in range(arr.shape[0])]
            batch = self._index.search(arr, min(k, len(self._index)))
        out: list[list[tuple[int, float]]] = []
        for row in range(arr.shape[0]):
            n = int(batch.counts[row])
            out.append(
                [
                    (int(key), float(1.0 - d))
                    for key, d in zip(batch.keys[row, :n], batch.distances[row, :n], strict=True)
                ]
            )
        return out

    def get(self, paper_id: int) -> np.ndarray | None:
        """The stored vector of paper_id as float32 (rounded to the index's dtype), or None."""
        with self._lock:
            if not self._index.contains(int(paper_id)):
                return None
            vec = self._index.get(int(paper_id), dtype=np.float32)
        return None if vec is None else np.asarray(vec, dtype=np.float32).reshape(-1)

    def ids(self) -> np.ndarray:
        """Every paper id in the index (int64)."""
        with self._lock:
            return np.asarray(self._index.keys, dtype=np.int64)

    def __contains__(self, paper_id: object) -> bool:
        if not isinstance(paper_id, int | np.integer):
            return False
        with self._lock:
            return bool(self._index.contains(int(paper_id)))

    def __len__(self) -> int:
        with self._lock:
            return len(self._index)

    @property
    def dirty(self) -> bool:
        """True when there are changes not saved yet."""
        return self._dirty

    def save(self) -> None:
        """Write the index to a temp file beside it, then rename it into place (readers never see half)."""
        self._writable()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        meta = dict(self.meta, dim=self.dim, dtype=self.dtype, count=len(self))
        with self._lock:
            try:
                self._index.save(str(tmp))
                _fsync(tmp)
                os.replace(tmp, self.path)
            finally:
                tmp.unlink(missing_ok=True)
            _write_atomic(_meta_path(self.path), json.dumps(meta, sort_keys=True))
            self.meta = meta
            self._dirty = False
            self.saved_at = time.monotonic()

    def seconds_since_save(self) -> float:
        """Seconds since this object last saved (or loaded) the file; infinite if never."""
        return time.monotonic() - self.saved_at


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        _fsync(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
