"""Search speed benchmark: paperfeed's SearchService against SQLite FTS5, on 94k real and 1M grown papers.

    python bench/search_speed.py --data ../shared/data/arxiv-2025-94k.jsonl.gz --sizes 94k,1m

Per size, built once and cached under var/bench/search-<size>-v<N>/ (a re-run prints "cached"): the corpus
(bench/corpus.py grows it past the real records), a SQLite database filled by paperfeed's own ingest, vectors
(every real paper embedded for real, each grown paper's derived from the real paper it was grown from:
bench/search_vectors.py), the tantivy and usearch indexes built by paperfeed's own code, and a plain FTS5
table. Then, per size, one child process opens the service, warms up, times keyword, semantic and hybrid
queries through it (query embedding included), reports its RSS, measures the HNSW index's recall@10 against
exact search, and times FTS5 on the same queries (all words, and without stop words). `--real-every K` grows
the large corpora from every K-th real paper only (fewer to embed, when time is short). See
docs/benchmarks.md for what every figure means.
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

from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).parent))

import corpus as grow
import fts5_baseline
import search_common as common
import search_report
import search_vectors as sv
from paperfeed.config import Settings
from paperfeed.db.engine import make_engine, make_sessionmaker
from paperfeed.db.migrate import upgrade
from paperfeed.ingest.jsonl import JsonlSource
from paperfeed.ingest.store import store_records
from paperfeed.search.embeddings import paper_text
from paperfeed.search.service import SearchService

BUILD_VERSION = 2  # 2: real vectors for every real paper, grown ones derived from their donor
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

    def __init__(self, workdir: Path, label: str = "") -> None:
        self.file = workdir / "build.json"
        self.label = label  # printed before step names ("base": the real papers a corpus grows from)
        self.done: dict[str, float] = json.loads(self.file.read_text()) if self.file.exists() else {}
        self.cached: set[str] = set(self.done)
        self.only: set[str] | None = None

    def run(self, name: str, fn: Any) -> None:
        if self.only is not None and name not in self.only:
            return
        if self.file.exists():  # another run may have built steps meanwhile (--steps runs in parallel)
            self.done.update(json.loads(self.file.read_text()))
        if name in self.done:
            console.print(f"  {self.label}{name}: cached ({self.done[name]:.1f} s when built)")
            return
        console.print(f"  {self.label}{name}: building ...")
        t0 = time.perf_counter()
        fn()
        seconds = time.perf_counter() - t0
        if self.file.exists():
            self.done.update(json.loads(self.file.read_text()))
        self.done[name] = seconds
        tmp = self.file.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(self.done, indent=1))
        tmp.replace(self.file)
        console.print(f"  {self.label}{name}: {self.done[name]:.1f} s")


def build_corpus_file(data: Path, size: int, out: Path) -> None:
    real = grow.read_jsonl(data)
    grow.write_jsonl_gz(grow.corpus_objects(real, size, seed=1), out)


def grow_database(real_dir: Path, workdir: Path, real: list[dict[str, Any]], synthetic: int) -> None:
    """A copy of the real papers' database, with `synthetic` grown papers appended (bench/corpus.py)."""
    src = sqlite3.connect(real_dir / "paperfeed.db")
    dst = sqlite3.connect(workdir / "paperfeed.db")
    with dst:
        src.backup(dst)
    src.close()
    dst.execute("DELETE FROM paper_vectors")
    dst.commit()
    added = grow.extend_database(dst, real, synthetic, seed=1)
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


def _db_path(settings: Settings) -> Path:
    return Path(settings.database_url.removeprefix("sqlite:///"))


def queries_for(settings: Settings, n: int, seed: int = 42) -> list[str]:
    """n phrases of 2-5 consecutive words from real titles (deterministic), then the typed queries."""
    conn = sqlite3.connect(_db_path(settings))
    # Titles of real papers only, so a grown corpus gets the same queries as its real base.
    titles = [
        t
        for (t,) in conn.execute(
            "SELECT title FROM papers WHERE source != 'bench' ORDER BY id LIMIT ?", (REAL_COUNT - 100,)
        )
    ]
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


def size_of(label: str) -> int:
    """Papers in a corpus named like 20k, 94k (the real dump), 500k or 1m."""
    if label in SIZES:
        return SIZES[label]
    match = re.fullmatch(r"(\d+)([km])", label)
    if not match:
        raise SystemExit(f"unknown size {label!r}: expected one of {', '.join(SIZES)} or <n>k / <n>m")
    return int(match[1]) * (1000 if match[2] == "k" else 1_000_000)


def rss_mb() -> float:
    """This process's resident set size (MB): psutil (the bench extra) when installed, else /proc (Linux)."""
    try:
        import psutil
    except ImportError:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 2**20
    return float(psutil.Process().memory_info().rss) / 2**20


