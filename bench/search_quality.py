"""Search quality benchmark: nDCG@10 and recall@100 on SciFact (BEIR test split) through paperfeed's search.

    python bench/search_quality.py --scifact ../shared/data/scifact [--grid]

The 5,183 abstracts are stored as papers by paperfeed's own ingest (keyed by title, as papers without an
arXiv id are), embedded by paperfeed's embedder and indexed by paperfeed's own index builders; the 300 claims
are then run through SearchService in keyword, semantic and hybrid mode, 100 results each. Everything is
built once under var/bench/scifact-v<N>/ (vectors cached by model and text), so a re-run takes seconds.
`--grid` re-runs hybrid search over fusion settings (weights, RRF k, candidate depth) and prints them all.
The default fusion settings were chosen on these same 300 test queries, so the hybrid figure is tuned on
test. Beside it the run prints a two-fold cross-validated figure (unless `--no-cv`): the queries are cut in
two halves with a fixed seed, the best grid setting on one half is scored on the other, both ways, and the
held-out scores of all 300 queries are averaged.
"""

from __future__ import annotations

import argparse
import itertools
import json
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).parent))

import search_common as common
from paperfeed.config import Settings
from paperfeed.db.engine import make_engine, make_sessionmaker
from paperfeed.db.migrate import upgrade
from paperfeed.db.models import Paper
from paperfeed.ingest.records import PaperRecord
from paperfeed.ingest.store import store_records
from paperfeed.search.evaluate import (
    cross_validate,
    mean_ndcg,
    mean_recall,
    ndcg_at_k,
    parse_qrels,
    recall_at_k,
    two_folds,
)
from paperfeed.search.keyword_store import build_keyword_index
from paperfeed.search.model_build import BUILD_VERSION as GRAPH_VERSION
from paperfeed.search.vector_store import embed_pending
from paperfeed.text.clean import clean_block, clean_line

BUILD_VERSION = 1
PUBLISHED = {"keyword": ("BM25 (BEIR)", 0.665), "semantic": ("all-MiniLM-L6-v2 (BEIR)", 0.645)}
GOAL = 0.72
CV_SEED = 20261128
# The fusion grid: keyword weight (the semantic weight stays 1.0: RRF only sees the ratio), RRF k, candidates.
GRID = list(itertools.product((0.6, 0.8, 1.0, 1.2, 1.5, 2.0, 2.5), (10.0, 30.0, 60.0, 100.0), (100, 200)))
Setting = tuple[float, float, int]
console = Console(width=150)


def load_scifact(folder: Path) -> tuple[list[dict[str, str]], dict[str, str], dict[str, dict[str, int]]]:
    """(corpus docs, test queries by id, qrels) of the BEIR SciFact folder."""
    for name in ("corpus.jsonl", "queries-test.jsonl", "qrels-test.tsv"):
        if not (folder / name).exists():
            raise SystemExit(f"{folder / name} not found: pass --scifact pointing at the SciFact folder")
    docs = [json.loads(line) for line in (folder / "corpus.jsonl").read_text(encoding="utf-8").splitlines()]
    queries = {
        q["_id"]: q["text"]
        for q in map(json.loads, (folder / "queries-test.jsonl").read_text(encoding="utf-8").splitlines())
    }
    qrels = parse_qrels((folder / "qrels-test.tsv").read_text(encoding="utf-8").splitlines())
    return docs, queries, qrels


def records(docs: list[dict[str, str]]) -> tuple[list[PaperRecord], dict[str, str]]:
    """Docs as paper records, and record key -> SciFact doc id.

    The documents have no arXiv id, so they are keyed by title like any id-less paper. Five share a generic
    title ("Summary", "Corresponding author:"), none of them judged relevant to any query: those get the doc
    id appended, so that every document is stored.
    """
    out: list[PaperRecord] = []
    keys: dict[str, str] = {}
    for doc in docs:
        title = clean_line(doc["title"]) or f"SciFact {doc['_id']}"
        rec = PaperRecord(title=title, abstract=clean_block(doc["text"]), source="scifact")
        if rec.key in keys:
            rec.title = f"{title} (SciFact {doc['_id']})"
        keys[rec.key] = doc["_id"]
        out.append(rec)
    return out, keys


