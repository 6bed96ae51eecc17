"""Stored embeddings: embed new or changed papers (resumable), and keep the HNSW index in sync with them."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np
from sqlalchemy import func, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from paperfeed.db.engine import session_scope
from paperfeed.db.models import Paper
from paperfeed.search.embeddings import MODEL_NAME, Embedder, paper_text
from paperfeed.search.models import PaperVector
from paperfeed.search.vectors import VectorIndex, default_index_path
from paperfeed.timeutil import as_utc

if TYPE_CHECKING:
    from paperfeed.config import Settings

Progress = Callable[[int], None]
# Rows whose created_at lies this far before the index cursor are looked at again on every sync: a slow
# transaction can commit a row stamped before a cursor another sync already advanced past.
SYNC_OVERLAP = timedelta(minutes=10)
_SYNC_CHUNK = 10_000


def text_hash(text: str) -> str:
    """Hash of the exact text embedded (32 hex chars)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def encode_vector(vec: np.ndarray) -> bytes:
    """float32 vector -> little-endian float16 bytes (the stored form)."""
    return np.asarray(vec, dtype="<f2").tobytes()


def decode_vector(blob: bytes) -> np.ndarray:
    """Stored bytes -> float32 vector."""
    return np.frombuffer(blob, dtype="<f2").astype(np.float32)


def _stale(model: str) -> Any:
    return or_(
        PaperVector.paper_id.is_(None),
        PaperVector.model != model,
        PaperVector.paper_hash != Paper.content_hash,
    )


def count_vectors(session: Session, *, model: str = MODEL_NAME) -> int:
    """Stored vectors of the model."""
    return int(
        session.scalar(select(func.count()).select_from(PaperVector).where(PaperVector.model == model)) or 0
    )


def count_pending(session: Session, *, model: str = MODEL_NAME) -> int:
    """Papers with no vector of the model yet, or changed since they were embedded."""
    query = (
        select(func.count())
        .select_from(Paper)
        .outerjoin(PaperVector, PaperVector.paper_id == Paper.id)
        .where(_stale(model))
    )
    return int(session.scalar(query) or 0)


def vector_for(session: Session, paper_id: int, *, model: str = MODEL_NAME) -> np.ndarray | None:
    """The stored vector of a paper (float32), or None when it has none of this model."""
    blob = session.scalar(
        select(PaperVector.vector).where(PaperVector.paper_id == paper_id, PaperVector.model == model)
    )
    return None if blob is None else decode_vector(blob)


def _upsert(session: Session, rows: list[dict[str, Any]], columns: Sequence[str]) -> None:
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(PaperVector)
    stmt = stmt.on_conflict_do_update(
        index_elements=[PaperVector.paper_id], set_={c: stmt.excluded[c] for c in columns}
    )
    session.execute(stmt, rows)


def embed_pending(
    session_factory: sessionmaker[Session],
    *,
    settings: Settings,
    embedder: Embedder,
    batch_size: int | None = None,
    limit: int | None = None,
    progress: Progress | None = None,
) -> int:
    """Embed papers with no vector or a stale one; one transaction per batch. Returns papers embedded.

    Resumable and idempotent: a crash loses at most the batch in flight, and a re-run embeds only what is
    still missing. The model runs outside any transaction, so SQLite writers are not blocked meanwhile.
    progress(n) is called after each committed batch with the number of papers it embedded.
    """
    size = batch_size or settings.embed_commit_batch
    done = 0
    last_id = 0
    while limit is None or done < limit:
        # Scan by id: a paper that fails (deleted meanwhile) cannot make the loop spin.
        with session_factory() as session:
            rows = session.execute(
                select(
                    Paper.id,
                    Paper.title,
                    Paper.abstract,
                    Paper.content_hash,
                    PaperVector.model,
                    PaperVector.content_hash,
                )
                .outerjoin(PaperVector, PaperVector.paper_id == Paper.id)
                .where(Paper.id > last_id, _stale(embedder.name))
                .order_by(Paper.id)
                .limit(size if limit is None else min(size, limit - done))
            ).all()
        if not rows:
            break
        last_id = rows[-1][0]
        texts: list[str] = []
        fresh: list[dict[str, Any]] = []  # changed paper, same text: only the paper hash moves
        todo: list[dict[str, Any]] = []
        for pid, title, abstract, paper_hash, model, old_hash in rows:
            text = paper_text(title, abstract)
            h = text_hash(text)
            if model == embedder.name and old_hash == h:
                fresh.append({"paper_id": pid, "paper_hash": paper_hash})
            else:
                texts.append(text)
                todo.append({"paper_id": pid, "content_hash": h, "paper_hash": paper_hash})
        vectors = embedder.embed(texts) if texts else np.zeros((0, embedder.dim), dtype=np.float32)
        now = datetime.now(UTC)
        with session_scope(session_factory) as session:
            ids = [r["paper_id"] for r in todo] + [r["paper_id"] for r in fresh]
            alive = set(session.scalars(select(Paper.id).where(Paper.id.in_(ids))))
            rows_out = [
                dict(row, model=embedder.name, vector=encode_vector(vec), created_at=now)
                for row, vec in zip(todo, vectors, strict=True)
                if row["paper_id"] in alive
            ]
            if rows_out:
                _upsert(session, rows_out, ("model", "vector", "content_hash", "paper_hash", "created_at"))
            for row in fresh:
                if row["paper_id"] in alive:
                    session.query(PaperVector).filter(PaperVector.paper_id == row["paper_id"]).update(
                        {"paper_hash": row["paper_hash"]}, synchronize_session=False
                    )
        done += len(rows_out)
        if progress is not None:
            progress(len(rows_out))
    return done


