"""JSON-lines source: real arXiv sample (plain and gzipped), id-less seed papers, hostile and cut files."""

from __future__ import annotations

import gzip
import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from paperfeed.ingest import jsonl
from paperfeed.ingest.jsonl import JsonlSource, parse_jsonl_object
from paperfeed.ingest.records import CodeLink, Item, PaperRecord, Pending, Rejected, Source, resolved

DATA = Path(__file__).parent / "data"
SAMPLE = DATA / "jsonl" / "sample.jsonl"
SAMPLE_GZ = DATA / "jsonl" / "sample.jsonl.gz"


def _split(items: list[Item]) -> tuple[list[PaperRecord], list[Rejected]]:
    records = [i for i in items if isinstance(i, PaperRecord)]
    rejected = [i for i in items if isinstance(i, Rejected)]
    assert len(records) + len(rejected) == len(items)
    return records, rejected


@pytest.mark.parametrize("path", [SAMPLE, SAMPLE_GZ])
def test_real_sample(path: Path) -> None:
    records, rejected = _split(list(resolved(JsonlSource(path).records())))
    assert rejected == []
    assert len(records) == 49
    first = records[0]
    assert first.arxiv_id == "2503.11731" and first.version is None
    assert first.title.startswith("Industrial-Grade Sensor Simulation via Gaussian Splatting")
    assert first.authors[:2] == ["Xianming Zeng", "Sicong Du"] and len(first.authors) == 16
    assert first.categories == ["cs.CV", "cs.RO"]
    assert first.comment is None
    assert first.listing_date == date(2025, 3, 18)
    assert first.source == "jsonl"
    # The hard-wrapped abstract is one paragraph.
    assert "\n" not in first.abstract
    assert first.abstract.startswith(
        "Sensor simulation is pivotal for scalable validation of autonomous driving systems"
    )
    assert records[1].comment == "Work in progress"
    assert records[1].authors[0] == "Moreno D'Incà"


def test_nulls_versions_and_old_ids() -> None:
    by_id = {r.arxiv_id: r for r in _split(list(resolved(JsonlSource(SAMPLE).records())))[0]}
    assert by_id["2506.05355"].categories == []
    assert by_id["2604.21892"].authors == []
    assert by_id["2604.21892"].version == 1
    old = by_id["astro-ph/9906432"]
    assert old.version == 1
    assert old.primary_category == "astro-ph"


def test_code_links_from_abstract_and_comment() -> None:
    by_id = {r.arxiv_id: r for r in _split(list(resolved(JsonlSource(SAMPLE).records())))[0]}
    assert by_id["2503.11781"].code_links == [
        CodeLink(url="https://github.com/gosha20777/cmKAN", kind="github", origin="abstract")
    ]
    assert by_id["2503.11806"].code_links == [
        CodeLink(url="https://projectaria.com/scenescript", kind="project", origin="comment")
    ]
    # The github.io page appears twice in the abstract: reported once.
    assert [link.url for link in by_id["2503.11892"].code_links] == [
        "https://taco-group.github.io/DecAlign",
        "https://github.com/taco-group/DecAlign",
    ]
    assert by_id["2503.11731"].code_links == []


def test_seed_papers_without_ids() -> None:
    source = JsonlSource(DATA / "seed" / "seed-page-papers.jsonl", name="demo", listing_date=date(2026, 7, 1))
    records, rejected = _split(list(resolved(source.records())))
    assert rejected == [] and len(records) == 56
    assert all(r.arxiv_id is None and r.listing_date == date(2026, 7, 1) for r in records)
    assert all(r.source == "demo" and r.key.startswith("t:") for r in records)
    assert len({r.key for r in records}) == 56
    assert records[0].code_links == [
        CodeLink(url="https://github.com/Thvnvtos/SNN-delays", kind="github", origin="abstract")
    ]


def test_listing_date_default_does_not_override_a_record_date() -> None:
    obj = {"id": "2503.11731", "title": "T", "summary": "S", "listing_date": "2025-03-18"}
    assert parse_jsonl_object(obj, listing_date=date(2030, 1, 1)).listing_date == date(2025, 3, 18)


