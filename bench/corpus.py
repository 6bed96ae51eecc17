"""Grow a large benchmark corpus from real arXiv records, and derive vectors for papers nobody embedded.

A synthetic paper i is built by a random generator seeded with (seed, i), so any slice of the corpus is the
same on every run and every machine:
- title: the first half (words, or the part before a colon) of a real title, joined to the second half of
  another real title of the same primary category;
- abstract: as many sentences as the title donor's abstract has (3..12), the first from the title donor,
  the others drawn from real abstracts of the same primary category;
- authors from a third real paper, categories and listing date from the title donor, no comment;
- id: an arXiv-style id from 2015-01 to 2024-12 (the real records are 2025-03 to 2026-07, so none collide).
Vectors of grown papers (bench/search_vectors.py): a blend of the real embeddings of the papers its text
came from: its title donor (title head and first sentence), its second-title donor, and the mean of its
sentence donors (Grower.plan names them all), with weights fitted on real embeddings of a sample of grown
papers (fit_blend), normalised (blend); then moved away from the blend as far as real embeddings of grown
papers are from theirs (spread), partly along a real paper's offset from its category's mean.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import random
import re
import sqlite3
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

CORPUS_VERSION = 1
FIRST_SYNTHETIC_YEAR = 15  # ids 1501.00001 .. 2412.xxxxx
PER_MONTH = 90_000

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z(\[0-9])")


def read_jsonl(path: Path, limit: int | None = None) -> list[dict[str, Any]]:
    """The first `limit` objects of a .jsonl or .jsonl.gz file."""
    opener = gzip.open if path.suffix == ".gz" else open
    out: list[dict[str, Any]] = []
    with opener(path, "rt", encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                out.append(json.loads(line))
                if limit is not None and len(out) >= limit:
                    break
    return out


def split_sentences(text: str) -> list[str]:
    """Sentences of an abstract (a plain regex: good enough to recombine, not to parse)."""
    flat = " ".join(text.split())
    return [s for s in _SENTENCE_END.split(flat) if s]


def synthetic_id(i: int) -> str:
    """The arXiv-style id of synthetic paper i (new-style, 5 digits, months 2015-01 onwards)."""
    month, num = divmod(i, PER_MONTH)
    year, mon = divmod(month, 12)
    if FIRST_SYNTHETIC_YEAR + year > 24:
        raise ValueError(f"synthetic paper {i} is past 2024-12 (at most {10 * 12 * PER_MONTH})")
    return f"{FIRST_SYNTHETIC_YEAR + year:02d}{mon + 1:02d}.{num + 1:05d}"


def _primary(rec: dict[str, Any]) -> str:
    cats = rec.get("categories") or []
    return str(cats[0]) if cats else "none"


def _halves(title: str) -> tuple[str, str]:
    if ":" in title:
        head, _, tail = title.partition(":")
        return head.strip(), tail.strip()
    words = title.split()
    cut = max(1, len(words) // 2)
    return " ".join(words[:cut]), " ".join(words[cut:])


class Grower:
    """Builds synthetic papers from real ones; deterministic for a given (records, seed)."""

    def __init__(self, records: Sequence[dict[str, Any]], *, seed: int = 1) -> None:
        if len(records) < 2:
            raise ValueError("need at least two real records")
        self.records = records
        self.seed = seed
        self.sentences = [split_sentences(r.get("summary") or "") for r in records]
        by_cat: dict[str, list[int]] = defaultdict(list)
        for n, rec in enumerate(records):
            if self.sentences[n]:
                by_cat[_primary(rec)].append(n)
        self.by_category = dict(by_cat)
        self.with_text = [n for n in range(len(records)) if self.sentences[n]]

    def donors(self, i: int) -> tuple[int, int, int, random.Random]:
        """(title donor, second-title/sentence donor, author donor, rng) of synthetic paper i."""
        rng = random.Random(f"{self.seed}:{i}")
        a = self.with_text[rng.randrange(len(self.with_text))]
        pool = self.by_category[_primary(self.records[a])]
        b = pool[rng.randrange(len(pool))]
        c = rng.randrange(len(self.records))
        return a, b, c, rng

    def paper(self, i: int) -> dict[str, Any]:
        """Synthetic paper i, as a JSON-lines object in the real dump's shape."""
        return self.paper_with_donors(i)[0]

    def plan(self, i: int) -> tuple[int, int, int, list[tuple[int, int]]]:
        """(title donor, second-title donor, author donor, [(sentence donor, sentence index), ...]) of
        synthetic paper i: its abstract is the title donor's first sentence, then those sentences."""
        a, b, c, rng = self.donors(i)
        pool = self.by_category[_primary(self.records[a])]
        count = min(max(len(self.sentences[a]), 3), 12)
        picks: list[tuple[int, int]] = []
        while len(picks) < count - 1:
            donor = pool[rng.randrange(len(pool))]
            picks.append((donor, rng.randrange(len(self.sentences[donor]))))
        return a, b, c, picks

    def paper_with_donors(self, i: int) -> tuple[dict[str, Any], int, int]:
        """(synthetic paper i, its title/category donor, its author donor): indexes into the real records."""
        a, b, c, picks = self.plan(i)
        ra, rb, rc = self.records[a], self.records[b], self.records[c]
        head, _ = _halves(str(ra["title"]))
        _, tail = _halves(str(rb["title"]))
        sep = ": " if ":" in str(ra["title"]) and tail else " "
        title = f"{head}{sep}{tail}".strip() if tail else head
        parts = [self.sentences[a][0]] + [self.sentences[d][k] for d, k in picks]
        obj = {
            "id": synthetic_id(i),
            "title": title,
            "authors": rc.get("authors"),
            "categories": ra.get("categories"),
            "comment": None,
            "summary": " ".join(parts),
            "listing_date": ra.get("listing_date"),
        }
        return obj, a, c

    def grow(self, start: int, stop: int) -> Iterator[dict[str, Any]]:
        """Synthetic papers start..stop-1."""
        for i in range(start, stop):
            yield self.paper(i)


