"""Code-link extraction speed: µs per real abstract, with the hint prefilter and without it (the whole regex).

    .venv/bin/python bench/code_links.py [--repeat 5]

Reads the abstracts bundled with the demo (src/paperfeed/demo/). The test suite checks *what* runs (the
pattern only on words holding a hint, tests/test_code_links.py); this measures how long it takes, which a
test on a shared, loaded machine cannot assert.
"""

from __future__ import annotations

import argparse
import gzip
import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from paperfeed.text import code_links

DEMO = Path(__file__).resolve().parent.parent / "src" / "paperfeed" / "demo" / "arxiv-recent.jsonl.gz"


def load_abstracts() -> list[str]:
    """The abstracts of the bundled demo papers."""
    with gzip.open(DEMO, "rt", encoding="utf-8") as fh:
        return [str(json.loads(line)["summary"]) for line in fh]


def whole_regex(text: str) -> int:
    """The baseline: the link pattern over the whole abstract, as before the prefilter."""
    return sum(1 for _ in code_links._FIND.finditer(text))


def per_call_us(fn: Callable[[str], object], texts: list[str], repeat: int) -> tuple[float, float]:
    """Best and median µs per text over `repeat` passes."""
    runs = []
    for _ in range(repeat):
        started = time.perf_counter()
        for text in texts:
            fn(text)
        runs.append((time.perf_counter() - started) / len(texts) * 1e6)
    return min(runs), statistics.median(runs)


def main() -> None:
    """Print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    texts = load_abstracts()
    hinted = [t for t in texts if any(h in t.lower() for h in code_links._HINTS)]
    plain = [t for t in texts if not any(h in t.lower() for h in code_links._HINTS)]
    print(f"{len(texts)} abstracts ({len(hinted)} with a hint), best / median of {args.repeat} passes")
    rows = [
        ("extract_code_links, no hint", lambda t: code_links.extract_code_links(t, "abstract"), plain),
        ("extract_code_links, with a hint", lambda t: code_links.extract_code_links(t, "abstract"), hinted),
        ("whole regex, no hint", whole_regex, plain),
        ("whole regex, with a hint", whole_regex, hinted),
    ]
    for name, fn, subset in rows:
        best, median = per_call_us(fn, subset, args.repeat)
        print(f"{name:34} {best:8.1f} µs {median:8.1f} µs")


if __name__ == "__main__":
    main()