def build(
    settings: Settings, docs: list[dict[str, str]], cache_dir: Path, *, vectors: bool
) -> dict[str, float]:
    """Store, index and (with `vectors`) embed SciFact under settings.data_dir; returns step -> seconds.

    Steps already done (recorded in built.json) are skipped, so a keyword-only run can be completed later.
    """
    workdir = Path(settings.data_dir)
    marker = workdir / "built.json"
    times: dict[str, float] = json.loads(marker.read_text()) if marker.exists() else {}
    if "store" not in times:
        shutil.rmtree(workdir, ignore_errors=True)
        workdir.mkdir(parents=True)
        times = {}
    engine = make_engine(settings)
    upgrade(engine)
    factory = make_sessionmaker(engine)

    def step(name: str, fn: Any) -> None:
        if name in times:
            return
        t0 = time.perf_counter()
        fn()
        times[name] = time.perf_counter() - t0
        marker.write_text(json.dumps(times))
        console.print(f"  {name}: {times[name]:.1f} s")

    def store() -> None:
        recs, _ = records(docs)
        report = store_records(factory, recs, batch_size=1000)
        if report.rejected or report.new != len(docs):
            raise SystemExit(f"SciFact ingest: {report.new} new, {report.rejected} rejected of {len(docs)}")

    def embed() -> None:
        embedder = common.CachedEmbedder.for_settings(settings, cache_dir)
        embed_pending(factory, settings=settings, embedder=embedder, progress=lambda n: embedder.save())
        embedder.save()

    step("store", store)
    step("tantivy", lambda: common.build_keyword(settings, factory))
    if vectors:
        step("embed", embed)
        step("usearch", lambda: common.build_vectors(settings, factory))
    engine.dispose()
    return times


