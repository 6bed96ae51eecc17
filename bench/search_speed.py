"""Search speed benchmark: paperfeed's SearchService against SQLite FTS5, on 94k real and 1M grown papers.

    python bench/search_speed.py --data ../shared/data/arxiv-2025-94k.jsonl.gz --sizes 94k,1m

Per size, built once and cached under var/bench/search-<size>-v<N>/ (a re-run prints "cached"): the corpus
(bench/corpus.py grows it past the real records), a SQLite database filled by paperfeed's own ingest, vectors
(real embeddings for a sample, the rest derived), the tantivy and usearch indexes built by paperfeed's own
code, and a plain FTS5 table. Then, per size, one child process opens the service, warms up, times keyword,
semantic and hybrid queries through it (query embedding included), times FTS5 on the same queries, and
reports its RSS. See docs/benchmarks.md for what every figure means.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import sqlite3
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).parent))

import corpus as grow
import fts5_baseline
import search_common as common
from paperfeed.config import Settings
from paperfeed.db.engine import make_engine, make_sessionmaker
from paperfeed.db.migrate import upgrade
from paperfeed.ingest.jsonl import JsonlSource
from paperfeed.ingest.store import store_records
from paperfeed.search.embeddings import MODEL_NAME, paper_text
from paperfeed.search.service import SearchService
from paperfeed.search.vector_store import decode_vector, encode_vector, text_hash
from search_common import CachedEmbedder

BUILD_VERSION = 1
REAL_COUNT = 94_351
ROUNDS = 3  # timed runs of every query in every mode (its latency: their median)
SIZES = {"20k": 20_000, "94k": REAL_COUNT, "1m": 1_000_000}
TYPED = [
    "graph neural networks",
    "diffusion models for video generation",
    "large language model reasoning",
    "retrieval augmented generation",
    "gaussian splatting",
    "exoplanet atmospheres",
    "dark matter halos",
    "reinforcement learning from human feedback",
    "quantum error correction",
    "speculative decoding",
    "mixture of experts",
    '"vision transformer" segmentation',
    "protein structure prediction",
    "federated learning privacy",
    "gravitational waves neutron star",
    "2503.11731",
]
console = Console(width=150)


def settings_for(workdir: Path) -> Settings:
    """Settings of one benchmark corpus (SQLite file + indexes in its folder)."""
    return Settings(
        database_url=f"sqlite:///{workdir / 'paperfeed.db'}",
        data_dir=workdir,
        sqlite_cache_mb=256,
        # One database a folder: the indexes keep the layout the cached builds under var/ were made with.
        search_dir=workdir / "search" / "keyword",
        vector_index_path=workdir / "search" / "vectors.usearch",
    )


class Steps:
    """Build steps of one corpus, each timed once and remembered in build.json (a re-run skips it)."""

    def __init__(self, workdir: Path) -> None:
        self.file = workdir / "build.json"
        self.done: dict[str, float] = json.loads(self.file.read_text()) if self.file.exists() else {}
        self.cached: set[str] = set(self.done)
        self.only: set[str] | None = None

    def run(self, name: str, fn: Any) -> None:
        if self.only is not None and name not in self.only:
            return
        if self.file.exists():  # another run may have built steps meanwhile (--steps runs in parallel)
            self.done.update(json.loads(self.file.read_text()))
        if name in self.done:
            console.print(f"  {name}: cached ({self.done[name]:.1f} s when built)")
            return
        console.print(f"  {name}: building ...")
        t0 = time.perf_counter()
        fn()
        seconds = time.perf_counter() - t0
        if self.file.exists():
            self.done.update(json.loads(self.file.read_text()))
        self.done[name] = seconds
        tmp = self.file.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(self.done, indent=1))
        tmp.replace(self.file)
        console.print(f"  {name}: {self.done[name]:.1f} s")


def build_corpus_file(data: Path, size: int, out: Path) -> None:
    real = grow.read_jsonl(data)
    grow.write_jsonl_gz(grow.corpus_objects(real, size, seed=1), out)


def grow_database(real_dir: Path, workdir: Path, data: Path, synthetic: int) -> None:
    """A copy of the real papers' database, with `synthetic` grown papers appended (bench/corpus.py)."""
    src = sqlite3.connect(real_dir / "paperfeed.db")
    dst = sqlite3.connect(workdir / "paperfeed.db")
    with dst:
        src.backup(dst)
    src.close()
    dst.execute("DELETE FROM paper_vectors")
    dst.commit()
    added = grow.extend_database(dst, grow.read_jsonl(data), synthetic, seed=1)
    dst.execute("ANALYZE")
    dst.close()
    console.print(f"    {added:,} grown papers appended")


