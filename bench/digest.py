"""Digest benchmark: 10,000 subscribers over the 94k real papers, sent to a real SMTP server (own process).

Scenarios (each on a fresh copy of the cached papers database, with a fresh sink):
1. full run: prepare (select) + render + SMTP for every subscriber; digests/s, duplicated/missing/uncertain.
2. crash test: the sender is a subprocess SIGKILLed at random moments (20+ times), resumed each time.
3. faults: 20% of recipients answer 451 first, 1% answer 550: all 451s delivered later, 550s bounced once.
4. unsubscribe: one-click POST through the real app stops the next digest; a tampered token changes nothing.

Usage: python bench/digest.py --data ../shared/data/arxiv-2025-94k.jsonl.gz  (`make bench-digest`)
"""

from __future__ import annotations

import argparse
import logging
import os
import random
import re
import resource
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine, insert, select
from sqlalchemy.orm import Session, sessionmaker

from paperfeed.config import Settings
from paperfeed.db.engine import make_engine, make_sessionmaker
from paperfeed.db.migrate import upgrade
from paperfeed.db.models import Author, Paper, PaperAuthor, PaperCategory
from paperfeed.digests import ledger
from paperfeed.digests.ledger_models import DigestSend
from paperfeed.digests.models import Subscription
from paperfeed.digests.periods import Period, parse_period
from paperfeed.digests.send import send_due
from paperfeed.mailsink import free_port

console = Console(width=None if sys.stdout.isatty() else 200)
HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
MSGID = re.compile(r"<digest\.([0-9W-]+)\.([0-9]+)\.[0-9a-f]+@")


# --- the SMTP sink, run as its own process --------------------------------------------------------------


def run_sink(port: int, log_path: Path, faults_path: Path | None) -> None:
    """An aiosmtpd server that logs every RCPT reply and every accepted message (one line each, flushed)."""
    import asyncio  # noqa: F401  (aiosmtpd's loop)

    from aiosmtpd.controller import Controller

    faults: dict[str, list[str]] = {}
    if faults_path is not None and faults_path.exists():
        for line in faults_path.read_text().splitlines():
            rcpt, *replies = line.split("\t")
            faults[rcpt] = replies
    log = log_path.open("a", buffering=1)
    header = re.compile(rb"^(Message-ID|List-Unsubscribe):\s*(.*?)\r?$", re.M | re.I)

    class Handler:
        async def handle_RCPT(
            self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
        ) -> str:
            queue = faults.get(address)
            reply = "250 OK"
            if queue:
                reply = queue.pop(0) if len(queue) > 1 or not queue[0].startswith("5") else queue[0]
            log.write(f"R\t{address}\t{reply[:3]}\n")
            if reply.startswith("250"):
                envelope.rcpt_tos.append(address)
            return reply

        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            head = bytes(envelope.content[:8192])
            found = {k.decode().lower(): v.decode() for k, v in header.findall(head)}
            for rcpt in envelope.rcpt_tos:
                log.write(f"D\t{rcpt}\t{found.get('message-id', '')}\t{found.get('list-unsubscribe', '')}\n")
            return "250 Message accepted"

    # Blocked before the server thread starts (it inherits the mask), so sigwait() receives them.
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGINT})
    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    signal.sigwait({signal.SIGTERM, signal.SIGINT})
    controller.stop()
    log.close()