def corpus_objects(real: Sequence[dict[str, Any]], size: int, *, seed: int = 1) -> Iterator[dict[str, Any]]:
    """A corpus of `size` papers: the real records first, then synthetic ones grown from them."""
    yield from real[:size]
    if size > len(real):
        yield from Grower(real, seed=seed).grow(0, size - len(real))


def write_jsonl_gz(objs: Iterable[dict[str, Any]], path: Path) -> int:
    """Write objects as gzip JSON lines (atomically: a temp file, then a rename); returns the count."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    n = 0
    with gzip.open(tmp, "wt", encoding="utf-8", compresslevel=1) as fh:
        for obj in objs:
            fh.write(json.dumps(obj, ensure_ascii=False))
            fh.write("\n")
            n += 1
    tmp.replace(path)
    return n


def blend(parts: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Unit vectors normalise(sum_j weights[j] * parts[:, j]) of parts shaped (papers, sources, dim)."""
    out = np.einsum("nsd,s->nd", np.asarray(parts, dtype=np.float32), np.asarray(weights, dtype=np.float32))
    out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)
    return out


def spread(
    blends: np.ndarray, deviations: np.ndarray, cosines: np.ndarray, rng: np.random.Generator, gamma: float
) -> np.ndarray:
    """Unit vectors at exactly cosine `cosines[i]` from the unit `blends[i]`, moved in a direction orthogonal
    to it made of `gamma` parts `deviations[i]` (a real paper's offset from its category's mean) and
    1 - gamma parts Gaussian noise: cos(b, b + t u) = 1 / sqrt(1 + t^2) for unit u orthogonal to unit b."""
    b = np.asarray(blends, dtype=np.float32)
    c = np.clip(np.asarray(cosines, dtype=np.float64), 1e-3, 1.0)
    if b.ndim != 2 or deviations.shape != b.shape or c.shape != (b.shape[0],):
        raise ValueError("need one deviation and one cosine per blend row")

    def orthonormal(x: np.ndarray) -> np.ndarray:
        x = x - (x * b).sum(axis=1, keepdims=True) * b
        return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)

    noise = orthonormal(rng.standard_normal(b.shape).astype(np.float32))
    u = orthonormal(gamma * orthonormal(np.asarray(deviations, dtype=np.float32)) + (1 - gamma) * noise)
    out = b + (np.sqrt(1.0 / c**2 - 1.0)[:, None] * u).astype(np.float32)
    out /= np.linalg.norm(out, axis=1, keepdims=True)
    return out


