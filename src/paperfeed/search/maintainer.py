"""Keeps the search indexes in step with the database: a background thread of `serve`, or one call.

Each round: index papers changed since the last round in tantivy; embed a bounded batch of papers that have
no vector yet (when enabled); add new stored vectors to the HNSW index. Every step is idempotent and
resumes from cursors kept beside the indexes, so a crash or a restart only repeats a little work.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session, sessionmaker

from paperfeed.search.keyword import keyword_dir
from paperfeed.search.keyword_store import sync_keyword_index

if TYPE_CHECKING:
    from paperfeed.config import Settings
    from paperfeed.search.service import SearchService

__all__ = ["EMBED_PER_ROUND", "Maintainer", "RoundReport", "embeds_here", "start_for_app", "sync_once"]

log = logging.getLogger(__name__)
EMBED_PER_ROUND = 64  # bounded, so a backlog never delays the next keyword sync (or shutdown) for long


@dataclass(frozen=True, slots=True)
class RoundReport:
    """What one round did."""

    indexed: int = 0
    embedded: int = 0
    vectors_added: int = 0


def sync_once(
    settings: Settings,
    session_factory: sessionmaker[Session],
    service: SearchService | None = None,
    *,
    embed: bool = False,
) -> RoundReport:
    """One round of syncing; `service` (when given) gets its vectors updated and its searcher refreshed."""
    indexed = sync_keyword_index(
        session_factory,
        keyword_dir(settings),
        title_boost=settings.search_title_boost,
        shard_docs=settings.search_shard_docs,
    )
    embedded = added = 0
    if service is not None and service.vector_index is not None:
        from paperfeed.search.vector_store import embed_pending, sync_vector_index

        if embed and service.embedder is not None:
            embedded = embed_pending(
                session_factory, settings=settings, embedder=service.embedder, limit=EMBED_PER_ROUND
            )
        added = sync_vector_index(session_factory, settings=settings, index=service.vector_index)
    if service is not None:
        service.keyword.refresh(force=True)
    return RoundReport(indexed, embedded, added)


def embeds_here(settings: Settings) -> bool:
    """Whether serve's maintainer embeds new papers: not when the worker does it (embed_in = worker)."""
    return settings.search_embed_in_background and settings.embed_in == "serve"


class Maintainer:
    """A daemon thread running sync_once every settings.search_poll_s seconds until stop()."""

    def __init__(self, settings: Settings, session_factory: sessionmaker[Session], service: SearchService):
        self.settings = settings
        self.session_factory = session_factory
        self.service = service
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.rounds = 0
        self.last_error: str | None = None

    def start(self) -> None:
        """Start the thread (a second call does nothing)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="paperfeed-search-sync", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Ask the thread to stop after its current step, and wait for it."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.is_set():
            report = RoundReport()
            try:
                report = sync_once(
                    self.settings,
                    self.session_factory,
                    self.service,
                    embed=embeds_here(self.settings),
                )
                self.last_error = None
            except Exception as exc:  # a failed round must not kill the thread; the next one retries
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.exception("search sync failed")
            self.rounds += 1
            # A full embedding batch means more are waiting: go again at once instead of sleeping.
            if report.embedded < EMBED_PER_ROUND:
                if report.embedded:
                    _release_batch_session(self.service)  # the backlog is done: free its memory
                self._stop.wait(self.settings.search_poll_s)


def _release_batch_session(service: SearchService) -> None:
    release = getattr(service.embedder, "release_batch_session", None)
    if release is not None:
        release()


def start_for_app(
    settings: Settings, session_factory: sessionmaker[Session], service: SearchService
) -> Maintainer | None:
    """Start the background maintainer when settings.search_maintainer is on (off in tests by default)."""
    if not settings.search_maintainer:
        return None
    maintainer = Maintainer(settings, session_factory, service)
    maintainer.start()
    return maintainer
