"""Idle memory of the demo server: RSS after startup, the first embed rounds and a few searches.

    .venv/bin/python bench/memory.py [--template var/mem/demo.db] [--modes before,after] [--queries 30]

The template is a demo database (`paperfeed demo --no-serve`, then `paperfeed embed`), copied for each mode
with the vectors of its newest --unembedded papers deleted, so the server's maintainer embeds a few rounds
as a fresh demo does. Each mode starts `paperfeed serve` in a subprocess with its environment, waits until
the embed backlog is 0, runs the hybrid search queries (p50/p90 latency, the "same speed" check), idles,
then reads /proc/<pid>/smaps_rollup: RSS, anonymous memory (heap, arenas) and file-backed pages (the model
file, mmapped indexes).

Modes: `before` = the code at BASE (git archive into var/mem/before-src) with its defaults;
`after` = this worktree's code with its defaults; `after-arena` = this code with ONNX Runtime's CPU arena on.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
BASE = "cb0f69c"  # main before the memory work
QUERIES = [
    "graph neural networks for molecules",
    "diffusion models image editing",
    "large language model reasoning benchmark",
    "reinforcement learning from human feedback",
    "vision transformer segmentation",
    "speech recognition low resource",
    "retrieval augmented generation",
    "protein structure prediction",
    "federated learning privacy",
    "code generation evaluation",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(url: str, timeout: float = 60.0) -> tuple[int, bytes]:
    response = httpx.get(url, timeout=timeout)
    return response.status_code, response.content


def smaps(pid: int) -> dict[str, float]:
    """RSS, anonymous and file-backed resident memory (MB) from /proc/<pid>/smaps_rollup."""
    out: dict[str, float] = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
        key, _, rest = line.partition(":")
        if rest.strip().endswith("kB"):
            out[key] = int(rest.split()[0]) / 1024
    return {
        "rss_mb": round(out["Rss"], 1),
        "anon_mb": round(out.get("Anonymous", 0.0), 1),
        "file_mb": round(out["Rss"] - out.get("Anonymous", 0.0), 1),
    }


def before_src() -> Path:
    """The package at BASE, exported once (the code before this change)."""
    dest = ROOT / "var" / "mem" / "before-src"
    if not (dest / "src" / "paperfeed").exists():
        dest.mkdir(parents=True, exist_ok=True)
        archive = subprocess.run(
            ["git", "-C", str(ROOT), "archive", BASE, "src"], check=True, capture_output=True
        )
        subprocess.run(["tar", "-x", "-C", str(dest)], input=archive.stdout, check=True)
    return dest / "src"


def prepare(template: Path, work: Path, unembedded: int, *, old_schema: bool) -> Path:
    """A copy of the template (database and its index folder) with the newest papers' vectors deleted."""
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    db = work / "demo.db"
    src = sqlite3.connect(template)
    dst = sqlite3.connect(db)
    src.backup(dst)
    src.close()
    dst.execute(
        "DELETE FROM paper_vectors WHERE paper_id IN (SELECT id FROM papers ORDER BY id DESC LIMIT ?)",
        (unembedded,),
    )
    if old_schema:  # the code at BASE knows revisions up to 0012
        dst.execute("DROP TABLE IF EXISTS job_runs")
        dst.execute("UPDATE alembic_version SET version_num = '0012'")
    dst.commit()
    dst.close()
    return db


def run_mode(mode: str, template: Path, args: argparse.Namespace) -> dict[str, Any]:
    """Start serve for one mode, wait for the backlog to clear, search, idle, measure."""
    work = ROOT / "var" / "mem" / f"run-{mode}"
    db = prepare(template, work, args.unembedded, old_schema=mode == "before")
    port = _free_port()
    env = dict(os.environ)
    env["PYTHONPATH"] = str(before_src() if mode == "before" else ROOT / "src")
    env.update(PAPERFEED_DEMO="true", PAPERFEED_PORT=str(port), PAPERFEED_DATA_DIR=str(work))
    if mode == "after-arena":
        env["PAPERFEED_EMBED_MEMORY_ARENA"] = "true"
    cmd = [sys.executable, "-m", "paperfeed.cli", "serve", "--db", str(db)]
    log = (work / "serve.log").open("wb")
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    t0 = time.monotonic()
    try:
        while True:
            time.sleep(1.0)
            if proc.poll() is not None:
                raise SystemExit(f"{mode}: serve exited; see {work / 'serve.log'}")
            try:
                status, body = _get(f"{base}/readyz", timeout=10)
            except httpx.HTTPError:
                continue
            if json.loads(body).get("embed_backlog", 1) == 0:
                break
            if time.monotonic() - t0 > args.timeout:
                raise SystemExit(f"{mode}: backlog not cleared in {args.timeout} s")
        started_s = time.monotonic() - t0
        time.sleep(args.settle)  # one more maintainer round: the new vectors reach the HNSW index
        after_embed = smaps(proc.pid)
        latencies = []
        for i in range(args.queries):
            q = QUERIES[i % len(QUERIES)] + ("" if i < len(QUERIES) else f" {i}")
            t = time.perf_counter()
            status, _ = _get(f"{base}/api/papers/search?q={urllib.parse.quote(q)}&mode=hybrid")
            latencies.append((time.perf_counter() - t) * 1000)
            if status != 200:
                raise SystemExit(f"{mode}: search answered {status}")
        time.sleep(args.settle)
        idle = smaps(proc.pid)
        return {
            "mode": mode,
            "ready_s": round(started_s),
            "rss_after_embed_mb": after_embed["rss_mb"],
            "idle_rss_mb": idle["rss_mb"],
            "idle_anon_mb": idle["anon_mb"],
            "idle_file_mb": idle["file_mb"],
            "search_p50_ms": round(statistics.median(latencies), 1),
            "search_p90_ms": round(sorted(latencies)[int(0.9 * len(latencies)) - 1], 1),
            "load_1min": round(os.getloadavg()[0], 2),
        }
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


