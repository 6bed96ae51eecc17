"""What runs when: the periods due on a day, and one digest run (prepare what is due, send what is due).

The periodic digest job calls `run_digests` several times in its window (`jobs_digest_cron`); every call is
idempotent: periods already prepared are not selected again, and only claimable rows (new, or retries that
fell due) are sent. A crash between two calls loses nothing and sends nothing twice.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy.orm import Session, sessionmaker

from paperfeed.config import Settings
from paperfeed.digests import ledger
from paperfeed.digests.models import FREQUENCIES
from paperfeed.digests.periods import Period, due, period_for_send_day
from paperfeed.digests.prepare import PrepareReport
from paperfeed.digests.send import SendReport, send_due

log = logging.getLogger(__name__)


def due_periods(day: date) -> list[Period]:
    """The periods whose digests go out on `day`: daily on weekdays, weekly (the last ISO week) on Mondays."""
    return [period_for_send_day(freq, day) for freq in FREQUENCIES if due(freq, day)]


@dataclass
class DigestRun:
    """One digest run: what was prepared per period, then what the sender did."""

    prepared: dict[str, PrepareReport] = field(default_factory=dict)
    send: SendReport | None = None


def run_digests(
    factory: sessionmaker[Session],
    *,
    settings: Settings,
    day: date,
    periods: list[Period] | None = None,
    wait_retries_s: float = 0.0,
) -> DigestRun:
    """Prepare the periods due on `day` (or those given), then send every due ledger row, retries included."""
    run = DigestRun()
    for period in due_periods(day) if periods is None else periods:
        run.prepared[period.label] = ledger.prepare(factory, settings=settings, period=period)
    run.send = send_due(factory, settings=settings, wait_retries_s=wait_retries_s)
    s = run.send
    log.info(
        "digests for %s: sent %d, retry %d, failed %d, bounced %d, uncertain %d (+%d recovered)",
        day, s.sent, s.retried, s.failed, s.bounced, s.uncertain, len(s.recovered),
    )  # fmt: skip
    return run
