"""The sender: claim due ledger rows, render each from its stored papers, deliver over pooled SMTP, record.

At most `digest_send_concurrency` rows are `sending` at any moment (one per thread), so a crash leaves at most
that many `uncertain` digests. One coordinating thread does every ledger write; worker threads render and
talk SMTP.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from email.message import EmailMessage

from sqlalchemy.orm import Session, sessionmaker

from paperfeed.config import Settings
from paperfeed.digests import ledger
from paperfeed.digests.for_you import is_for_you, linked_readers
from paperfeed.digests.ledger import Claim, LedgerRow, Result
from paperfeed.digests.mailer import SmtpPool
from paperfeed.digests.models import Subscription
from paperfeed.digests.periods import parse_period
from paperfeed.digests.select import DigestPaper, Pick, load_papers

log = logging.getLogger(__name__)


@dataclass
class SendReport:
    """What one run of the sender did."""

    sent: int = 0
    retried: int = 0  # 4xx / network errors this run (each will be tried again, up to the cap)
    failed: int = 0  # gave up after the last allowed attempt
    bounced: int = 0
    uncertain: int = 0  # no reply after the end of DATA this run (recovered rows are listed apart)
    skipped: int = 0  # unsubscribed between prepare and send
    recovered: list[LedgerRow] = field(default_factory=list)
    waiting: int = 0  # rows left for a later retry
    seconds: float = 0.0
    connections: int = 0

    def add(self, outcome: str, *, final_failure: bool) -> None:
        """Count one recorded result."""
        if outcome == "sent":
            self.sent += 1
        elif outcome == "retry" and final_failure:
            self.failed += 1
        elif outcome == "retry":
            self.retried += 1
        elif outcome == "bounce":
            self.bounced += 1
        elif outcome == "uncertain":
            self.uncertain += 1
        else:
            self.skipped += 1


class ClaimRenderer:
    """Renders claimed rows from their stored papers; papers are loaded once per run and shared by threads."""

    def __init__(self, settings: Settings) -> None:
        from paperfeed.digests.render import DigestRenderer

        self.settings = settings
        self.renderer = DigestRenderer(settings)
        self._papers: dict[int, DigestPaper] = {}
        self._raters: dict[str, int | None] = {}
        self._lock = threading.Lock()

    def __call__(self, factory: sessionmaker[Session], claim: Claim) -> tuple[str, EmailMessage] | None:
        """(recipient, message) of a claimed row; None when it is no longer an active subscription."""
        if claim.subscription is None:  # a claim from claim(), not settle(): read what it needs
            with factory() as session:
                sub_row = session.get(Subscription, claim.subscription_id)
                if sub_row is None:
                    return None
                session.expunge(sub_row)
                sub = sub_row
                stored = ledger.stored_picks(session, claim.id)
        else:
            sub = Subscription(**claim.subscription)  # transient: never added to a session
            stored = list(claim.picks)
        if sub.status != "active":
            return None
        picks = [Pick(pid, reason) for pid, reason in stored]
        with self._lock:
            missing = [p.paper_id for p in picks if p.paper_id not in self._papers]
        if missing:
            with factory() as session:
                loaded = load_papers(session, missing)
            with self._lock:
                if len(self._papers) > 200_000:  # bounded for a long-lived worker
                    self._papers.clear()
                self._papers.update(loaded)
        with self._lock:
            papers = {p.paper_id: self._papers[p.paper_id] for p in picks if p.paper_id in self._papers}
        period = parse_period(claim.period, claim.frequency)
        rater = self._rater(factory, sub.email) if any(is_for_you(p.reason) for p in picks) else None
        message = self.renderer.digest(
            papers, subscription=sub, picks=picks, period=period, message_id=claim.message_id, rater=rater
        )
        return sub.email, message

    def _rater(self, factory: sessionmaker[Session], email: str) -> int | None:
        """The account whose For-you section this address gets (rating links rate for it), cached per run."""
        key = email.lower()
        with self._lock:
            if key in self._raters:
                return self._raters[key]
        with factory() as session:
            found = linked_readers(session, [key]).get(key)
        with self._lock:
            if len(self._raters) > 200_000:
                self._raters.clear()
            self._raters[key] = found
        return found


def send_due(
    factory: sessionmaker[Session],
    *,
    settings: Settings,
    period: str | None = None,
    wait_retries_s: float = 0.0,
    stop: threading.Event | None = None,
    on_result: Callable[[Result], None] | None = None,
) -> SendReport:
    """Recover crashed rows, then send every due row (of one period label, or all) until none is left.

    With wait_retries_s > 0 the run also waits for retries that fall due within that many seconds.
    """
    started = time.monotonic()
    report = SendReport(recovered=ledger.recover(factory, settings=settings))
    worker = ledger.worker_id()
    size = settings.digest_send_concurrency
    pool = SmtpPool(settings, size, max_messages=settings.smtp_pool_max_messages)
    render = ClaimRenderer(settings)

    def deliver(claim: Claim) -> Result:
        try:
            rendered = render(factory, claim)
            if rendered is None:
                return Result(claim, "skipped", "not an active subscription any more")
            recipient, message = rendered
            outcome = pool.send(message, recipient)
            return Result(claim, outcome.outcome, outcome.reply)
        except Exception as exc:  # nothing went out (the SMTP part never raises): try again later
            log.exception("digest %s could not be rendered", claim.message_id)
            return Result(claim, "retry", f"{type(exc).__name__}: {exc}"[:500])

    inflight: dict[Future[Result], Claim] = {}
    results: list[Result] = []
    last = settings.digest_send_max_attempts
    refill = max(1, size // 2)
    # The coordinator's database calls release and retake the GIL many times while the sending threads
    # render (CPU-bound); at the default 5 ms switch interval it queues behind them on every call.
    switch = sys.getswitchinterval()
    sys.setswitchinterval(min(switch, 0.0005))
    try:
        with ThreadPoolExecutor(max_workers=size, thread_name_prefix="digest-send") as executor:
            while True:
                stopping = stop is not None and stop.is_set()
                want = 0 if stopping else size - len(inflight)
                # Settle once half the slots are free (or nothing is in flight): each transaction then
                # records and claims several rows, and the threads keep at least half the slots busy.
                if (results or want) and (want >= refill or not inflight or stopping):
                    # Finished rows are recorded and free slots claimed in one transaction: one commit.
                    claims = ledger.settle(
                        factory, results, settings=settings, worker=worker, limit=want, period=period
                    )
                    for res in results:
                        report.add(res.outcome, final_failure=res.claim.attempts >= last)
                        if on_result is not None:
                            on_result(res)
                    results = []
                    for c in claims:
                        inflight[executor.submit(deliver, c)] = c
                if not inflight:
                    if stopping or not _wait_for_retry(factory, period, wait_retries_s):
                        break
                    continue
                done, _ = wait(list(inflight), return_when=FIRST_COMPLETED)
                for f in done:
                    del inflight[f]
                    results.append(f.result())
    finally:
        sys.setswitchinterval(switch)
        pool.close()
    report.connections = pool.connections_opened
    report.waiting = ledger.counts(factory, period=period).get("retry", 0)
    report.seconds = time.monotonic() - started
    return report


def _wait_for_retry(factory: sessionmaker[Session], period: str | None, wait_s: float) -> bool:
    """Sleep (a second at most) towards the next retry when it falls due within wait_s; False: stop now."""
    if wait_s <= 0:
        return False
    nxt = ledger.next_due(factory, period=period)
    if nxt is None:
        return False
    delay = (nxt - ledger.utcnow()).total_seconds()
    if delay > wait_s:
        return False
    time.sleep(min(max(delay, 0.0), 1.0))
    return True