PROBE = r"""
import gc, json, os, sys, tempfile, time
from pathlib import Path
def rss():
    for line in Path("/proc/self/smaps_rollup").read_text().splitlines():
        if line.startswith("Rss:"):
            return round(int(line.split()[1]) / 1024, 1)
stages = {"start": rss()}
from paperfeed.config import Settings
from paperfeed.search.embeddings import load_embedder
import gzip
texts = []
with gzip.open(sys.argv[2], "rt") as fh:
    for i, line in enumerate(fh):
        if i >= 256: break
        r = json.loads(line); texts.append(r["title"] + ". " + r.get("abstract", r.get("summary", "")))
extra = json.loads(sys.argv[3])
s = Settings(data_dir=Path(sys.argv[1]), **extra)
emb = load_embedder(s)
emb.embed(["warm up query"])
stages["model loaded + 1 query"] = rss()
emb.embed(texts[:64])
stages["+ a 64-paper round"] = rss()
for i in range(0, 256, 64):
    emb.embed(texts[i:i+64])
stages["+ 4 more rounds"] = rss()
release = getattr(emb, "release_batch_session", None)
if release: release()
gc.collect()
stages["idle (batch session released if any)"] = rss()
print(json.dumps(stages))
"""


def probe(extra: dict[str, Any], src: Path, data_dir: Path, texts: Path) -> dict[str, float]:
    """RSS (MB) of a fresh process at each stage of loading the embedder and embedding (one config)."""
    env = dict(os.environ, PYTHONPATH=str(src))
    out = subprocess.run(
        [sys.executable, "-c", PROBE, str(data_dir), str(texts), json.dumps(extra)],
        env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main() -> None:
    """Command line: one row per mode."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--template", type=Path, default=ROOT / "var" / "mem" / "demo.db")
    ap.add_argument("--modes", default="before,after")
    ap.add_argument("--unembedded", type=int, default=128, help="papers left for serve to embed (2 rounds)")
    ap.add_argument("--queries", type=int, default=30)
    ap.add_argument("--settle", type=float, default=15.0, help="idle seconds before each reading")
    ap.add_argument("--timeout", type=float, default=1800.0)
    ap.add_argument("--probe", action="store_true", help="the embedder alone, stage by stage, per config")
    args = ap.parse_args()
    if args.probe:
        texts = ROOT / "src" / "paperfeed" / "demo" / "arxiv-recent.jsonl.gz"
        configs: list[tuple[str, Path, dict[str, Any], bool]] = [
            ("before: model built in-process", before_src(), {}, True),
            ("before: model already built", before_src(), {}, False),
            ("after: defaults", ROOT / "src", {}, True),
            ("after: arena on", ROOT / "src", {"embed_memory_arena": True}, False),
        ]
        for name, src, extra, fresh in configs:
            data_dir = ROOT / "var" / "mem" / "probe-fresh" if fresh else ROOT / "var" / "mem"
            if fresh and data_dir.exists():
                shutil.rmtree(data_dir)
            print(name, probe(extra, src, data_dir, texts), flush=True)
        return
    if not args.template.exists():
        sys.exit(
            f"{args.template} not found: paperfeed demo --no-serve --db {args.template}, "
            f"then paperfeed embed --db {args.template}"
        )
    rows = [run_mode(mode, args.template, args) for mode in args.modes.split(",")]
    keys = list(rows[0])
    print("| " + " | ".join(keys) + " |")
    print("|" + "---|" * len(keys))
    for row in rows:
        print("| " + " | ".join(str(row[k]) for k in keys) + " |")


if __name__ == "__main__":
    main()