def _db_time(session: Session, value: datetime) -> datetime:
    # SQLite keeps DateTime as naive text in UTC; PostgreSQL compares aware timestamps.
    if session.get_bind().dialect.name == "sqlite":
        return value.astimezone(UTC).replace(tzinfo=None)
    return value


def _changed(index: VectorIndex, ids: np.ndarray, vectors: np.ndarray) -> np.ndarray:
    """Mask of rows the index lacks or holds with a different vector."""
    out = np.ones(len(ids), dtype=bool)
    tol = 0.9999 if index.dtype == "f16" else 0.995  # i8 rounding alone moves a cosine by ~1e-3
    for i, pid in enumerate(ids):
        have = index.get(int(pid))
        if have is not None:
            denom = float(np.linalg.norm(have) * np.linalg.norm(vectors[i])) or 1.0
            out[i] = float(have @ vectors[i]) / denom < tol
    return out


def sync_vector_index(
    session_factory: sessionmaker[Session],
    *,
    settings: Settings,
    index: VectorIndex,
    model: str = MODEL_NAME,
    progress: Progress | None = None,
    save: bool = True,
    save_interval_s: float = 60.0,
) -> int:
    """Add stored vectors newer than the index's cursor, drop ids gone from the DB; returns how many added.

    The cursor (newest created_at seen) lives in the index's sidecar; the index is saved when it changed
    and its last save is at least save_interval_s old (call index.save() at shutdown to keep the rest).
    """
    if index.meta.get("model") not in (None, model):
        index.remove(index.ids())  # another model's vectors are not comparable: start over
        index.meta = {"model": model}
    raw = index.meta.get("cursor")
    cursor = as_utc(datetime.fromisoformat(raw)) - SYNC_OVERLAP if raw else None
    newest = as_utc(datetime.fromisoformat(raw)) if raw else None
    added = 0
    full = len(index) == 0
    after: tuple[datetime, int] | None = None
    with session_factory() as session:
        while True:
            query = select(PaperVector.paper_id, PaperVector.vector, PaperVector.created_at).where(
                PaperVector.model == model
            )
            if cursor is not None:
                query = query.where(PaperVector.created_at >= _db_time(session, cursor))
            if after is not None:
                at = _db_time(session, after[0])
                query = query.where(
                    or_(
                        PaperVector.created_at > at,
                        (PaperVector.created_at == at) & (PaperVector.paper_id > after[1]),
                    )
                )
            rows = session.execute(
                query.order_by(PaperVector.created_at, PaperVector.paper_id).limit(_SYNC_CHUNK)
            ).all()
            if not rows:
                break
            ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
            vecs = np.stack([decode_vector(r[1]) for r in rows])
            # A first (or rebuilding) sync has nothing to compare against: skip the per-id check.
            mask = np.ones(len(rows), dtype=bool) if full else _changed(index, ids, vecs)
            if mask.any():
                added += index.add(ids[mask], vecs[mask])
            last = as_utc(rows[-1][2])
            after = (last, int(rows[-1][0]))
            newest = last if newest is None or last > newest else newest
            if progress is not None:
                progress(len(rows))
        stored = count_vectors(session, model=model)
        if len(index) != stored:
            # Papers deleted (their vectors cascade away) or vectors of another model: drop them.
            keep = np.fromiter(
                session.scalars(select(PaperVector.paper_id).where(PaperVector.model == model)),
                dtype=np.int64,
            )
            gone = np.setdiff1d(index.ids(), keep)
            if gone.size:
                index.remove(gone)
    if newest is not None:
        index.meta["cursor"] = newest.isoformat()
    index.meta["model"] = model
    # At 1M papers the file is ~1 GB: a sync every few seconds must not rewrite it every time. The DB is
    # the truth, so changes not saved yet are only re-synced (from the older saved cursor) after a crash.
    changed = index.dirty or index.meta.get("cursor") != raw
    if save and changed and index.seconds_since_save() >= save_interval_s:
        index.save()
    return added


def rebuild_vector_index(
    session_factory: sessionmaker[Session],
    *,
    settings: Settings,
    dim: int = 384,
    model: str = MODEL_NAME,
    progress: Progress | None = None,
) -> VectorIndex:
    """Build a fresh index from every stored vector and atomically replace the file."""
    path = default_index_path(settings)
    tmp_path = path.with_name(path.name + ".rebuild")
    tmp_path.unlink(missing_ok=True)
    fresh = VectorIndex.open(
        tmp_path,
        dim,
        dtype=settings.vector_dtype,
        connectivity=settings.vector_connectivity,
        expansion_add=settings.vector_expansion_add,
        expansion_search=settings.vector_expansion_search,
    )
    fresh.meta = {"model": model}
    sync_vector_index(
        session_factory, settings=settings, index=fresh, model=model, progress=progress, save=False
    )
    fresh.path = path  # save() writes a temp file beside path, then renames it over the old index
    fresh.save()
    return fresh