def test_hostile_lines(tmp_path: Path) -> None:
    good = SAMPLE.read_text(encoding="utf-8").splitlines()[0]
    lines = [
        json.dumps({"id": "2503.00001", "title": "<b>Bold</b> &amp; <script>x()</script>new\r\nline",
                    "summary": "One\r\nparagraph.\n\nTwo.", "authors": ["A <i>B</i>", " "],
                    "comment": "  12 pages\n", "listing_date": "2025-03-18"}),
        json.dumps({"id": "2503.00002", "summary": "no title"}),
        json.dumps({"id": "abc", "title": "Bad id"}),
        '{"id": "2503.00003", "title": "cut',
        json.dumps({"id": "2503.00004", "title": "Bad date", "listing_date": "2025-13-01"}),
        json.dumps({"id": "2503.00005", "title": "Bad authors", "authors": "Alice"}),
        json.dumps(["not", "an", "object"]),
        "",
        json.dumps({"id": 2503.00006, "title": "Numeric id"}),
        good,
    ]  # fmt: skip
    path = tmp_path / "hostile.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    records, rejected = _split(list(resolved(JsonlSource(path).records())))
    assert [r.arxiv_id for r in records] == ["2503.00001", "2503.11731"]
    cleaned = records[0]
    assert cleaned.title == "Bold & new line"
    assert cleaned.abstract == "One paragraph.\n\nTwo."
    assert cleaned.authors == ["A B"]
    assert cleaned.comment == "12 pages"
    assert [(r.record, r.reason.split(":")[0]) for r in rejected] == [
        ("hostile.jsonl line 2 (2503.00002)", "no title"),
        ("hostile.jsonl line 3 (abc)", "invalid arXiv id 'abc'"),
        ("hostile.jsonl line 4", "invalid JSON"),
        ("hostile.jsonl line 5 (2503.00004)", "listing_date '2025-13-01' is not YYYY-MM-DD"),
        ("hostile.jsonl line 6 (2503.00005)", "authors must be a list of strings or null"),
        ("hostile.jsonl line 7", "expected a JSON object, got list"),
        ("hostile.jsonl line 9", "id must be a string, got 2503.00006"),
    ]
    assert all(r.source == "jsonl" for r in rejected)