class Sink:
    """The sink process: start, read its log, stop."""

    def __init__(self, workdir: Path, name: str, faults: dict[str, list[str]] | None = None) -> None:
        self.port = free_port()
        self.log = workdir / f"sink-{name}.log"
        self.log.unlink(missing_ok=True)
        faults_file = workdir / f"faults-{name}.tsv"
        faults_file.write_text("".join("\t".join([k, *v]) + "\n" for k, v in (faults or {}).items()))
        cmd = [sys.executable, __file__, "sink", str(self.port), str(self.log), str(faults_file)]
        self.proc = subprocess.Popen(cmd)
        for _ in range(100):
            try:
                import socket

                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("the SMTP sink did not start")

    def lines(self) -> list[list[str]]:
        return [line.rstrip("\n").split("\t") for line in self.log.read_text().splitlines() if line]

    def delivered(self) -> int:
        """Messages accepted so far (a cheap count of the log's DATA lines)."""
        return self.log.read_bytes().count(b"\nD\t") if self.log.exists() else 0

    def cpu_s(self) -> float:
        stat = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(stat[11]) + int(stat[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(30)


# --- data --------------------------------------------------------------------------------------------------


def bench_settings(db: Path, workdir: Path, port: int, **extra: object) -> Settings:
    values: dict[str, object] = {
        "database_url": f"sqlite:///{db}",
        "data_dir": workdir,
        "smtp_port": port,
        "secret_key": "bench-digest-secret",
        "base_url": "https://papers.example.org",
        "mail_from": "paperfeed <digest@papers.example.org>",
        "digest_send_backoff_base_s": 0.2,
        "digest_send_backoff_max_s": 1.0,
    }
    values.update(extra)
    return Settings(**values)  # type: ignore[arg-type]


def base_db(data: Path, cache: Path) -> Path:
    """The 94k papers in a migrated SQLite file, built once (cached under var/bench/digest/)."""
    path = cache / "papers-94k.db"
    done = cache / "papers-94k.done"
    if path.exists() and done.exists():
        return path
    from paperfeed.ingest.jsonl import JsonlSource
    from paperfeed.ingest.store import store_records

    path.unlink(missing_ok=True)
    s = bench_settings(path, cache, 25)
    engine = make_engine(s)
    upgrade(engine)
    t0 = time.perf_counter()
    report = store_records(make_sessionmaker(engine), JsonlSource(data).records(), batch_size=5000, workers=1)
    engine.dispose()
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    done.write_text(f"{report.new} papers\n")
    console.print(f"built {path} ({report.new:,} papers) in {time.perf_counter() - t0:.1f} s")
    return path


def fresh_copy(base: Path, workdir: Path, name: str) -> Path:
    target = workdir / f"{name}.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(base, target)
    return target


def listing_days(factory: sessionmaker[Session]) -> tuple[date, date]:
    """Two consecutive busy listing days near the end of the data: (main day, next day)."""
    from sqlalchemy import func

    from paperfeed.db.models import Submission

    with factory() as session:
        rows = session.execute(
            select(Submission.day, func.count()).group_by(Submission.day).order_by(Submission.day.desc())
        ).all()
    busy = [d for d, n in rows if n >= 200 and d.weekday() < 5]
    return busy[1], busy[0]


def add_subscribers(
    factory: sessionmaker[Session], n: int, period: Period, seed: int = 7, offset: int = 0
) -> list[int]:
    """n active subscribers with varied preferences drawn from the real data (seeded)."""
    rng = random.Random(seed)
    with factory() as session:
        cats = [c for c, _ in Counter(session.scalars(select(PaperCategory.category))).most_common(40)]
        period_authors = list(
            session.scalars(
                select(Author.name)
                .join(PaperAuthor, PaperAuthor.author_id == Author.id)
                .join(Paper, Paper.id == PaperAuthor.paper_id)
                .where(Paper.listing_date == period.start)
                .limit(5000)
            )
        )
        other_authors = list(session.scalars(select(Author.name).limit(20000)))
        titles = list(session.scalars(select(Paper.title).where(Paper.listing_date == period.start)))
    words = [
        w
        for w, _ in Counter(w.lower() for t in titles for w in re.findall(r"[A-Za-z]{6,}", t)).most_common(
            300
        )
    ]
    now = datetime.now(UTC)
    rows = []
    for i in range(n):
        searches = rng.sample(words, rng.choice((0, 0, 1, 2)))
        if rng.random() < 0.2 and len(words) > 2:
            searches.append(" ".join(rng.sample(words[:60], 2)))
        authors = rng.sample(period_authors, rng.choice((0, 0, 0, 1, 2))) if period_authors else []
        if rng.random() < 0.2:
            authors.append(rng.choice(other_authors))
        rows.append(
            {
                "email": f"reader{offset + i:05d}@example.org",
                "status": "active",
                "frequency": "daily" if rng.random() < 0.7 else "weekly",
                "categories": rng.sample(cats, rng.choice((0, 1, 1, 2, 3))),
                "saved_searches": searches,
                "authors": authors,
                "max_papers": rng.choice((3, 5, 10, 10, 15, 20)),
                "only_code": rng.random() < 0.2,
                "bounce_count": 0,
                "token_version": 1,
                "created_at": now,
                "confirmed_at": now,
                "updated_at": now,
            }
        )
    with factory() as session, session.begin():
        ids = session.scalars(insert(Subscription).returning(Subscription.id), rows).all()
    return list(ids)


# --- counting what arrived -----------------------------------------------------------------------------


@dataclass
class Tally:
    """What the sink received, checked against the ledger."""

    expected: int = 0  # digests the ledger says were (or may have been) sent
    received: int = 0
    duplicated: int = 0  # extra copies: same Message-ID, or same subscription + period, more than once
    missing: int = 0  # a digest that is not uncertain and never arrived
    uncertain: int = 0
    uncertain_delivered: int = 0
    bounced: int = 0
    failed: int = 0
    statuses: dict[str, int] = field(default_factory=dict)


def tally(factory: sessionmaker[Session], sink: Sink) -> Tally:
    lines = sink.lines()
    by_id = Counter(parts[2] for parts in lines if parts[0] == "D")
    by_key = Counter(m.groups() for mid in by_id.elements() if (m := MSGID.search(mid)))
    with factory() as session:
        rows = session.execute(select(DigestSend.status, DigestSend.message_id)).all()
    t = Tally(received=sum(by_id.values()))
    t.statuses = dict(Counter(status for status, _ in rows))
    t.duplicated = sum(n - 1 for n in by_id.values() if n > 1) + sum(n - 1 for n in by_key.values() if n > 1)
    for status, mid in rows:
        if status == "skipped":
            continue
        t.expected += 1
        got = by_id.get(mid, 0)
        if status == "uncertain":
            t.uncertain += 1
            t.uncertain_delivered += got > 0
        elif status == "bounced":
            t.bounced += 1
        elif status == "failed":
            t.failed += 1
        elif got == 0:
            t.missing += 1
    return t


# --- scenarios ------------------------------------------------------------------------------------------


@dataclass
class Row:
    """One line of the report."""

    scenario: str
    figures: str
    ok: bool
    tally: Tally | None = None


def _prepare_all(factory: sessionmaker[Session], s: Settings, periods: list[Period]) -> int:
    return sum(ledger.prepare(factory, settings=s, period=p).prepared for p in periods)


def _setup(
    base: Path,
    workdir: Path,
    name: str,
    n: int,
    period: Period,
    faults: dict[str, list[str]] | None = None,
    **extra: object,
) -> tuple[Sink, Settings, Engine, sessionmaker[Session], list[int]]:
    """A fresh copy of the papers, a sink process, settings, and n subscribers."""
    db = fresh_copy(base, workdir, name)
    sink = Sink(workdir, name, faults)
    s = bench_settings(db, workdir, sink.port, **extra)
    engine = make_engine(s)
    factory = make_sessionmaker(engine)
    ids = add_subscribers(factory, n, period)
    return sink, s, engine, factory, ids


def scenario_full(base: Path, workdir: Path, n: int, periods: list[Period], senders: int) -> Row:
    sink, s, engine, factory, _ids = _setup(base, workdir, "full", n, periods[0])
    cpu0 = resource.getrusage(resource.RUSAGE_SELF)
    kids0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    prepared = _prepare_all(factory, s, periods)
    t1 = time.perf_counter()
    threads = s.digest_send_concurrency
    if senders == 1:
        send_due(factory, settings=s)
    else:
        # Like `senders` workers sharing the ledger: the same total concurrency, split between processes.
        threads = max(1, s.digest_send_concurrency // senders)
        env = {**os.environ, "PAPERFEED_DIGEST_SEND_CONCURRENCY": str(threads)}
        cmd = [sys.executable, __file__, "sender", s.database_url.split("///", 1)[1], str(sink.port)]
        cmd += [",".join(p.label for p in periods), str(workdir)]
        procs = [subprocess.Popen(cmd, env=env) for _ in range(senders)]
        if any(p.wait() != 0 for p in procs):
            raise RuntimeError("a sender process failed")
    t2 = time.perf_counter()
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    kids1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    time.sleep(0.5)
    t = tally(factory, sink)
    sink_cpu = sink.cpu_s()
    sink.stop()
    engine.dispose()
    cpu = sum(
        (b.ru_utime - a.ru_utime) + (b.ru_stime - a.ru_stime) for a, b in ((cpu0, cpu1), (kids0, kids1))
    )
    total = t2 - t0
    sent = t.statuses.get("sent", 0)
    figures = (
        f"{n:,} subscribers: {prepared:,} digests ({t.statuses.get('skipped', 0)} empty, not sent); "
        f"prepare {t1 - t0:.1f} s + render and send ({senders} process(es) x {threads} threads) "
        f"{t2 - t1:.1f} s = {total:.1f} s, {sent / total:.0f} digests/s end to end; CPU: sender {cpu:.1f} s, "
        f"sink {sink_cpu:.1f} s; load average {os.getloadavg()[0]:.1f}"
    )
    ok = t.duplicated == 0 and t.missing == 0 and t.uncertain == 0 and total < 60
    return Row("1. full run", figures, ok, t)


def sender_main(db: str, port: int, periods: str, workdir: str) -> None:
    """The crash test's sender process: prepare the periods, then send everything due."""
    s = bench_settings(Path(db), Path(workdir), port)
    engine = make_engine(s)
    factory = make_sessionmaker(engine)
    chosen = [parse_period(p, "weekly" if "W" in p else "daily") for p in periods.split(",")]
    _prepare_all(factory, s, chosen)
    send_due(factory, settings=s)
    engine.dispose()


def _kill_at_random(proc: subprocess.Popen[bytes], sink: Sink, rng: random.Random, *, early: bool) -> bool:
    """SIGKILL the sender at a random moment: early (start-up, prepare) or once it is sending; False if it
    finished first."""
    if early:
        deadline = time.monotonic() + rng.uniform(0.3, 3.0)
    else:
        seen = sink.delivered()
        deadline = None
        while proc.poll() is None and deadline is None:
            time.sleep(0.02)
            if sink.delivered() > seen:  # this run is sending now
                deadline = time.monotonic() + rng.uniform(0.0, 1.0)
        if deadline is None:
            return False
    while proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    if proc.poll() is not None:
        return False
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    return True


def scenario_crash(base: Path, workdir: Path, n: int, periods: list[Period], kills: int) -> Row:
    sink, s, engine, factory, _ids = _setup(base, workdir, "crash", n, periods[0])
    rng = random.Random(2026)
    labels = ",".join(p.label for p in periods)
    cmd = [sys.executable, __file__, "sender", str(s.database_url.split("///", 1)[1]), str(sink.port)]
    cmd += [labels, str(workdir)]
    per_kill: list[int] = []
    runs = 0
    t0 = time.perf_counter()
    while True:
        runs += 1
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if len(per_kill) < kills and _kill_at_random(proc, sink, rng, early=len(per_kill) % 5 == 0):
            # What this kill left `sending`: recovery turns exactly these into uncertain.
            per_kill.append(len(ledger.recover(factory, settings=s)))
            continue
        proc.wait()
        if proc.returncode != 0:
            raise RuntimeError(f"the sender failed (exit {proc.returncode})")
        if len(per_kill) >= kills:
            break
    elapsed = time.perf_counter() - t0
    time.sleep(0.5)
    t = tally(factory, sink)
    sink.stop()
    engine.dispose()
    worst = max(per_kill, default=0)
    figures = (
        f"{n:,} subscribers, {len(per_kill)} SIGKILLs over {runs} runs ({elapsed:.0f} s); "
        f"uncertain per kill: max {worst} (concurrency {s.digest_send_concurrency}), {sum(per_kill)} in all, "
        f"{t.uncertain_delivered} of them had reached the server; {t.received:,} received of {t.expected:,}"
    )
    ok = (
        t.duplicated == 0 and t.missing == 0 and worst <= s.digest_send_concurrency and len(per_kill) >= kills
    )
    return Row("2. SIGKILL crash test", figures, ok, t)


def scenario_faults(base: Path, workdir: Path, n: int, periods: list[Period]) -> Row:
    rng = random.Random(451)
    emails = [f"reader{i:05d}@example.org" for i in range(n)]
    later = set(rng.sample(emails, n // 5))
    gone = set(rng.sample(sorted(set(emails) - later), max(1, n // 100)))
    faults = {e: ["451 4.3.0 greylisted, try again later"] for e in later}
    faults.update({e: ["550 5.1.1 no such user"] for e in gone})
    sink, s, engine, factory, _ids = _setup(
        base, workdir, "faults", n, periods[0], faults=faults, digest_send_bounce_threshold=1
    )
    t0 = time.perf_counter()
    _prepare_all(factory, s, periods)
    report = send_due(factory, settings=s, wait_retries_s=30)
    elapsed = time.perf_counter() - t0
    time.sleep(0.5)
    t = tally(factory, sink)
    lines = sink.lines()
    rcpt_550 = Counter(p[1] for p in lines if p[0] == "R" and p[2] == "550")
    delivered = Counter(p[1] for p in lines if p[0] == "D")
    with factory() as session:
        sub_status = dict(session.execute(select(Subscription.email, Subscription.status)).all())
        row_status = dict(
            session.execute(
                select(Subscription.email, DigestSend.status).join(
                    DigestSend, DigestSend.subscription_id == Subscription.id
                )
            ).all()
        )
    sink.stop()
    engine.dispose()
    later_due = [e for e in later if row_status.get(e, "skipped") != "skipped"]
    gone_due = [e for e in gone if row_status.get(e, "skipped") != "skipped"]
    later_ok = sum(1 for e in later_due if delivered[e] == 1)
    bounced = sum(1 for e in gone_due if row_status[e] == "bounced" and sub_status[e] == "bounced")
    tries = sum(rcpt_550[e] for e in gone_due)
    leaked = sum(delivered[e] for e in gone)
    figures = (
        f"451 first for {len(later):,} readers: {later_ok:,} of {len(later_due):,} due delivered on a retry "
        f"({report.retried:,} retries); 550 for {len(gone)}: {bounced} of {len(gone_due)} due bounced after "
        f"{tries} RCPT attempts in all, {leaked} delivered; {elapsed:.1f} s"
    )
    ok = later_ok == len(later_due) and bounced == tries == len(gone_due) and leaked == 0
    return Row("3. injected 451 / 550", figures, ok and t.duplicated == 0 and t.missing == 0, t)


def scenario_unsubscribe(base: Path, workdir: Path, days: tuple[date, date]) -> Row:
    from fastapi.testclient import TestClient

    from paperfeed.app import create_app

    first, second = Period.day(days[0]), Period.day(days[1])
    sink, s, engine, factory, ids = _setup(base, workdir, "unsubscribe", 40, first)
    with factory() as session, session.begin():  # daily readers without filters: everyone gets both days
        for sub in session.scalars(select(Subscription).where(Subscription.id.in_(ids))):
            sub.frequency, sub.categories, sub.only_code, sub.saved_searches = "daily", [], False, []
    _prepare_all(factory, s, [first])
    send_due(factory, settings=s)
    time.sleep(0.3)
    links = {p[1]: p[3].strip("<>") for p in sink.lines() if p[0] == "D"}
    leaver, tamperer = "reader00000@example.org", "reader00001@example.org"
    client = TestClient(create_app(s), base_url="https://papers.example.org")
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    body = b"List-Unsubscribe=One-Click"
    bad_url = links[tamperer][:-4] + ("AAAA" if not links[tamperer].endswith("AAAA") else "BBBB")
    bad = client.post(bad_url, content=body, headers=headers)
    ok = client.post(links[leaver], content=body, headers=headers)
    before = len(sink.lines())
    _prepare_all(factory, s, [second])
    send_due(factory, settings=s)
    time.sleep(0.3)
    day2 = [p[1] for p in sink.lines()[before:] if p[0] == "D"]
    sink.stop()
    engine.dispose()
    figures = (
        f"day 1: {len(links)} digests; tampered token -> HTTP {bad.status_code}, one click -> HTTP "
        f"{ok.status_code}; day 2: {len(day2)} digests, {day2.count(leaver)} to the reader who clicked, "
        f"{day2.count(tamperer)} to the reader whose token was tampered with"
    )
    passed = (bad.status_code, ok.status_code, day2.count(leaver), day2.count(tamperer)) == (400, 200, 0, 1)
    return Row("4. one-click unsubscribe", figures, passed)


# --- report ------------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared/data/arxiv-2025-94k.jsonl.gz")
    parser.add_argument("--subscribers", type=int, default=10_000)
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--senders", type=int, default=2, help="sender processes in the full run")
    parser.add_argument("--only", choices=("full", "crash", "faults", "unsubscribe"), action="append")
    args = parser.parse_args()
    # The ledger logs each uncertain digest and bounce; the scenarios count them instead.
    logging.getLogger("paperfeed.digests").setLevel(logging.ERROR)
    if not args.data.exists():
        sys.exit(f"{args.data} not found: pass --data PATH to the 94k arXiv JSONL (arxiv-2025-94k.jsonl.gz)")
    workdir = ROOT / "var/bench/digest"
    workdir.mkdir(parents=True, exist_ok=True)
    base = base_db(args.data, workdir)
    engine = make_engine(bench_settings(base, workdir, 25))
    days = listing_days(make_sessionmaker(engine))
    engine.dispose()
    # What is sent: that listing day (daily) and, as on a Monday, the last full ISO week (weekly).
    periods = [Period.day(days[0]), Period.week_of(days[0] - timedelta(days=7))]
    only = args.only or ["full", "crash", "faults", "unsubscribe"]
    console.print(
        f"periods {periods[0].label} (daily) and {periods[1].label} (weekly), {args.subscribers:,} readers"
    )
    rows = []
    for name in only:
        if name == "full":
            rows.append(scenario_full(base, workdir, args.subscribers, periods, args.senders))
        elif name == "crash":
            rows.append(scenario_crash(base, workdir, args.subscribers, periods, args.kills))
        elif name == "faults":
            rows.append(scenario_faults(base, workdir, args.subscribers, periods))
        else:
            rows.append(scenario_unsubscribe(base, workdir, days))
        console.print(f"{rows[-1].scenario}: {rows[-1].figures}", highlight=False)
    table = Table(title=f"digest benchmark ({datetime.now(UTC):%Y-%m-%d %H:%M} UTC)")
    for col in ("scenario", "figures", "duplicated", "missing", "uncertain", "verdict"):
        table.add_column(col)
    for row in rows:
        t = row.tally
        counts = [str(t.duplicated), str(t.missing), str(t.uncertain)] if t else ["", "", ""]
        table.add_row(row.scenario, row.figures, *counts, "[green]PASS[/]" if row.ok else "[red]FAIL[/]")
    console.print(table)
    sys.exit(0 if all(row.ok for row in rows) else 1)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "sink":
        run_sink(int(sys.argv[2]), Path(sys.argv[3]), Path(sys.argv[4]))
    elif len(sys.argv) > 1 and sys.argv[1] == "sender":
        sender_main(sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5])
    else:
        main()