def ingest(settings: Settings, path: Path) -> None:
    engine = make_engine(settings)
    upgrade(engine)
    report = store_records(make_sessionmaker(engine), JsonlSource(path).records(), batch_size=5000, workers=1)
    engine.dispose()
    if report.rejected:
        raise SystemExit(f"ingest rejected {report.rejected} records")


def store_vectors(
    settings: Settings, cache_dir: Path, synthetic: int, real_vectors: int, real_from: Path | None = None
) -> dict[str, int]:
    """Real embeddings for an evenly spread sample of the real papers; derived vectors for every other one.

    Real papers were ingested first, so they hold the lowest ids; the last `synthetic` rows are grown ones.
    Rows go straight into paper_vectors in the stored form (float16, text hash, paper hash), as
    embed_pending would write them, streamed so 1M papers never sit in memory at once.
    """
    conn = sqlite3.connect(_db_path(settings))
    meta = conn.execute("SELECT id, primary_category FROM papers ORDER BY id").fetchall()
    n_real = len(meta) - synthetic
    step = max(1, n_real // real_vectors)
    sample = list(range(0, n_real, step))[:real_vectors]
    by_id = {
        pid: (t, a)
        for pid, t, a in conn.execute(
            "SELECT id, title, abstract FROM papers WHERE id <= ?", (meta[n_real - 1][0],)
        )
    }
    texts = [paper_text(*by_id[meta[i][0]]) for i in sample]
    del by_id
    vecs: list[np.ndarray] = []
    if real_from is not None:
        # The grown corpus starts with the same real papers (same ids): reuse their real vectors.
        src = sqlite3.connect(real_from)
        stored = dict(src.execute("SELECT paper_id, vector FROM paper_vectors"))
        src.close()
        vecs = [np.stack([decode_vector(stored[meta[i][0]]) for i in sample])]
        console.print(f"    {len(sample)} real embeddings reused from {real_from}")
    else:
        embedder = CachedEmbedder.for_settings(settings, cache_dir)
        t0 = time.perf_counter()
        for start in range(0, len(texts), 256):
            vecs.append(embedder.embed(texts[start : start + 256]))
            embedder.save()
            done = min(start + 256, len(texts))
            console.print(f"    real embeddings {done}/{len(texts)} ({time.perf_counter() - t0:.0f} s)")
    real = dict(zip(sample, np.concatenate(vecs), strict=True))
    cats = [c or "none" for _, c in meta]
    now = time.strftime("%Y-%m-%d %H:%M:%S.000000", time.gmtime())
    reader = sqlite3.connect(_db_path(settings))
    cur = reader.execute("SELECT id, title, abstract, content_hash FROM papers ORDER BY id")
    with conn:
        conn.execute("DELETE FROM paper_vectors")
        for _first, block in grow.derive_vectors(cats, real, seed=1):
            rows = cur.fetchmany(len(block))
            batch = [
                (pid, MODEL_NAME, encode_vector(vec), text_hash(paper_text(title, abstract)), paper_hash, now)
                for (pid, title, abstract, paper_hash), vec in zip(rows, block, strict=True)
            ]
            conn.executemany(
                "INSERT INTO paper_vectors (paper_id, model, vector, content_hash, paper_hash, created_at) "
                "VALUES (?,?,?,?,?,?)",
                batch,
            )
    reader.close()
    conn.close()
    return {"real": len(real), "derived": len(meta) - len(real)}


def _db_path(settings: Settings) -> Path:
    return Path(settings.database_url.removeprefix("sqlite:///"))


def queries_for(settings: Settings, n: int, seed: int = 42) -> list[str]:
    """n phrases of 2-5 consecutive words from real titles (deterministic), then the typed queries."""
    conn = sqlite3.connect(_db_path(settings))
    # Titles of real papers only (they hold the lowest ids), so a grown corpus gets the same queries.
    titles = [t for (t,) in conn.execute("SELECT title FROM papers ORDER BY id LIMIT ?", (REAL_COUNT - 100,))]
    conn.close()
    rng = random.Random(seed)
    out: list[str] = []
    while len(out) < n:
        words = re.findall(r"[A-Za-z][A-Za-z0-9-]+", rng.choice(titles))
        if len(words) < 2:
            continue
        width = rng.randint(2, min(5, len(words)))
        start = rng.randrange(len(words) - width + 1)
        out.append(" ".join(words[start : start + width]).lower())
    return out + TYPED


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (nearest rank) of values."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, int(np.ceil(q / 100 * len(ordered))) - 1))]


def rss_mb() -> float:
    """This process's resident set size (MB): psutil (the bench extra) when installed, else /proc (Linux)."""
    try:
        import psutil
    except ImportError:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 2**20
    return float(psutil.Process().memory_info().rss) / 2**20


def measure(workdir: Path, queries: list[str], warmup: list[str]) -> dict[str, Any]:
    """In this (fresh) process: open the service, warm up, time every mode and FTS5; report RSS."""
    from paperfeed.search.embeddings import load_embedder

    settings = settings_for(workdir)
    # A server that has run for a while has its files in the page cache; a fresh bench process has not
    # (at 1M, cold reads of random papers added ~15 ms to a result page). Read every file once, FTS5's too.
    out_warm = warm_files(workdir)
    engine = make_engine(settings)
    factory = make_sessionmaker(engine)
    t0 = time.perf_counter()
    service = common.open_service(settings, factory, load_embedder(settings))
    out: dict[str, Any] = {"open_s": time.perf_counter() - t0, "docs": service.keyword.num_docs}
    out["warmed_mb"] = out_warm
    out["vectors"] = len(service.vector_index) if service.vector_index is not None else 0
    modes = ("keyword", "semantic", "hybrid")
    for q in warmup:
        for mode in modes:
            common.search_ids(service, q, mode, 10)
    out["loadavg_start"] = os.getloadavg()
    out["rounds"] = ROUNDS
    for mode, load in [(m, True) for m in modes] + [("keyword", False), ("hybrid", False)]:
        runs: list[list[float]] = [[] for _ in queries]
        # Every query runs ROUNDS times, in passes over all queries: a query's latency is the median of its
        # runs, so a moment of noise on this shared VM (a page reclaimed, a neighbour's burst) does not
        # stand for the query. The p99 of every single run is kept too, and printed beside it.
        for _ in range(ROUNDS):
            for i, q in enumerate(queries):
                # The service caches query vectors; each timed query must pay for its embedding.
                service._cache.clear()
                t = time.perf_counter()
                common.search_ids(service, q, mode, 10, load=load)
                runs[i].append((time.perf_counter() - t) * 1000)
        key = mode if load else f"{mode}-ids"
        out[key] = [statistics.median(r) for r in runs]
        out[f"{key}-every-run"] = [x for r in runs for x in r]
    # The same keyword queries scored in one phase (every match), and how far the two-phase top 10 agrees.
    one_phase = SearchService(
        settings=settings.model_copy(update={"search_prune_min_docs": 10**12}),
        session_factory=factory,
        keyword=service.keyword,
    )
    times, overlap = [], []
    for q in queries:
        t = time.perf_counter()
        exact = common.search_ids(one_phase, q, "keyword", 10, load=False)
        times.append((time.perf_counter() - t) * 1000)
        got = common.search_ids(service, q, "keyword", 10, load=False)
        overlap.append(len(set(got) & set(exact)) / max(1, len(exact)))
    out["keyword-one-phase"] = times
    out["two_phase_overlap"] = sum(overlap) / len(overlap)
    out["two_phase_on"] = service.keyword.num_docs >= settings.search_prune_min_docs
    out["loadavg_end"] = os.getloadavg()
    out["rss_mb"] = rss_mb()
    fts = fts5_baseline.Fts5Search(workdir / "fts5.db")
    for q in warmup:
        fts.search(q)
    times = []
    for q in queries:
        t = time.perf_counter()
        fts.search(q)
        times.append((time.perf_counter() - t) * 1000)
    out["fts5"] = times
    fts.close()
    engine.dispose()
    return out


def warm_files(folder: Path) -> float:
    """Read every file under `folder` once (into the OS page cache); returns the MB read."""
    total = 0
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            with path.open("rb") as fh:
                while chunk := fh.read(8 << 20):
                    total += len(chunk)
    return total / 2**20


def build_size(label: str, size: int, args: argparse.Namespace) -> tuple[Path, Steps]:
    """Build (or reuse) every artefact of one corpus size."""
    workdir = args.workdir / f"search-{label}-v{BUILD_VERSION}"
    workdir.mkdir(parents=True, exist_ok=True)
    console.rule(f"{label}: {size:,} papers ({workdir})")
    steps = Steps(workdir)
    steps.only = set(args.steps.split(",")) if args.steps else None
    settings = settings_for(workdir)
    synthetic = max(0, size - REAL_COUNT)
    if size < REAL_COUNT:
        source = workdir / "corpus.jsonl.gz"
        steps.run("corpus", lambda: build_corpus_file(args.data, size, source))
        steps.run("ingest", lambda: ingest(settings, source))
    elif size == REAL_COUNT:
        steps.run("ingest", lambda: ingest(settings, args.data))
    else:
        # The real papers through paperfeed's ingest (the 94k database), then the grown ones appended in bulk.
        real_dir = args.workdir / f"search-94k-v{BUILD_VERSION}"
        real_dir.mkdir(parents=True, exist_ok=True)
        Steps(real_dir).run("ingest", lambda: ingest(settings_for(real_dir), args.data))
        steps.run("ingest", lambda: grow_database(real_dir, workdir, args.data, synthetic))
    real_from = None
    if size > REAL_COUNT:
        real_dir = args.workdir / f"search-94k-v{BUILD_VERSION}"
        while args.wait_94k and "vectors" not in Steps(real_dir).done:
            console.print(
                "    waiting for another run to store the 94k vectors (the real ones are shared) ..."
            )
            time.sleep(30)
        real_steps = Steps(real_dir)
        real_steps.run(
            "vectors", lambda: store_vectors(settings_for(real_dir), args.workdir, 0, args.real_vectors)
        )
        real_from = real_dir / "paperfeed.db"
    steps.run(
        "vectors", lambda: store_vectors(settings, args.workdir, synthetic, args.real_vectors, real_from)
    )
    factory = make_sessionmaker(make_engine(settings))
    steps.run("fts5", lambda: fts5_baseline.build(_db_path(settings), workdir / "fts5.db"))
    steps.run("tantivy", lambda: common.build_keyword(settings, factory))
    steps.run("usearch", lambda: common.build_vectors(settings, factory))
    return workdir, steps


def _du(path: Path) -> float:
    if path.is_file():
        return path.stat().st_size / 2**20
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 2**20


def embed_speed(data: Path, n: int) -> list[dict[str, Any]]:
    """H2's embedding throughput benchmark (paperfeed vs sentence-transformers) on n real abstracts."""
    try:
        import embed_speed as es
    except ImportError as exc:
        console.print(f"[yellow]embedding throughput skipped: bench/embed_speed.py not importable ({exc})")
        return []
    real = grow.read_jsonl(data, limit=n)
    texts = [paper_text(r["title"], r.get("summary") or "") for r in real]
    try:
        return list(es.run(texts))
    except Exception as exc:  # the sentence-transformers side is an optional extra (torch)
        console.print(f"[yellow]embedding throughput failed: {type(exc).__name__}: {exc}")
        return []


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=Path("../shared/data/arxiv-2025-94k.jsonl.gz"))
    parser.add_argument("--workdir", type=Path, default=Path("var/bench"))
    parser.add_argument("--sizes", default=None, help="comma-separated: 20k, 94k, 1m (default 94k,1m)")
    parser.add_argument("--queries", type=int, default=None, help="title-phrase queries (default 200)")
    parser.add_argument("--real-vectors", type=int, default=512, help="real papers embedded (cached)")
    parser.add_argument("--embed-texts", type=int, default=256, help="abstracts for embedding throughput")
    parser.add_argument("--quick", action="store_true", help="20k papers, 50 queries, no embedding bench")
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--steps", help="build only these steps (e.g. tantivy), then stop: parallel builds")
    parser.add_argument("--wait-94k", action="store_true", help=argparse.SUPPRESS)  # a parallel run builds it
    args = parser.parse_args()

    if args.measure:  # child process: one size, queries on stdin
        job = json.loads(sys.stdin.read())
        print(json.dumps(measure(args.measure, job["queries"], job["warmup"])))
        return
    if not args.data.exists():
        raise SystemExit(f"{args.data} not found: pass --data pointing at arxiv-2025-94k.jsonl.gz")
    sizes = (args.sizes or ("20k" if args.quick else "94k,1m")).split(",")
    n_queries = args.queries or (50 if args.quick else 200)
    results: dict[str, dict[str, Any]] = {}
    for label in sizes:
        if label not in SIZES:
            raise SystemExit(f"unknown size {label!r}: expected one of {', '.join(SIZES)}")
        workdir, steps = build_size(label, SIZES[label], args)
        if args.steps:
            continue
        qs = queries_for(settings_for(workdir), n_queries + 20)
        job = {"queries": qs[20:], "warmup": qs[:20]}
        console.print(f"  measuring {len(job['queries'])} queries x 3 modes + FTS5 in a fresh process ...")
        proc = subprocess.run(
            [sys.executable, __file__, "--measure", str(workdir)],
            input=json.dumps(job),
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode != 0:
            raise SystemExit(f"measuring {label} failed:\n{proc.stderr[-4000:]}")
        res = json.loads(proc.stdout.strip().splitlines()[-1])
        res["build"] = dict(steps.done)
        res["cached"] = sorted(steps.cached)
        res["sizes_mb"] = {
            "tantivy": _du(workdir / "search" / "keyword"),
            "usearch": _du(workdir / "search" / "vectors.usearch"),
            "fts5": _du(workdir / "fts5.db"),
        }
        res["n_queries"] = len(job["queries"])
        results[label] = res
    if not results:
        return
    report(results)
    speed = [] if args.quick else embed_speed(args.data, args.embed_texts)
    if speed:
        table = Table(title=f"embedding throughput, {args.embed_texts} real abstracts (bench/embed_speed.py)")
        for key in speed[0]:
            table.add_column(str(key))
        for row in speed:
            table.add_row(*(f"{v:.3f}" if isinstance(v, float) else str(v) for v in row.values()))
        console.print(table)
    out = args.workdir / "search-speed-results.json"
    out.write_text(json.dumps({"results": results, "embed_speed": speed}, indent=1, default=str))
    console.print(f"raw figures: {out}")


def report(results: dict[str, dict[str, Any]]) -> None:
    """The latency table, then build times, sizes and RSS."""
    rounds = max(int(res.get("rounds", 1)) for res in results.values())
    table = Table(
        title="search latency through SearchService (ms, top 10, query embedding included; "
        f"a query's latency: the median of its {rounds} runs)"
    )
    for col in ("corpus", "engine", "p50", "p99", "max", "p99 every run", "FTS5 p99 / p99", "goal"):
        table.add_column(col, justify="left" if col in ("corpus", "engine", "goal") else "right")
    goals = {"keyword": 15.0, "hybrid": 60.0}
    for label, res in results.items():
        fts_p99 = percentile(res["fts5"], 99)
        names = ("keyword", "semantic", "hybrid", "keyword-ids", "keyword-one-phase", "hybrid-ids", "fts5")
        for name in names:
            if name not in res:  # results of an older run
                continue
            p50, p99 = percentile(res[name], 50), percentile(res[name], 99)
            goal = ""
            if label == "1m" and name in goals:
                goal = f"p99 <= {goals[name]:g} ms: {'met' if p99 <= goals[name] else 'NOT met'}"
                if name == "keyword":
                    goal += f"; >= 20x FTS5: {'met' if fts_p99 / p99 >= 20 else 'NOT met'}"
            ratio = f"{fts_p99 / p99:.1f}x" if name != "fts5" else ""
            shown = {
                "fts5": "SQLite FTS5 (bm25, OR)",
                "keyword-ids": "paperfeed keyword, ids only",
                "keyword-one-phase": "paperfeed keyword, ids only, one phase (every match scored)",
                "hybrid-ids": "paperfeed hybrid, ids only",
            }.get(name, f"paperfeed {name} (page: papers + snippets)")
            every = res.get(f"{name}-every-run")
            every_p99 = f"{percentile(every, 99):.2f}" if every else ""
            table.add_row(
                label, shown, f"{p50:.2f}", f"{p99:.2f}", f"{max(res[name]):.2f}", every_p99, ratio, goal
            )
    console.print(table)
    build = Table(title="build (seconds; 'cached' = built by an earlier run), index sizes (MB), server RSS")
    for col in (
        "corpus",
        "ingest",
        "vectors",
        "tantivy",
        "usearch",
        "FTS5",
        "tantivy MB",
        "usearch MB",
        "FTS5 MB",
        "RSS MB",
        "docs",
        "vectors",
    ):
        build.add_column(col, justify="left" if col == "corpus" else "right")
    for label, res in results.items():
        b, mb = res["build"], res["sizes_mb"]
        build.add_row(
            label,
            *(
                f"{b.get(k, 0):.0f}" + (" c" if k in res["cached"] else "")
                for k in ("ingest", "vectors", "tantivy", "usearch", "fts5")
            ),
            *(f"{mb[k]:.0f}" for k in ("tantivy", "usearch", "fts5")),
            f"{res['rss_mb']:.0f}",
            f"{res['docs']:,}",
            f"{res['vectors']:,}",
        )
    console.print(build)
    for label, res in results.items():
        console.print(f"{label}: load average during the run {res['loadavg_start']} -> {res['loadavg_end']}")
        if "two_phase_overlap" in res:
            state = "on" if res["two_phase_on"] else "off (below search_prune_min_docs)"
            console.print(
                f"{label}: two-phase keyword search {state}; its top 10 shares "
                f"{res['two_phase_overlap']:.1%} of the one-phase top 10 (same queries)"
            )


if __name__ == "__main__":
    main()