def measure(
    workdir: Path,
    queries: list[str],
    warmup: list[str],
    recall: list[str],
    fts5: bool = True,
    keyword_only: bool = False,
    base: str | None = None,
) -> dict[str, Any]:
    """In this (fresh) process: open the service, warm up, time every mode; report RSS; ANN recall against
    exact search on the `recall` queries; time FTS5."""
    from paperfeed.search.embeddings import load_embedder

    settings = settings_for(workdir)
    # A server that has run for a while has its files in the page cache; a fresh bench process has not
    # (at 1M, cold reads of random papers added ~15 ms to a result page). Read every file once, FTS5's too.
    out_warm = warm_files(workdir)
    engine = make_engine(settings)
    factory = make_sessionmaker(engine)
    t0 = time.perf_counter()
    embedder = None if keyword_only else load_embedder(settings)
    service = common.open_service(settings, factory, embedder, vectors=not keyword_only)
    out: dict[str, Any] = {"open_s": time.perf_counter() - t0, "docs": service.keyword.num_docs}
    out["warmed_mb"] = out_warm
    out["vectors_count"] = len(service.vector_index) if service.vector_index is not None else 0
    modes = ("keyword",) if keyword_only else ("keyword", "semantic", "hybrid")
    for q in warmup:
        for mode in modes:
            common.search_ids(service, q, mode, 10)
    out["loadavg_start"] = os.getloadavg()
    out["rounds"] = ROUNDS
    for mode, load in [(m, True) for m in modes] + [(m, False) for m in modes if m != "semantic"]:
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
    if recall and service.vector_index is not None:
        out.update(sv.ann_recall(service, _db_path(settings), recall, Path(base) if base else None))
    if fts5:
        out.update(time_fts5(workdir, queries, warmup))
    engine.dispose()
    return out


def time_fts5(workdir: Path, queries: list[str], warmup: list[str]) -> dict[str, Any]:
    """FTS5 latencies (ms) of every query, with every word and without stop words."""
    out: dict[str, Any] = {}
    fts = fts5_baseline.Fts5Search(workdir / "fts5.db")
    # Two baselines: every word OR-ed, and the same without the stop words paperfeed does not score
    # (the fair one: paperfeed never walks the posting lists of "of" or "the" either).
    for key, stop_words in (("fts5", True), ("fts5-content", False)):
        for q in warmup:
            fts.search(q, stop_words=stop_words)
        times = []
        for q in queries:
            t = time.perf_counter()
            fts.search(q, stop_words=stop_words)
            times.append((time.perf_counter() - t) * 1000)
        out[key] = times
    out["queries_with_stop_words"] = sum(
        fts5_baseline.fts5_query(q) != fts5_baseline.fts5_query(q, stop_words=False) for q in queries
    )
    fts.close()
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


def base_dir(args: argparse.Namespace) -> Path:
    """The folder of the real papers a large corpus is grown from (all of them: the 94k corpus itself)."""
    name = "search-94k" if args.real_every == 1 else f"search-94k-every{args.real_every}"
    return args.workdir / f"{name}-v{BUILD_VERSION}"


def base_corpus(args: argparse.Namespace) -> tuple[Path, list[dict[str, Any]]]:
    """The folder and records of the real papers a large corpus grows from, ingested (once: seconds)."""
    real = grow.read_jsonl(args.data)[:: args.real_every]
    bdir = base_dir(args)
    bdir.mkdir(parents=True, exist_ok=True)
    base = Steps(bdir, f"{bdir.name}: ")
    if args.real_every == 1:
        base.run("ingest", lambda: ingest(settings_for(bdir), args.data))
    else:
        source = bdir / "corpus.jsonl.gz"
        base.run("corpus", lambda: grow.write_jsonl_gz(real, source))
        base.run("ingest", lambda: ingest(settings_for(bdir), source))
    return bdir, real


