"""Test data for the digest sender: real papers listed on chosen days, and confirmed subscribers."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from email.message import EmailMessage

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from paperfeed.config import Settings
from paperfeed.db.engine import session_scope
from paperfeed.digests.ledger_models import DigestSend
from paperfeed.digests.models import Subscription
from paperfeed.ingest.records import PaperRecord
from paperfeed.ingest.store import store_records
from paperfeed.mailsink import Received, SmtpSink

DAY1 = date(2026, 11, 26)
DAY2 = date(2026, 11, 27)


def add_papers(factory: sessionmaker[Session], day: date, n: int, *, start: int = 0) -> None:
    """n papers listed on `day` (arXiv ids 2611.<start..>), cs.CL/cs.LG, some with upvotes."""
    records = [
        PaperRecord(
            title=f"Paper {start + i} about retrieval models",
            abstract=f"We study retrieval number {start + i}. Code at https://github.com/lab/p{start + i}.",
            source="jsonl",
            arxiv_id=f"2611.{start + i:05d}",
            version=1,
            authors=["Ada Lovelace", f"Author {start + i}"],
            categories=["cs.CL" if i % 2 else "cs.LG"],
            listing_date=day,
            upvotes=100 - i,
        )
        for i in range(n)
    ]
    store_records(factory, records)


def add_subscribers(
    factory: sessionmaker[Session],
    emails: Sequence[str],
    *,
    frequency: str = "daily",
    max_papers: int = 3,
    status: str = "active",
) -> list[int]:
    """Confirmed subscriptions (status active unless told), returned by id."""
    now = datetime.now(UTC)
    with session_scope(factory) as session:
        subs = [
            Subscription(
                email=e,
                status=status,
                frequency=frequency,
                categories=[],
                saved_searches=[],
                authors=[],
                max_papers=max_papers,
                only_code=False,
                bounce_count=0,
                token_version=1,
                created_at=now,
                confirmed_at=now,
                updated_at=now,
            )
            for e in emails
        ]
        session.add_all(subs)
        session.flush()
        return [s.id for s in subs]


def sink_settings(settings: Settings, sink: SmtpSink, **extra: object) -> Settings:
    """Settings that send to the sink, with fast retries and a fixed secret."""
    update: dict[str, object] = {
        "smtp_port": sink.port,
        "secret_key": "test-secret-key-for-digests",
        "base_url": "https://papers.example.org",
        "mail_from": "paperfeed <digest@papers.example.org>",
        "digest_send_backoff_base_s": 0.05,
        "digest_send_backoff_max_s": 0.2,
        "digest_send_concurrency": 3,
    }
    update.update(extra)
    return settings.model_copy(update=update)


def ledger_rows(factory: sessionmaker[Session]) -> list[DigestSend]:
    """Every ledger row, by id."""
    with factory() as session:
        return list(session.scalars(select(DigestSend).order_by(DigestSend.id)))


def by_recipient(messages: Sequence[Received]) -> dict[str, list[EmailMessage]]:
    """Received messages grouped by envelope recipient."""
    out: dict[str, list[EmailMessage]] = {}
    for m in messages:
        assert len(m.rcpt_tos) == 1, "one recipient per message, never a list"
        out.setdefault(m.rcpt_tos[0], []).append(m.message)
    return out