def evaluate(
    service: Any,
    mode: str,
    queries: dict[str, str],
    qrels: dict[str, dict[str, int]],
    id_to_doc: dict[int, str],
) -> tuple[float, float, float]:
    """(nDCG@10, recall@100, mean ms per query) of one mode."""
    run: dict[str, list[str]] = {}
    t0 = time.perf_counter()
    for qid, text in queries.items():
        ids = common.search_ids(service, text, mode, 100, load=False)
        run[qid] = [id_to_doc[i] for i in ids]
    ms = (time.perf_counter() - t0) * 1000 / len(queries)
    return mean_ndcg(run, qrels, 10), mean_recall(run, qrels, 100), ms


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scifact", type=Path, default=Path("../shared/data/scifact"))
    parser.add_argument("--workdir", type=Path, default=Path("var/bench"))
    parser.add_argument("--grid", action="store_true", help="also tune hybrid fusion settings on this split")
    parser.add_argument("--rebuild", action="store_true", help="rebuild the database and indexes")
    parser.add_argument("--keyword-only", action="store_true", help="no embeddings: keyword mode only")
    parser.add_argument("--no-cv", action="store_true", help="skip the two-fold cross-validation")
    args = parser.parse_args()

    docs, queries, qrels = load_scifact(args.scifact)
    queries = {q: t for q, t in queries.items() if q in qrels}
    base = Settings()
    # The fast graph's version is in the name: stored vectors of an older graph must not be reused.
    graph = f"-g{GRAPH_VERSION}" if base.embed_model == "fast" else ""
    workdir = args.workdir / f"scifact-v{BUILD_VERSION}-tb{base.search_title_boost}-{base.embed_model}{graph}"
    settings = Settings(
        database_url=f"sqlite:///{workdir / 'paperfeed.db'}",
        data_dir=workdir,
        search_title_boost=base.search_title_boost,
        # One database a folder: the indexes keep the layout the cached builds under var/ were made with.
        search_dir=workdir / "search" / "keyword",
        vector_index_path=workdir / "search" / "vectors.usearch",
    )
    if args.rebuild:
        shutil.rmtree(workdir, ignore_errors=True)
    console.print(f"SciFact ({len(docs)} docs) under {workdir}: steps already built are cached")
    times = build(settings, docs, args.workdir, vectors=not args.keyword_only)
    console.print("build: " + ", ".join(f"{k} {v:.1f} s" for k, v in times.items()))

    engine = make_engine(settings)
    factory = make_sessionmaker(engine)
    _, key_to_doc = records(docs)
    with factory() as session:
        id_to_doc = {pid: key_to_doc[key] for pid, key in session.query(Paper.id, Paper.key)}
    embedder = None if args.keyword_only else common.CachedEmbedder.for_settings(settings, args.workdir)
    service = common.open_service(settings, factory, embedder, vectors=not args.keyword_only)

    table = Table(title=f"SciFact test split: {len(queries)} queries, {len(docs)} abstracts")
    for col in ("mode", "nDCG@10", "recall@100", "ms/query", "published nDCG@10"):
        table.add_column(col, justify="left" if col == "mode" else "right")
    results: dict[str, tuple[float, float, float]] = {}
    modes = ("keyword",) if args.keyword_only else ("keyword", "semantic", "hybrid")
    for mode in modes:
        results[mode] = evaluate(service, mode, queries, qrels, id_to_doc)
        ndcg, recall, ms = results[mode]
        label, pub = PUBLISHED.get(mode, ("goal", GOAL))
        table.add_row(mode, f"{ndcg:.3f}", f"{recall:.3f}", f"{ms:.1f}", f"{pub:.3f} ({label})")
    if settings.search_prune_min_docs > len(docs):
        # Large indexes search in two phases (docs/search.md); show what that does to quality here too.
        forced = settings.model_copy(update={"search_prune_min_docs": 0})
        two = common.open_service(forced, factory, embedder, vectors=not args.keyword_only)
        for mode in [m for m in modes if m != "semantic"]:
            ndcg, recall, ms = evaluate(two, mode, queries, qrels, id_to_doc)
            table.add_row(
                f"{mode}, two-phase (on from 200k papers)", f"{ndcg:.3f}", f"{recall:.3f}", f"{ms:.1f}", ""
            )
        # And a large index is split in shards that score with their own statistics: as at 1M on 2 cores.
        sharded_dir = workdir / "keyword-2-shards"
        build_keyword_index(factory, sharded_dir, title_boost=settings.search_title_boost, shards=2)
        sharded = forced.model_copy(update={"search_dir": sharded_dir})
        two_shards = common.open_service(sharded, factory, embedder, vectors=not args.keyword_only)
        assert two_shards.keyword.shards == 2
        for mode in [m for m in modes if m != "semantic"]:
            ndcg, recall, ms = evaluate(two_shards, mode, queries, qrels, id_to_doc)
            table.add_row(
                f"{mode}, two-phase, 2 shards (as at 1M)", f"{ndcg:.3f}", f"{recall:.3f}", f"{ms:.1f}", ""
            )
    console.print(table)
    if embedder is None:
        return
    embedder.save()
    hybrid = results["hybrid"][0]
    verdict = (
        "MET" if hybrid >= GOAL and hybrid > max(results["keyword"][0], results["semantic"][0]) else "NOT MET"
    )
    console.print(f"goal hybrid nDCG@10 >= {GOAL} and above both sides: {verdict} ({hybrid:.3f})")
    console.print(
        f"settings: rrf_k={settings.search_rrf_k}, weights keyword={settings.search_keyword_weight} "
        f"semantic={settings.search_semantic_weight}, candidates={settings.search_candidates}, "
        f"title_boost={settings.search_title_boost}"
    )
    if args.grid or not args.no_cv:
        scores = grid_scores(settings, factory, embedder, queries, qrels, id_to_doc)
        if args.grid:
            print_grid(scores)
        if not args.no_cv:
            default = (settings.search_keyword_weight, settings.search_rrf_k, settings.search_candidates)
            print_cv(scores, default, hybrid, results["hybrid"][1])
    engine.dispose()