def test_truncated_gzip_yields_what_was_read(tmp_path: Path) -> None:
    data = SAMPLE_GZ.read_bytes()
    path = tmp_path / "cut.jsonl.gz"
    path.write_bytes(data[: len(data) // 2])
    records, rejected = _split(list(resolved(JsonlSource(path).records())))
    assert 5 < len(records) < 49
    assert records[0].arxiv_id == "2503.11731"
    (error,) = rejected
    assert error.record == str(path)
    assert error.reason.startswith(f"truncated gzip after line {len(records)}:")


def test_corrupt_gzip_and_missing_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl.gz"
    bad.write_bytes(b"this is not gzip data at all\n")
    (error,) = list(resolved(JsonlSource(bad).records()))
    assert isinstance(error, Rejected) and "unreadable data after line 0" in error.reason
    missing = tmp_path / "missing.jsonl"
    (error,) = list(resolved(JsonlSource(missing).records()))
    assert isinstance(error, Rejected) and "cannot open" in error.reason


def test_streams_lazily(tmp_path: Path) -> None:
    path = tmp_path / "big.jsonl.gz"
    line = SAMPLE.read_text(encoding="utf-8").splitlines()[0] + "\n"
    with gzip.open(path, "wt", encoding="utf-8") as fh:
        fh.write(line * 2000)
    source: Source = JsonlSource(path)
    iterator = resolved(source.records())
    first = next(iterator)
    assert isinstance(first, PaperRecord)
    assert 1 + sum(1 for _ in iterator) == 2000


def test_lines_with_a_leading_id_are_pending_until_needed() -> None:
    """A re-run must not pay for parsing: the key and hash come from the raw line, parse() is deferred."""
    items = list(JsonlSource(SAMPLE).records())
    pending = [i for i in items if isinstance(i, Pending)]
    assert len(pending) == len(items)
    first = pending[0]
    record = first.parse()
    assert isinstance(record, PaperRecord)
    assert record.key == first.key
    assert record.content_hash() == first.content_hash
    # The same line under another listing-date override is a different input, so a different hash.
    other = next(iter(JsonlSource(SAMPLE, listing_date=date(2020, 1, 1)).records()))
    assert isinstance(other, Pending) and other.content_hash != first.content_hash


def test_new_cleaning_rules_invalidate_raw_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    # Stored papers were cleaned by the old rules; a re-run must re-parse them, not skip them as unchanged.
    before = next(iter(JsonlSource(SAMPLE).records()))
    monkeypatch.setattr(jsonl, "CLEANING_VERSION", jsonl.CLEANING_VERSION + 1)
    after = next(iter(JsonlSource(SAMPLE).records()))
    assert isinstance(before, Pending) and isinstance(after, Pending)
    assert before.key == after.key and before.content_hash != after.content_hash


def test_non_arxiv_category_text_is_dropped_not_the_paper() -> None:
    """A real line of the 94k dump lists ACM classes among its categories."""
    obj = {
        "id": "2504.10499",
        "title": "T",
        "summary": "S",
        "categories": [
            "cs.IR",
            "cs.CL",
            "Information storage and retrieval, Natural language\n  processing",
            "H.3.3; I.2.7",
        ],
    }
    assert parse_jsonl_object(obj).categories == ["cs.IR", "cs.CL"]


class _ReadRecorder:
    """Wraps the opened file and keeps the size of the largest chunk any read handed back."""

    def __init__(self, fh: Any) -> None:
        self.fh = fh
        self.largest = 0

    def _seen(self, data: bytes) -> bytes:
        self.largest = max(self.largest, len(data))
        return data

    def readline(self, size: int = -1) -> bytes:
        return self._seen(self.fh.readline(size))

    def read(self, size: int = -1) -> bytes:
        return self._seen(self.fh.read(size))

    def __iter__(self) -> _ReadRecorder:
        return self

    def __next__(self) -> bytes:
        return self._seen(next(self.fh))

    def __enter__(self) -> _ReadRecorder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.fh.close()


def _padded(arxiv_id: str, size: int) -> bytes:
    """A valid record line of exactly `size` bytes (without its newline)."""
    base = {"id": arxiv_id, "title": "Padded", "summary": ""}
    room = size - len(json.dumps(base).encode())
    assert room >= 0
    return json.dumps({**base, "summary": "x" * room}).encode()


def test_an_over_long_line_is_rejected_unread_and_the_rest_ingests(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cap = 4096
    good = SAMPLE.read_bytes().splitlines()[0]
    huge = b'{"id": "2503.99999", "title": "' + b"A" * (8 << 20) + b'"}'  # 8 MiB, ~8 KB gzipped
    path = tmp_path / "huge.jsonl.gz"
    with gzip.open(path, "wb") as fh:
        fh.write(b"\n".join([good, huge, _padded("2503.00010", cap), _padded("2503.00011", cap + 1), good]))
    assert path.stat().st_size < 100_000
    recorders: list[_ReadRecorder] = []

    def recording_open(self: JsonlSource) -> Any:
        recorders.append(_ReadRecorder(gzip.open(self.path, "rb")))  # noqa: SIM115 (closed by the source)
        return recorders[-1]

    monkeypatch.setattr(JsonlSource, "_open", recording_open)
    records, rejected = _split(list(resolved(JsonlSource(path, max_line_bytes=cap).records())))
    # Memory is bounded by the cap, whatever the line: no read hands back more than cap + 1 bytes.
    assert recorders[0].largest <= cap + 1
    assert [r.arxiv_id for r in records] == ["2503.11731", "2503.00010", "2503.11731"]
    reason = f"line longer than {cap} bytes (jsonl_max_line_bytes): skipped unread"
    assert [(r.record, r.reason) for r in rejected] == [
        ("huge.jsonl.gz line 2 (2503.99999)", reason),
        ("huge.jsonl.gz line 4 (2503.00011)", reason),
    ]


def test_an_over_long_last_line_without_newline_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "tail.jsonl"
    path.write_bytes(SAMPLE.read_bytes().splitlines()[0] + b"\n" + b"[" + b"1," * 5000 + b"1]")
    records, rejected = _split(list(resolved(JsonlSource(path, max_line_bytes=4096).records())))
    assert len(records) == 1
    assert [r.record for r in rejected] == ["tail.jsonl line 2"]
