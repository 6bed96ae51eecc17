"""The tables of bench/search_speed.py: latency against FTS5, builds and sizes, ANN recall, vector sources."""

from __future__ import annotations

from typing import Any

import numpy as np
from rich.console import Console
from rich.table import Table

console = Console(width=150)


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (nearest rank) of values."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, int(np.ceil(q / 100 * len(ordered))) - 1))]


def report(results: dict[str, dict[str, Any]]) -> None:
    """The latency table, then build times, sizes and RSS."""
    rounds = max(int(res.get("rounds", 1)) for res in results.values())
    table = Table(
        title="search latency through SearchService (ms, top 10, query embedding included; "
        f"a query's latency: the median of its {rounds} runs)"
    )
    for col in (
        "corpus",
        "engine",
        "p50",
        "p99",
        "max",
        "p99 every run",
        "FTS5 p99 / p99 (all words / no stop words)",
        "goal",
    ):
        table.add_column(col, justify="left" if col in ("corpus", "engine", "goal") else "right")
    goals = {"keyword": 15.0, "hybrid": 60.0}
    baselines = ("fts5", "fts5-content")
    for label, res in results.items():
        fts_p99 = [percentile(res[b], 99) for b in baselines if b in res]
        names = ("keyword", "semantic", "hybrid", "keyword-ids", "keyword-one-phase", "hybrid-ids")
        for name in (*names, *baselines):
            if name not in res:  # results of an older run
                continue
            p50, p99 = percentile(res[name], 50), percentile(res[name], 99)
            goal = ""
            if label.startswith("1m") and name in goals:
                goal = f"p99 <= {goals[name]:g} ms: {'met' if p99 <= goals[name] else 'NOT met'}"
                if name == "keyword" and fts_p99:
                    # Read against the stricter baseline (stop words dropped, as paperfeed does).
                    goal += f"; >= 20x FTS5: {'met' if min(fts_p99) / p99 >= 20 else 'NOT met'}"
            ratio = " / ".join(f"{f / p99:.1f}x" for f in fts_p99) if name not in baselines else ""
            shown = {
                "fts5": "SQLite FTS5 (bm25, every word OR-ed)",
                "fts5-content": "SQLite FTS5 (bm25, OR, stop words dropped as paperfeed does)",
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
            f"{res.get('vectors_count', 0):,}",
        )
    console.print(build)
    recall_report(results)
    for label, res in results.items():
        console.print(f"{label}: load average during the run {res['loadavg_start']} -> {res['loadavg_end']}")
        if "queries_with_stop_words" in res:
            console.print(
                f"{label}: {res['queries_with_stop_words']} of {res['n_queries']} queries hold a stop word "
                "(the two FTS5 rows differ only on those)"
            )
        if "two_phase_overlap" in res:
            state = "on" if res["two_phase_on"] else "off (below search_prune_min_docs)"
            console.print(
                f"{label}: two-phase keyword search {state}; its top 10 shares "
                f"{res['two_phase_overlap']:.1%} of the one-phase top 10 (same queries)"
            )


def recall_report(results: dict[str, dict[str, Any]]) -> None:
    """ANN recall@10 against exact search, and where the vectors came from."""
    if not any("recall10_k10" in res for res in results.values()):
        return
    table = Table(title="HNSW (usearch) recall@10 against exact brute-force search over every stored vector")
    for col in (
        "corpus",
        "vectors",
        "queries",
        "k=10 (ef)",
        "k=candidates, first 10",
        "ANN ms/query",
        "exact s",
    ):
        table.add_column(col, justify="left" if col in ("corpus", "vectors") else "right")
    for label, res in results.items():
        if "recall10_k10" not in res:
            continue
        every = int(res.get("real_every", 1))
        grown = res.get("vectors", {}).get("grown", 0)
        real = res["vectors"]["real"] if grown else res["vectors_count"]
        source = f"{real:,} real" + (f" (every {every}th paper)" if every != 1 else "")
        if grown:
            source += f" + {grown:,} derived from their donor"
        table.add_row(
            label,
            source,
            f"{res['recall_queries']}",
            f"{res['recall10_k10']:.3f} (ef {res['ef_search']})",
            f"{res['recall10_pool']:.3f} (k {res['recall_pool']})",
            f"{res['ann_ms_k10']:.2f} / {res['ann_ms_pool']:.2f}",
            f"{res['exact_s']:.1f}",
        )
    console.print(table)
    sweep = Table(title="recall@10 of the HNSW index asked for k=10 at other ef_search values (ms per query)")
    sweep.add_column("corpus")
    efs = sorted({int(ef) for res in results.values() for ef in res.get("ef_sweep", {})})
    for ef in efs:
        sweep.add_column(f"ef {ef}", justify="right")
    for label, res in results.items():
        got = {int(ef): v for ef, v in res.get("ef_sweep", {}).items()}
        sweep.add_row(label, *(f"{got[ef][0]:.3f} ({got[ef][1]:.1f})" if ef in got else "" for ef in efs))
    if efs:
        console.print(sweep)
    for label, res in results.items():
        same = res.get("same_size")
        if same:
            console.print(
                f"{label}: at the base's size, recall@10 (k=10) on {same['real']['vectors']:,} real vectors "
                f"alone {same['real']['recall10']:.3f}, on {same['derived']['vectors']:,} derived vectors "
                f"alone {same['derived']['recall10']:.3f}"
            )
    for label, res in results.items():
        cal = res.get("vectors", {}).get("calibration")
        if cal:
            b, d = cal["cos_blend"], cal["cos_title_donor"]
            console.print(
                f"{label}: grown vectors: blend = normalise(w . [title donor, second-title donor, mean of "
                f"sentence donors]), w = {cal['weights']} fitted on real embeddings of {cal['n']} grown "
                f"papers (cosine real to blend: mean {b['mean']:.3f}, p10 {b['p10']:.3f}, "
                f"p90 {b['p90']:.3f}; real to title donor {d['mean']:.3f}); then spread to those cosines "
                f"(gamma {cal['gamma']})"
            )
            crowd = Table(
                title=f"{label}: how crowded grown vectors are, on the {cal['n']} calibration papers"
            )
            for col in (
                "vectors",
                "sim. to nearest real paper",
                "to 10th nearest",
                "to each other",
                "to title donor",
            ):
                crowd.add_column(col, justify="left" if col == "vectors" else "right")
            for name, row in cal["crowd"].items():
                crowd.add_row(
                    {"real": "real embeddings", "derived": "derived (stored)", "blend": "blend alone"}[name],
                    *(f"{row[k]:.3f}" for k in ("top1", "top10", "pairwise", "to_donor")),
                )
            console.print(crowd)
        if "embed" in res:
            e = res["embed"]
            console.print(
                f"{label}: real papers embedded: {e['papers']:,} ({e['embedded']:,} in the run that built "
                f"them, {e['per_s']:.1f} papers/s)"
            )
