"""The worker's jobs: harvest, embed, index, stars, rank, digests. Each is idempotent and resumes by cursor.

`Pipeline(settings, factory)` holds what the jobs share in one worker process (the embedder and the vector
index, loaded on first use); each job is a method taking `now` and returning its counts. tasks.py registers
them on huey with a lock and a job_runs row each; a test calls them directly with a fake clock.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session, sessionmaker

from paperfeed.config import Settings

if TYPE_CHECKING:
    from paperfeed.ingest.cursors import CursorStore
    from paperfeed.ingest.http import PoliteClient
    from paperfeed.ingest.records import Item
    from paperfeed.search.embeddings import Embedder
    from paperfeed.search.vectors import VectorIndex

__all__ = ["JOBS", "HarvestError", "Pipeline", "harvest_sources"]

log = logging.getLogger(__name__)

# In pipeline order: what a day's schedule runs, and what `paperfeed status` lists.
JOBS = ("harvest", "embed", "index", "stars", "rank", "digests")


class HarvestError(RuntimeError):
    """One or more harvest sources failed (what the others brought is stored)."""


def harvest_sources(settings: Settings) -> list[str]:
    """The configured sources (`jobs_harvest_sources`, else the older `jobs_ingest_source`), checked."""
    text = settings.jobs_harvest_sources.strip() or settings.jobs_ingest_source.strip()
    sources = text.replace(",", " ").split()
    for source in sources:
        kind, _, arg = source.partition(":")
        if source == "hf" or (kind in ("oai", "rss") and arg):
            continue
        raise ValueError(
            f"unknown harvest source {source!r} (jobs_harvest_sources / jobs_ingest_source): "
            "use oai:<set>, hf or rss:<category>"
        )
    return sources


def _oai_from_name(set_spec: str) -> str:
    return f"harvest:oai-from:{set_spec}"


class Pipeline:
    """The jobs of one worker process over one database."""

    def __init__(
        self,
        settings: Settings,
        factory: sessionmaker[Session] | Callable[[], sessionmaker[Session]],
        *,
        embedder: Embedder | None = None,
    ) -> None:
        self.settings = settings
        self._factory = factory
        self._embedder = embedder
        self._index: VectorIndex | None = None
        self._lock = threading.Lock()

    @property
    def factory(self) -> sessionmaker[Session]:
        """The session factory (built on first use when a builder was given: workers may be forked)."""
        if isinstance(self._factory, sessionmaker):
            return self._factory
        with self._lock:
            if not isinstance(self._factory, sessionmaker):
                self._factory = self._factory()
            return self._factory

    @property
    def embedder(self) -> Embedder:
        """The configured embedder (its model loads on the first embed)."""
        with self._lock:
            if self._embedder is None:
                from paperfeed.search.embeddings import load_embedder

                self._embedder = load_embedder(self.settings)
            return self._embedder

    # --- harvest ---------------------------------------------------------------------------------------

    def harvest(self, now: datetime) -> dict[str, int]:
        """Every configured source in turn; a failed source is reported after the others have run."""
        from paperfeed.ingest.cursors import CursorStore
        from paperfeed.ingest.http import PoliteClient
        from paperfeed.ingest.store import store_records

        totals = {"new": 0, "updated": 0, "rejected": 0}
        failures: list[str] = []
        cursors = CursorStore(self.factory)
        with PoliteClient.from_settings(self.settings) as client:
            for source in harvest_sources(self.settings):
                try:
                    report = store_records(
                        self.factory,
                        self._items(source, client, cursors, now),
                        batch_size=self.settings.ingest_batch_size,
                    )
                except Exception as exc:  # one source down must not starve the others
                    log.warning("harvest %s failed: %s", source, exc)
                    failures.append(f"{source}: {type(exc).__name__}: {exc}")
                    continue
                log.info("harvest %s: %d new, %d updated", source, report.new, report.updated)
                totals["new"] += report.new
                totals["updated"] += report.updated
                totals["rejected"] += report.rejected
        if failures:
            raise HarvestError(f"{totals}; " + "; ".join(failures))
        return totals

    def _items(
        self, source: str, client: PoliteClient, cursors: CursorStore, now: datetime
    ) -> Iterable[Item]:
        settings = self.settings
        if source == "hf":
            from paperfeed.ingest.hf_daily import hf_daily_url, parse_daily_papers

            return list(parse_daily_papers(client.get(hf_daily_url(settings.hf_api_url, None)).content))
        kind, _, arg = source.partition(":")
        if kind == "rss":
            from paperfeed.ingest.rss import parse_arxiv_rss

            url = f"{settings.arxiv_rss_url.rstrip('/')}/{arg}"
            return list(parse_arxiv_rss(client.get(url).content))
        return self._oai_items(arg, client, cursors, now)

    def _oai_items(
        self, set_spec: str, client: PoliteClient, cursors: CursorStore, now: datetime
    ) -> Iterator[Item]:
        """Incremental OAI-PMH: from the last day harvested (inclusive: a re-read day is stored unchanged).

        Within a run the resumption token is saved after each stored page (OaiPmhSource), so a killed
        harvest resumes at its page; the `from` day moves only when the list was read to its end.
        """
        from functools import partial

        from paperfeed.ingest.oai_pmh import OaiPmhSource
        from paperfeed.ingest.records import Checkpoint

        saved = cursors.get(_oai_from_name(set_spec))
        start = saved or (now - timedelta(days=self.settings.jobs_oai_initial_days)).date().isoformat()
        source = OaiPmhSource(
            client,
            base_url=self.settings.arxiv_oai_url,
            from_date=start,
            set_spec=set_spec,
            cursors=cursors,
            cursor_name=f"harvest:oai:{set_spec}",
        )
        yield from source.records()
        newest = source.last_datestamp.isoformat() if source.last_datestamp else start
        # Only ever forward: a list read to its end covered everything from `start` on.
        yield Checkpoint(partial(cursors.set, _oai_from_name(set_spec), max(newest, start)))

    # --- embed and index -------------------------------------------------------------------------------

    def embed(self, now: datetime, *, limit: int | None = None) -> dict[str, int]:
        """Embed papers without a current vector, one committed batch at a time (at most a run's limit)."""
        from paperfeed.search.vector_store import count_pending, embed_pending

        embedded = embed_pending(
            self.factory,
            settings=self.settings,
            embedder=self.embedder,
            limit=limit or self.settings.jobs_embed_per_run,
        )
        with self.factory() as session:
            backlog = count_pending(session, model=self.embedder.name)
        return {"embedded": embedded, "backlog": backlog}

    def index(self, now: datetime) -> dict[str, int]:
        """Sync the keyword index and the vector index in data_dir with the database (what serve's
        maintainer does); both resume from cursors kept beside the indexes."""
        from paperfeed.search.keyword import keyword_dir
        from paperfeed.search.keyword_store import sync_keyword_index
        from paperfeed.search.vector_store import sync_vector_index
        from paperfeed.search.vectors import VectorIndex

        settings = self.settings
        indexed = sync_keyword_index(
            self.factory,
            keyword_dir(settings),
            title_boost=settings.search_title_boost,
            shard_docs=settings.search_shard_docs,
        )
        if self._index is None:
            from paperfeed.search.embeddings import DIM

            self._index = VectorIndex.from_settings(settings, DIM)
        added = sync_vector_index(self.factory, settings=settings, index=self._index, save_interval_s=0)
        return {"indexed": indexed, "vectors_added": added, "vectors": len(self._index)}

    # --- stars, rank, digests --------------------------------------------------------------------------

    def stars(self, now: datetime, *, sleep: Callable[[float], None] | None = None) -> dict[str, Any]:
        """Refresh GitHub stars, newest and most-voted papers' repositories first, within the rate limit."""
        from paperfeed.ranking.stars import refresh_stars

        report = refresh_stars(
            self.factory,
            settings=self.settings,
            limit=self.settings.jobs_stars_per_run,
            now=lambda: now,
            sleep=sleep,
            popular_first=True,
        )
        counts: dict[str, Any] = {
            "fetched": report.fetched,
            "not_modified": report.not_modified,
            "skipped": report.skipped,
            "failed": len(report.failed),
        }
        if report.rate_limited:
            # Not a failure: the limit is GitHub's to set; the next run continues where this one stopped.
            counts["rate_limited"] = 1
            log.info("stars: stopped early, %s", report.rate_limited)
        return counts

    def rank(self, now: datetime) -> dict[str, int]:
        """Recompute the trending scores at `now`."""
        from paperfeed.ranking.service import recompute

        return {"scores": recompute(self.factory, settings=self.settings, now=now)}

    def digests(self, now: datetime) -> dict[str, int]:
        """Prepare the digests due on `now`'s day and send every due one (the ledger makes it idempotent)."""
        from paperfeed.digests.schedule import run_digests

        run = run_digests(self.factory, settings=self.settings, day=now.date())
        return send_counts(run.send)

    def close(self) -> None:
        """Save the vector index (its unsaved tail would only be re-synced, but a clean stop keeps it)."""
        if self._index is not None and self._index.dirty:
            self._index.save()


def send_counts(report: Any) -> dict[str, int]:
    """A digest SendReport as counts."""
    if report is None:
        return {}
    return {
        "sent": report.sent,
        "retried": report.retried,
        "failed": report.failed,
        "bounced": report.bounced,
        "uncertain": report.uncertain + len(report.recovered),
        "skipped": report.skipped,
    }