def grid_scores(
    settings: Settings,
    factory: Any,
    embedder: Any,
    queries: dict[str, str],
    qrels: dict[str, dict[str, int]],
    id_to_doc: dict[int, str],
) -> dict[Setting, dict[str, tuple[float, float]]]:
    """Per fusion setting of GRID, each query's (nDCG@10, recall@100) in hybrid mode, through the service."""
    out: dict[Setting, dict[str, tuple[float, float]]] = {}
    with console.status(f"hybrid search over {len(GRID)} fusion settings x {len(queries)} queries"):
        for kw, k, cand in GRID:
            tuned = settings.model_copy(
                update={"search_keyword_weight": kw, "search_rrf_k": k, "search_candidates": cand}
            )
            service = common.open_service(tuned, factory, embedder)
            per: dict[str, tuple[float, float]] = {}
            for qid, text in queries.items():
                ranked = [id_to_doc[i] for i in common.search_ids(service, text, "hybrid", 100, load=False)]
                per[qid] = (ndcg_at_k(ranked, qrels[qid], 10), recall_at_k(ranked, qrels[qid], 100))
            out[(kw, k, cand)] = per
    return out


def _mean(per: dict[str, tuple[float, float]], i: int) -> float:
    return sum(v[i] for v in per.values()) / len(per)


def print_grid(scores: dict[Setting, dict[str, tuple[float, float]]]) -> None:
    """Hybrid nDCG@10 / recall@100 over fusion settings, best first (all 300 test queries)."""
    table = Table(title="hybrid fusion grid (SciFact test split, all queries: tuned on test)")
    for col in ("keyword w", "semantic w", "rrf k", "candidates", "nDCG@10", "recall@100"):
        table.add_column(col, justify="right")
    for (kw, k, cand), per in sorted(scores.items(), key=lambda kv: -_mean(kv[1], 0)):
        table.add_row(f"{kw:g}", "1", f"{k:g}", f"{cand}", f"{_mean(per, 0):.3f}", f"{_mean(per, 1):.3f}")
    console.print(table)


def print_cv(
    scores: dict[Setting, dict[str, tuple[float, float]]], default: Setting, hybrid: float, recall: float
) -> None:
    """Two-fold cross-validation of the fusion settings over the test queries, beside the tuned figure."""
    ndcg = {s: {q: v[0] for q, v in per.items()} for s, per in scores.items()}
    rec = {s: {q: v[1] for q, v in per.items()} for s, per in scores.items()}
    halves = two_folds(list(next(iter(ndcg.values()))), CV_SEED)
    folds, pooled = cross_validate(ndcg, halves)
    table = Table(
        title=f"hybrid fusion settings by two-fold cross-validation over the test queries (seed {CV_SEED}; "
        f"{len(GRID)} settings: keyword weight x RRF k x candidates, semantic weight 1)"
    )
    for col in (
        "scored on",
        "chosen on",
        "chosen (kw w, k, cand)",
        "nDCG@10 where chosen",
        "nDCG@10 held out",
    ):
        table.add_column(col, justify="left" if col.startswith(("scored", "chosen")) else "right")
    for n, fold in enumerate(folds):
        held = f"half {n + 1} ({len(fold.held_out)} queries)"
        other = f"half {2 - n} ({fold.tuned_on})"
        kw, k, cand = fold.chosen
        table.add_row(
            held, other, f"{kw:g}, {k:g}, {cand}", f"{fold.tuning_score:.3f}", f"{fold.held_out_score:.3f}"
        )
    pooled_recall = sum(rec[f.chosen][q] for f in folds for q in f.held_out) / sum(
        len(f.held_out) for f in folds
    )
    table.add_row("all (each half held out)", "the other half", "", "", f"[bold]{pooled:.3f}[/bold]")
    console.print(table)
    kw, k, cand = default
    console.print(
        f"hybrid nDCG@10: {hybrid:.3f} with the defaults (keyword weight {kw:g}, RRF k {k:g}, {cand} "
        f"candidates), chosen on all {len(ndcg[default])} test queries (tuned on test); "
        f"{pooled:.3f} two-fold cross-validated (recall@100 {recall:.3f} / {pooled_recall:.3f})"
    )


if __name__ == "__main__":
    main()