def fit_blend(parts: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """The weights w minimising sum_i |targets[i] - sum_j w_j parts[i, j]|^2 (least squares)."""
    parts = np.asarray(parts, dtype=np.float64)
    gram = np.einsum("nsd,ntd->st", parts, parts)
    rhs = np.einsum("nsd,nd->s", parts, np.asarray(targets, dtype=np.float64))
    return np.linalg.solve(gram, rhs)


def text_hash(texts: Iterable[str]) -> str:
    """A short hash of a list of texts (cache keys)."""
    h = hashlib.blake2b(digest_size=8)
    for t in texts:
        h.update(t.encode())
        h.update(b"\x00")
    return h.hexdigest()


def extend_database(
    conn: sqlite3.Connection,
    real: Sequence[dict[str, Any]],
    count: int,
    *,
    seed: int = 1,
    batch: int = 20_000,
) -> int:
    """Append `count` grown papers to a paperfeed SQLite database that holds the real records.

    Much cheaper than the ingest pipeline at 1M papers on a shared 2-core machine: rows go in with
    executemany, and each grown paper copies its byline rows (existing author ids) from its author donor
    and its category rows from its title donor, in SQL. No code links or daily-feed submissions: search
    does not need them. The table `bench_grown` (paper id, title donor's paper id, author donor's paper id)
    stays in the database: the benchmark derives a grown paper's vector from its title donor's. Returns the
    papers added.
    """
    key_to_id = dict(conn.execute("SELECT key, id FROM papers"))
    real_ids = [key_to_id.get(_canonical(str(r["id"]))) for r in real]
    grower = Grower(real, seed=seed)
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    conn.execute(
        "CREATE TABLE IF NOT EXISTS bench_grown "
        "(paper_id INTEGER PRIMARY KEY, title_donor INTEGER NOT NULL, author_donor INTEGER NOT NULL)"
    )
    added = 0
    next_id = (conn.execute("SELECT max(id) FROM papers").fetchone()[0] or 0) + 1
    with conn:
        for start in range(0, count, batch):
            rows, links = [], []
            for i in range(start, min(start + batch, count)):
                obj, a, c = grower.paper_with_donors(i)
                pid = next_id + i
                cats = obj["categories"] or []
                digest = hashlib.blake2b(f"{obj['title']}\n{obj['summary']}".encode(), digest_size=16)
                rows.append(
                    (
                        pid,
                        obj["id"],
                        obj["id"],
                        1,
                        obj["title"],
                        obj["summary"],
                        cats[0] if cats else None,
                        obj["listing_date"],
                        "bench",
                        digest.hexdigest(),
                        now,
                        now,
                    )
                )
                links.append((pid, real_ids[a], real_ids[c]))
            conn.executemany(
                "INSERT INTO papers (id, key, arxiv_id, version, title, abstract, primary_category, "
                "listing_date, source, content_hash, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",  # noqa: E501
                rows,
            )
            conn.executemany("INSERT INTO bench_grown VALUES (?,?,?)", links)
            added += len(rows)
        conn.execute(
            "INSERT INTO paper_categories (paper_id, position, category) SELECT g.paper_id, pc.position, "
            "pc.category FROM bench_grown g JOIN paper_categories pc ON pc.paper_id = g.title_donor "
            "WHERE g.paper_id >= ?",
            (next_id,),
        )
        conn.execute(
            "INSERT INTO paper_authors (paper_id, position, author_id) SELECT g.paper_id, pa.position, "
            "pa.author_id FROM bench_grown g JOIN paper_authors pa ON pa.paper_id = g.author_donor "
            "WHERE g.paper_id >= ?",
            (next_id,),
        )
    return added


def _canonical(raw_id: str) -> str:
    from paperfeed.text.arxiv_ids import parse_arxiv_id

    return parse_arxiv_id(raw_id)[0]
