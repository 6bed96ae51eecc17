"""Metrics read from the database at scrape time: the truth every node and the worker share.

Counters kept in one process (requests, search latency) are in http/observe.py; what the worker does
(ingest, embeddings, stars, digests) happens in another process, so it is counted from the rows it leaves.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from paperfeed.community.models import Comment, Vote
from paperfeed.db.models import CodeLinkRow, Paper
from paperfeed.digests.ledger_models import DigestSend
from paperfeed.jobs.models import JobRun
from paperfeed.search.models import PaperVector
from paperfeed.search.vector_store import count_pending
from paperfeed.timeutil import as_utc


class DatabaseCollector(Collector):
    """Papers by source, vectors, embed backlog, star lookups, votes, comments, ledger rows by status."""

    def __init__(self, factory: sessionmaker[Session]) -> None:
        self.factory = factory

    def collect(self) -> Iterator[GaugeMetricFamily]:
        """Query the database (a handful of COUNTs) and yield the families."""
        with self.factory() as session:
            papers = GaugeMetricFamily(
                "paperfeed_papers", "Papers stored, by ingest source.", labels=["source"]
            )
            for source, n in session.execute(select(Paper.source, func.count()).group_by(Paper.source)):
                papers.add_metric([str(source)], int(n))
            yield papers
            yield GaugeMetricFamily(
                "paperfeed_vectors", "Stored paper embeddings.", value=_count(session, PaperVector)
            )
            yield GaugeMetricFamily(
                "paperfeed_embed_backlog",
                "Papers waiting for a current embedding.",
                value=count_pending(session),
            )
            starred = session.scalar(
                select(func.count()).select_from(CodeLinkRow).where(CodeLinkRow.stars.is_not(None))
            )
            yield GaugeMetricFamily(
                "paperfeed_code_links_with_stars",
                "Code links whose GitHub stars were looked up.",
                value=starred or 0,
            )
            yield GaugeMetricFamily(
                "paperfeed_votes", "Upvotes by paperfeed users.", value=_count(session, Vote)
            )
            yield GaugeMetricFamily(
                "paperfeed_comments", "Comments (all states).", value=_count(session, Comment)
            )
            ledger = GaugeMetricFamily(
                "paperfeed_digest_sends", "Digest ledger rows, by state.", labels=["status"]
            )
            for status, n in session.execute(
                select(DigestSend.status, func.count()).group_by(DigestSend.status)
            ):
                ledger.add_metric([str(status)], int(n))
            yield ledger
            yield from _jobs(session)


def _jobs(session: Session) -> Iterator[GaugeMetricFamily]:
    """The worker's recorded runs by job and result (failures show here), and each job's last success."""
    runs = GaugeMetricFamily(
        "paperfeed_job_runs", "Recorded worker job runs, by job and result.", labels=["job", "result"]
    )
    for job, result, n in session.execute(
        select(JobRun.job, JobRun.result, func.count()).group_by(JobRun.job, JobRun.result)
    ):
        runs.add_metric([str(job), str(result)], int(n))
    yield runs
    last = GaugeMetricFamily(
        "paperfeed_job_last_success_timestamp_seconds",
        "When each worker job last finished successfully (Unix time).",
        labels=["job"],
    )
    for job, finished in session.execute(
        select(JobRun.job, func.max(JobRun.finished_at)).where(JobRun.result == "ok").group_by(JobRun.job)
    ):
        if finished is not None:
            last.add_metric([str(job)], as_utc(finished).timestamp())
    yield last


def _count(session: Session, model: type) -> int:
    return int(session.scalar(select(func.count()).select_from(model)) or 0)
