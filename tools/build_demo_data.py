"""Rebuild the bundled demo set from ../shared/data (run by hand; the output is committed).

The demo holds the papers of the last 10 listing days of arxiv-2025-94k.jsonl.gz, the 56 seed-page papers
(title + abstract only) and the recorded Hugging Face daily_papers response (30 papers with upvotes).
"""

from __future__ import annotations

import gzip
import json
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
OUT = ROOT / "src" / "paperfeed" / "demo"
DAYS = 10


def main() -> int:
    """Write the demo files into src/paperfeed/demo/."""
    src = SHARED / "data" / "arxiv-2025-94k.jsonl.gz"
    if not src.exists():
        print(f"missing {src}: the shared data folder must sit beside the repo", file=sys.stderr)
        return 1
    with gzip.open(src, "rt", encoding="utf-8") as fh:
        lines = fh.readlines()
    days = sorted({json.loads(line)["listing_date"] for line in lines})[-DAYS:]
    keep = [line for line in lines if json.loads(line)["listing_date"] in days]
    OUT.mkdir(parents=True, exist_ok=True)
    # mtime=0 keeps the gzip byte-identical across rebuilds.
    target = OUT / "arxiv-recent.jsonl.gz"
    with open(target, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as gz:
        gz.write("".join(keep).encode())
    shutil.copyfile(SHARED / "data" / "seed-page-papers.jsonl", OUT / "seed-page-papers.jsonl")
    shutil.copyfile(SHARED / "fixtures" / "hf" / "daily_papers.json", OUT / "hf-daily-papers.json")
    print(f"{len(keep)} papers from {days[0]} to {days[-1]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