def build_size(label: str, size: int, args: argparse.Namespace) -> tuple[Path, Steps]:
    """Build (or reuse) every artefact of one corpus size."""
    only = set(args.steps.split(",")) if args.steps else None
    grown = size > REAL_COUNT
    if args.real_every != 1 and not grown:
        raise SystemExit("--real-every applies to corpora grown past the 94k real papers")
    suffix = f"-every{args.real_every}" if args.real_every != 1 else ""
    workdir = (
        base_dir(args) if size == REAL_COUNT else args.workdir / f"search-{label}{suffix}-v{BUILD_VERSION}"
    )
    workdir.mkdir(parents=True, exist_ok=True)
    console.rule(f"{label}: {size:,} papers ({workdir})")
    steps = Steps(workdir)
    steps.only = only
    settings = settings_for(workdir)

    def embed(folder: Path) -> None:
        report = sv.embed_all(_db_path(settings_for(folder)), settings, args.workdir, console.print)
        (folder / "embed.json").write_text(json.dumps(report, indent=1))

    if size < REAL_COUNT:
        source = workdir / "corpus.jsonl.gz"
        steps.run("corpus", lambda: build_corpus_file(args.data, size, source))
        steps.run("ingest", lambda: ingest(settings, source))
    elif size == REAL_COUNT:
        steps.run("ingest", lambda: ingest(settings, args.data))
    if grown:
        # The real papers through paperfeed's ingest (the base), embedded for real unless keyword-only; then
        # the grown papers appended in bulk, each with a vector derived from its donor's.
        bdir, real = base_corpus(args)
        if not args.keyword_only and (only is None or "embed" in only):
            base = Steps(bdir, f"{bdir.name}: ")
            base.run("vectors", lambda: embed(bdir))
        steps.run("ingest", lambda: grow_database(bdir, workdir, real, size - len(real)))
    if not args.keyword_only and not grown:
        steps.run("vectors", lambda: embed(workdir))
    elif not args.keyword_only:

        def vectors() -> None:
            if "vectors" not in Steps(bdir).done:
                raise SystemExit(f"the real papers of {bdir} are not embedded yet: run --steps embed first")
            db, base_db = _db_path(settings), _db_path(settings_for(bdir))
            sources = sv.Sources(db, base_db, real)
            calibration = sv.calibrate(db, sources, settings, args.workdir)
            stored = sv.store_grown(db, base_db, sources, calibration["weights"], calibration["cosines"])
            (workdir / "vectors.json").write_text(
                json.dumps({"calibration": calibration, **stored}, indent=1)
            )

        steps.run("vectors", vectors)
    factory = make_sessionmaker(make_engine(settings))
    if not args.no_fts5:
        steps.run("fts5", lambda: fts5_baseline.build(_db_path(settings), workdir / "fts5.db"))
    steps.run("tantivy", lambda: common.build_keyword(settings, factory))
    if not args.keyword_only:
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
    parser.add_argument(
        "--real-every", type=int, default=1, help="grow large corpora from every K-th real paper (default 1)"
    )
    parser.add_argument("--recall-queries", type=int, default=300, help="queries for ANN recall@10")
    parser.add_argument("--no-fts5", action="store_true", help="no FTS5 baseline (build nor timing)")
    parser.add_argument(
        "--keyword-only",
        action="store_true",
        help="keyword search and FTS5 only: no vectors, nothing embedded",
    )
    parser.add_argument("--embed-texts", type=int, default=256, help="abstracts for embedding throughput")
    parser.add_argument("--quick", action="store_true", help="20k papers, 50 queries, no embedding bench")
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--steps", help="build only these steps (e.g. tantivy), then stop: parallel builds")
    args = parser.parse_args()

    if args.measure:  # child process: one size, queries on stdin
        job = json.loads(sys.stdin.read())
        print(json.dumps(measure(args.measure, **job)))
        return
    if not args.data.exists():
        raise SystemExit(f"{args.data} not found: pass --data pointing at arxiv-2025-94k.jsonl.gz")
    sizes = (args.sizes or ("20k" if args.quick else "94k,1m")).split(",")
    n_queries = args.queries or (50 if args.quick else 200)
    results: dict[str, dict[str, Any]] = {}
    for label in sizes:
        workdir, steps = build_size(label, size_of(label), args)
        if args.steps:
            continue
        qs = queries_for(settings_for(workdir), n_queries + 20)
        recall = queries_for(settings_for(workdir), args.recall_queries, seed=7)[: args.recall_queries]
        job = {
            "queries": qs[20:],
            "warmup": qs[:20],
            "recall": [] if args.keyword_only else recall,
            "fts5": not args.no_fts5,
            "keyword_only": args.keyword_only,
            # a grown corpus: its real base, to compare real and derived vectors at the base's size
            "base": str(_db_path(settings_for(base_dir(args)))) if size_of(label) > REAL_COUNT else None,
        }
        what = "keyword" if args.keyword_only else f"3 modes, ANN recall on {len(recall)} queries"
        console.print(
            f"  measuring {len(job['queries'])} queries x {what}{'' if args.no_fts5 else ', FTS5'}, "
            "in a fresh process ..."
        )
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
        res["real_every"] = args.real_every
        for folder, name in (
            (workdir, "vectors.json"),
            (workdir, "embed.json"),
            (base_dir(args), "embed.json"),
        ):
            if (folder / name).exists():
                res.setdefault(name.removesuffix(".json"), json.loads((folder / name).read_text()))
        results[label] = res
    if not results:
        return
    search_report.report(results)
    speed = [] if args.quick or args.embed_texts <= 0 else embed_speed(args.data, args.embed_texts)
    if speed:
        table = Table(title=f"embedding throughput, {args.embed_texts} real abstracts (bench/embed_speed.py)")
        for key in speed[0]:
            table.add_column(str(key))
        for row in speed:
            table.add_row(*(f"{v:.3f}" if isinstance(v, float) else str(v) for v in row.values()))
        console.print(table)
    out = args.workdir / f"search-speed-results-{'-'.join(results)}.json"
    out.write_text(json.dumps({"results": results, "embed_speed": speed}, indent=1, default=str))
    console.print(f"raw figures: {out}")


if __name__ == "__main__":
    main()
