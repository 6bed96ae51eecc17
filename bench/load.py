"""Load and faults (`make bench-load`): Locust against `make cluster`'s topology on the 94k papers.

1. Ramp: Locust (headless, one process, --csv) at 1 task/s per user, in steps of more users, until a step's
   p99 passes 250 ms or a 5xx appears; the highest rate held, with ONE web node and with TWO.
2. Faults during a steady run at half the two-node rate: kill -9 of a web node (restarted after 5 s), kill -9
   of the worker mid-digest (to a loopback SMTP sink; restarted, the digest re-enqueued as the next cron tick
   would), a PostgreSQL restart. Errors seen by clients, time to recover, and nothing lost: every acknowledged
   vote, comment and collection save stored, no recipient mailed twice.

Usage: python bench/load.py --data ../shared/data/arxiv-2025-94k.jsonl.gz [--smoke]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from datetime import date
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select, update

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT / "tools"))

from cluster import Cluster  # noqa: E402

import load_setup as ls  # noqa: E402
from load_stats import (  # noqa: E402
    Step,
    acknowledged,
    duplicates,
    held_step,
    keep_ramping,
    parse_failures,
    parse_stats,
    read_events,
    window,
)
from paperfeed.config import Settings  # noqa: E402

WORK = ROOT / "var" / "bench" / "load"
EVENTS = [WORK / "events"]  # this invocation's event folder (set in main)


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def loadavg() -> str:
    one, five, fifteen = Path("/proc/loadavg").read_text().split()[:3]
    return f"{one} {five} {fifteen}"


class LoadCluster(Cluster):
    """make cluster's topology, plus restarting a killed process as a supervisor would."""

    def restart(self, name: str) -> None:
        """Start a process again under its name (web1, web2 or worker), same settings as at start."""
        if name == "worker":
            self._spawn("worker", ["worker"])
        else:
            i = int(name[3:]) - 1
            self._spawn(name, ["serve", "--port", str(self.ports[i])], PAPERFEED_SEARCH_MAINTAINER="true")

    def wait_ready(self, node: int, timeout_s: float = 300.0) -> float:
        """Poll /readyz until 200; returns the monotonic time it answered."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.url(node) + "/readyz", timeout=2).status_code == 200:
                    return time.monotonic()
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"node {node + 1} not ready after {timeout_s} s")


class Locust:
    """One headless Locust process writing <name>_stats.csv / _failures.csv and its event log."""

    def __init__(self, name: str, hosts: list[str], users: int, seconds: int, fixture: Path) -> None:
        self.prefix = WORK / "csv" / name
        self.prefix.parent.mkdir(parents=True, exist_ok=True)
        self.events = EVENTS[0] / name
        shutil.rmtree(self.events, ignore_errors=True)
        env = {
            **os.environ,
            "LOAD_HOSTS": ",".join(hosts),
            "LOAD_FIXTURE": str(fixture),
            "LOAD_EVENTS": str(self.events),
        }
        cmd = [
            sys.executable, "-m", "locust", "-f", str(HERE / "locustfile.py"), "--headless",
            "-u", str(users), "-r", str(max(1, users // 2)), "-t", f"{seconds}s", "--reset-stats",
            "--csv", str(self.prefix), "--only-summary", "--stop-timeout", "5", "--exit-code-on-error", "0",
        ]  # fmt: skip
        self.out = (WORK / "csv" / f"{name}.log").open("wb")
        self.proc = subprocess.Popen(cmd, env=env, stdout=self.out, stderr=subprocess.STDOUT)

    def wait(self) -> None:
        self.proc.wait()
        self.out.close()

    def step(self, users: int) -> Step:
        figures = parse_stats(Path(f"{self.prefix}_stats.csv").read_text())
        server, other = parse_failures(Path(f"{self.prefix}_failures.csv").read_text())
        return Step(
            users=users,
            requests=int(figures["requests"]),
            failures=int(figures["failures"]),
            rps=figures["rps"],
            p50_ms=figures["p50_ms"],
            p99_ms=figures["p99_ms"],
            server_errors=server,
            errors=other,
        )

    def read_events(self) -> list[dict[str, object]]:
        lines: list[str] = []
        for f in sorted(self.events.glob("*.jsonl")):
            lines.extend(f.read_text().splitlines())
        return read_events(lines)


def ramp(label: str, hosts: list[str], fixture: Path, steps: list[int], seconds: int) -> list[Step]:
    done: list[Step] = []
    for users in steps:
        run = Locust(f"ramp-{label}-{users}", hosts, users, seconds, fixture)
        run.wait()
        step = run.step(users)
        done.append(step)
        log(
            f"{label}: {users} users -> {step.rps:.1f} req/s, p50 {step.p50_ms:.0f} ms,"
            f" p99 {step.p99_ms:.0f} ms, 5xx {step.server_errors},"
            f" other errors {sum(step.errors.values())} (load {loadavg()})"
        )
        if not keep_ramping(done):
            break
    return done


# --- faults ---------------------------------------------------------------------------------------------


def fault_web(cluster: LoadCluster, run: Locust, settle_s: float) -> dict[str, Any]:
    time.sleep(settle_s)
    t0, m0 = time.time(), time.monotonic()
    cluster.kill("web1")
    time.sleep(5)  # a supervisor's restart delay
    m1 = time.monotonic()
    cluster.restart("web1")
    ready = cluster.wait_ready(0)
    t_ready = time.time()
    time.sleep(settle_s)
    run.wait()
    ev = run.read_events()
    w = window(ev, t0)
    return {
        "fault": "kill -9 web node 1 (restarted after 5 s)",
        "errors": w.describe(),
        "recover_s": round(ready - m0, 1),
        "startup_s": round(ready - m1, 1),
        "errors_after_ready": window(ev, t_ready).error_count,
        "events": ev,
    }


def fault_pg(pg: ls.Postgres, run: Locust, settle_s: float) -> dict[str, Any]:
    time.sleep(settle_s)
    t0 = time.time()
    took = pg.restart()
    time.sleep(settle_s)
    run.wait()
    ev = run.read_events()
    w = window(ev, t0)
    recovered = max(took, w.last_error_s or 0.0)
    return {
        "fault": "PostgreSQL restart (pg_ctl restart, fast)",
        "errors": w.describe(),
        "recover_s": round(recovered, 1),
        "pg_restart_s": round(took, 1),
        "events": ev,
    }


def fault_worker_digest(
    cluster: LoadCluster, run: Locust, sink: Any, url: str, n_subscribers: int, settle_s: float
) -> dict[str, Any]:
    from digest import add_subscribers
    from paperfeed.digests.ledger_models import DigestSend
    from paperfeed.digests.models import Subscription
    from paperfeed.digests.periods import Period
    from paperfeed.jobs.queue import make_huey
    from paperfeed.jobs.tasks import register_tasks

    _, factory = ls.open_db(url, WORK)
    fixture = ls.workload_fixture(factory, n_papers=1)
    day = date.fromisoformat(fixture["days"][1])
    with factory() as session, session.begin():
        session.execute(update(Subscription).values(status="unsubscribed"))  # only this run's readers
        offset = int(session.scalar(select(func.count()).select_from(Subscription)) or 0)
    subs = add_subscribers(factory, n_subscribers, Period.day(day), offset=offset)
    mine = DigestSend.subscription_id.in_(subs)
    hsettings = Settings(database_url=url, redis_url=cluster.redis_url, data_dir=WORK / "setup")
    tasks = register_tasks(make_huey(hsettings), hsettings)
    time.sleep(settle_s)
    t0 = time.time()
    tasks.send_period(day.isoformat(), "daily")
    while len(sink.messages) < n_subscribers // 5:
        time.sleep(0.05)
    cluster.kill("worker")
    at_kill = len(sink.messages)
    time.sleep(3)
    m1 = time.monotonic()
    cluster.restart("worker")
    tasks.send_period(day.isoformat(), "daily")  # what the next cron tick does

    def open_rows() -> int:
        with factory() as session:
            return int(
                session.scalar(
                    select(func.count())
                    .select_from(DigestSend)
                    .where(
                        DigestSend.period == day.isoformat(),
                        DigestSend.status.in_(("prepared", "retry", "sending")),
                    )
                )
                or 0
            )

    deadline = time.monotonic() + 300
    while (left := open_rows()) and time.monotonic() < deadline:
        time.sleep(0.5)
    done = time.monotonic()
    if left:
        log(f"digest stalled: {left} ledger rows still open 300 s after the restart (see worker.log)")
    run.wait()
    with factory() as session:
        statuses = {
            str(status): int(n)
            for status, n in session.execute(
                select(DigestSend.status, func.count())
                .where(mine, DigestSend.period == day.isoformat())
                .group_by(DigestSend.status)
            ).all()
        }
    recipients = [r for m in sink.messages for r in m.rcpt_tos]
    ev = run.read_events()
    return {
        "fault": f"kill -9 worker mid-digest ({n_subscribers:,} subscribers, {at_kill} sent at the kill)",
        "errors": window(ev, t0).describe(),
        "recover_s": round(done - m1, 1) if not left else f"stalled ({left} open after 300 s)",
        "delivered": len(recipients),
        "twice": len(duplicates(recipients)),
        "ledger": statuses,
        "events": ev,
    }


def fault_worker_embed(
    cluster: LoadCluster, run: Locust, url: str, per_run: int, settle_s: float
) -> dict[str, Any]:
    from paperfeed.jobs.queue import make_huey
    from paperfeed.jobs.tasks import register_tasks
    from paperfeed.search.models import PaperVector

    _, factory = ls.open_db(url, WORK)

    def vectors() -> int:
        with factory() as session:
            return int(session.scalar(select(func.count()).select_from(PaperVector)) or 0)

    hsettings = Settings(database_url=url, redis_url=cluster.redis_url, data_dir=WORK / "setup")
    tasks = register_tasks(make_huey(hsettings), hsettings)
    time.sleep(settle_s)
    before = vectors()
    t0 = time.time()
    tasks.embed()
    while vectors() < before + 256:  # at least one committed batch (embed_commit_batch) before the kill
        time.sleep(0.2)
    cluster.kill("worker")
    at_kill = vectors()
    time.sleep(3)
    m1 = time.monotonic()
    cluster.restart("worker")
    tasks.embed()  # the next cron tick
    deadline = time.monotonic() + 900
    while vectors() < at_kill + per_run and time.monotonic() < deadline:
        time.sleep(0.5)
    done = time.monotonic()
    after = vectors()
    run.wait()
    ev = run.read_events()
    return {
        "fault": f"kill -9 worker mid-embed (runs of {per_run:,}; {at_kill - before} stored at the kill)",
        "errors": window(ev, t0).describe(),
        "recover_s": round(done - m1, 1) if after >= at_kill + per_run else "not finished in 900 s",
        "vectors": f"{before} -> {at_kill} at the kill -> {after}",
        "kept": after >= at_kill,
        "events": ev,
    }


def markdown(results: dict[str, Any]) -> str:
    """The ramp and fault tables as docs/benchmarks.md shows them."""
    out = [
        "| nodes | users | req/s | p50 ms | p99 ms | 5xx | other errors | held |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for label, nodes in (("ramp1", "1"), ("ramp2", "2")):
        data = results.get(label) or {}
        held = data.get("held") or {}
        for st in data.get("steps", []):
            mark = "**held**" if held and st["users"] == held["users"] else ""
            out.append(
                f"| {nodes} | {st['users']} | {st['rps']:.1f} | {st['p50_ms']:.0f} | {st['p99_ms']:.0f} |"
                f" {st['server_errors']} | {sum(st['errors'].values())} | {mark} |"
            )
    out += [
        "",
        "| fault | errors seen by clients (count, kind) | time to recover (s) | afterwards |",
        "|---|---|---:|---|",
    ]
    for f in results.get("faults", []):
        extra = {k: v for k, v in f.items() if k not in ("fault", "errors", "recover_s")}
        out.append(f"| {f['fault']} | {f['errors']} | {f['recover_s']} | {json.dumps(extra)} |")
    out.append(f"\nacknowledged writes stored: {results.get('stored')}")
    return "\n".join(out) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--vectors", type=Path, help="a bench/search_common .npz vector cache to reuse")
    parser.add_argument("--pg-port", type=int, default=54339)
    parser.add_argument("--steps", default="4,8,12,16,20,25,30,40,50,60,80,100")
    parser.add_argument("--step-s", type=int, default=25)
    parser.add_argument("--fault-s", type=int, default=75)
    parser.add_argument("--subscribers", type=int, default=2000)
    parser.add_argument("--warmup-s", type=int, default=30)
    parser.add_argument("--embed-per-run", type=int, default=500)
    parser.add_argument("--only", default="ramp1,ramp2,web,worker,embed,pg")
    parser.add_argument(
        "--smoke", action="store_true", help="a few seconds of each: checks the harness works"
    )
    args = parser.parse_args()
    steps = [int(s) for s in args.steps.split(",")]
    if args.vectors is None:
        args.vectors = next(iter(sorted((ROOT / "var" / "bench").glob("embeddings-*.npz"))), None)
    only = set(args.only.split(","))
    if args.smoke:
        steps, args.step_s, args.fault_s, args.subscribers, args.embed_per_run = steps[:2], 6, 30, 300, 300
        args.warmup_s = 4
    WORK.mkdir(parents=True, exist_ok=True)
    sys.path.insert(0, str(HERE))
    results: dict[str, Any] = {
        "started": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "load_before": loadavg(),
    }

    pg = ls.Postgres(WORK / "pg", args.pg_port)
    url = ls.ensure_papers(pg.ensure(), args.data, WORK, log)
    settings, factory = ls.open_db(url, WORK)
    stored = ls.load_cached_vectors(factory, settings, args.vectors, log)
    from paperfeed.db.models import Paper
    from paperfeed.search.models import PaperVector

    with factory() as session:
        papers = int(session.scalar(select(func.count()).select_from(Paper)) or 0)
        vectors = int(session.scalar(select(func.count()).select_from(PaperVector)) or 0)
    results.update(papers=papers, vectors=vectors)
    log(f"{papers:,} papers, {vectors:,} with vectors ({stored:,} loaded now)")
    if not (WORK / "ranked.done").exists():
        ls.paperfeed(["rank"], url, WORK / "setup")
        (WORK / "ranked.done").write_text("ok\n")
    run_id = uuid.uuid4().hex[:6]
    fixture = ls.workload_fixture(factory)
    fixture["users"] = ls.make_users(factory, settings, run_id, 40)
    fixture_path = WORK / "fixture.json"
    fixture_path.write_text(json.dumps(fixture))

    from paperfeed.mailsink import SmtpSink

    sink = SmtpSink().start()
    redis = subprocess.run(
        ["bash", str(ROOT / ".ci" / "start-redis.sh")], capture_output=True, text=True, check=True
    )
    cluster = LoadCluster(
        WORK / "cluster",
        url,
        redis.stdout.strip().splitlines()[-1].rsplit("/", 1)[0] + "/12",
        ports=(8131, 8132),
        env={
            "PAPERFEED_SEARCH_EMBED_IN_BACKGROUND": "false",
            "PAPERFEED_JOBS_INGEST_CRON": "",
            "PAPERFEED_JOBS_RANK_CRON": "",
            "PAPERFEED_JOBS_DIGEST_CRON": "",
            # The worker embeds only when the mid-embed fault asks it to (78k papers would take ~2 h);
            # index sync stays in the web nodes' maintainers; no stars (GitHub is not loopback).
            "PAPERFEED_EMBED_IN": "worker",
            "PAPERFEED_JOBS_EMBED_CRON": "",
            "PAPERFEED_JOBS_INDEX_CRON": "",
            "PAPERFEED_JOBS_STARS_CRON": "",
            "PAPERFEED_JOBS_EMBED_PER_RUN": str(args.embed_per_run),
            "PAPERFEED_COMMENT_LIMIT_USER": "1000000",
            "PAPERFEED_SMTP_PORT": str(sink.port),
            "PAPERFEED_BASE_URL": "http://127.0.0.1:8131",
        },
    )
    EVENTS[0] = WORK / "events" / run_id
    try:
        cluster.start(timeout_s=900)
        for i in (0, 1):
            cluster.wait_ready(i, timeout_s=900)
        log(f"cluster ready (load {loadavg()})")
        hosts = [cluster.url(0), cluster.url(1)]
        # Warm-up, not counted: first requests load the query model and fill PostgreSQL's and the OS's caches.
        warm = Locust("warmup", hosts, 4, args.warmup_s, fixture_path)
        warm.wait()
        for label, chosen in (("ramp1", hosts[:1]), ("ramp2", hosts)):
            if label in only:
                done = ramp(label, chosen, fixture_path, steps, args.step_s)
                held = held_step(done)
                results[label] = {
                    "steps": [s.__dict__ for s in done],
                    "held": held.__dict__ if held else None,
                }
        held2 = (results.get("ramp2") or {}).get("held") or (results.get("ramp1") or {}).get("held")
        users = max(2, int(held2["users"]) // 2) if held2 else 10
        results["fault_users"] = users
        faults = []
        settle = 5.0 if args.smoke else 15.0
        if "web" in only:
            run = Locust("fault-web", hosts, users, args.fault_s, fixture_path)
            faults.append(fault_web(cluster, run, settle))
        if "worker" in only:
            run = Locust("fault-worker", hosts, users, args.fault_s, fixture_path)
            faults.append(fault_worker_digest(cluster, run, sink, url, args.subscribers, settle))
        if "embed" in only:
            run = Locust("fault-embed", hosts, users, args.fault_s, fixture_path)
            faults.append(fault_worker_embed(cluster, run, url, args.embed_per_run, settle))
        if "pg" in only:
            run = Locust("fault-pg", hosts, users, args.fault_s, fixture_path)
            faults.append(fault_pg(pg, run, settle))
        for f in faults:
            f.pop("events")
            log(json.dumps(f))
        results["faults"] = faults
        # Acknowledged writes of every run of this invocation (ramps included) checked against the database.
        all_events = [
            ev for f in EVENTS[0].glob("*/*.jsonl") for ev in read_events(f.read_text().splitlines())
        ]
        results["stored"] = ls.check_acknowledged(factory, acknowledged(all_events))
        log(f"acknowledged writes stored: {results['stored']}")
    finally:
        cluster.stop()
        sink.stop()
    results["load_after"] = loadavg()
    (WORK / "results.json").write_text(json.dumps(results, indent=1, default=str))
    (WORK / "results.md").write_text(markdown(results))
    print(markdown(results))
    log(f"results in {WORK / 'results.json'}")


if __name__ == "__main__":
    main()
