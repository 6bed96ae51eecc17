"""Seed parsers: pasted ids, BibTeX from Zotero / Google Scholar / arXiv, Zotero's CSL-JSON, hostile input."""

from __future__ import annotations

from pathlib import Path

import pytest

from paperfeed.recommend.seeds import (
    SeedError,
    SeedRef,
    normalize_title,
    parse_bibtex,
    parse_csl_json,
    parse_seed_file,
    parse_text,
)

DATA = Path(__file__).parent / "data" / "seeds"
CAPS = {"max_refs": 200, "max_bytes": 1_048_576}


def read(name: str) -> str:
    return (DATA / name).read_text(encoding="utf-8")


def test_pasted_ids_in_every_common_spelling() -> None:
    text = """
    2401.01234
    arXiv:2401.01235v2 and https://arxiv.org/abs/2401.01236v3
    http://arxiv.org/pdf/2401.01237.pdf, hep-th/9901001
    see arxiv.org/abs/math.GT/0309136v1 (old style with a subject class)
    doi: https://doi.org/10.48550/arXiv.2402.00001
    2401.01234
    """
    out = parse_text(text, **CAPS)
    assert [r.arxiv_id for r in out.refs] == [
        "2401.01234",
        "2401.01235",
        "2401.01236",
        "2401.01237",
        "hep-th/9901001",
        "math/0309136",
        "2402.00001",
    ]
    assert out.problems == []


def test_pasted_text_reports_lines_without_ids_and_bad_ids() -> None:
    out = parse_text("2401.01234\nmy favourite paper\narXiv:1399.00001\n", **CAPS)
    assert [r.arxiv_id for r in out.refs] == ["2401.01234"]
    assert out.problems[0].startswith("line 2: no arXiv id or DOI")
    assert "line 3" in out.problems[1] and "not a valid arXiv id" in out.problems[1]


def test_pasted_non_arxiv_doi_is_kept_as_a_doi() -> None:
    out = parse_text("10.1103/PhysRevLett.116.061102\n", **CAPS)
    assert out.refs == [SeedRef(doi="10.1103/physrevlett.116.061102")]


def test_zotero_bibtex() -> None:
    out = parse_bibtex(read("zotero.bib"), **CAPS)
    assert out.problems == []
    attention, bert, muller = out.refs
    assert attention.arxiv_id == "1706.03762" and attention.title == "Attention Is All You Need"
    assert bert.arxiv_id is None and bert.doi == "10.18653/v1/n19-1423"
    assert bert.title == "BERT: Pre-training of Deep Bidirectional Transformers for Language Understanding"
    # LaTeX accents decoded, braces gone.
    assert muller.title == "Über die Möbius-Funktion und Schrödinger-Operatoren"
    assert muller.arxiv_id is None and muller.doi is None


def test_google_scholar_bibtex() -> None:
    out = parse_bibtex(read("scholar.bib"), **CAPS)
    attention, adam, resnet = out.refs
    assert attention == SeedRef(title="Attention is all you need")
    assert adam.arxiv_id == "1412.6980"  # from journal={arXiv preprint arXiv:1412.6980}
    assert resnet == SeedRef(title="Deep residual learning for image recognition")


def test_arxiv_export_bibtex() -> None:
    out = parse_bibtex(read("arxiv.bib"), **CAPS)
    assert [r.arxiv_id for r in out.refs] == ["2005.14165", "hep-th/9711200", "2401.01234"]
    assert out.refs[0].title == "Language Models are Few-Shot Learners"


def test_broken_bibtex_keeps_what_parses_and_reports_the_rest() -> None:
    out = parse_bibtex(read("broken.bib"), **CAPS)
    titles = [r.title for r in out.refs]
    assert "First good entry" in titles
    assert out.refs[0].arxiv_id == "2401.00001"
    assert any("could not parse" in p for p in out.problems)
    assert any("@article{empty}" in p for p in out.problems)


def test_zotero_csl_json() -> None:
    out = parse_csl_json(read("zotero.csl.json"), **CAPS)
    attention, bert, mobius = out.refs
    assert attention.arxiv_id == "1706.03762"
    assert bert.doi == "10.18653/v1/n19-1423" and bert.arxiv_id is None
    # A number-shaped volume is not taken for an arXiv id.
    assert mobius == SeedRef(title="Über die Möbius-Funktion")
    assert len(out.problems) == 1 and out.problems[0].startswith("item 4")


def test_csl_json_that_is_not_json_or_not_a_list() -> None:
    with pytest.raises(SeedError, match="not valid JSON"):
        parse_csl_json("[{", **CAPS)
    with pytest.raises(SeedError, match="list of items"):
        parse_csl_json('"hello"', **CAPS)


def test_file_format_is_detected() -> None:
    assert (
        parse_seed_file(read("arxiv.bib").encode(), filename="x.txt", **CAPS).refs[0].arxiv_id == "2005.14165"
    )
    assert parse_seed_file(read("zotero.csl.json").encode(), filename=None, **CAPS).refs[0].arxiv_id == (
        "1706.03762"
    )
    assert parse_seed_file(b"\xef\xbb\xbf2401.01234\n", filename="ids.txt", **CAPS).refs == [
        SeedRef(arxiv_id="2401.01234")
    ]


def test_too_big_input_is_refused_with_a_clear_message() -> None:
    big = ("2401.01234\n" * 20_000).encode()
    with pytest.raises(SeedError, match="larger than 64 KiB"):
        parse_seed_file(big, filename="ids.txt", max_refs=10, max_bytes=65_536)
    with pytest.raises(SeedError, match="larger than"):
        parse_bibtex("@misc{a, title={x}}\n" * 10_000, max_refs=10, max_bytes=65_536)


def test_count_is_capped_and_reported() -> None:
    text = "\n".join(f"2401.{n:05d}" for n in range(1, 400))
    out = parse_text(text, max_refs=25, max_bytes=1_048_576)
    assert len(out.refs) == 25 and out.truncated


def test_problems_are_listed_up_to_a_cap_and_all_counted() -> None:
    out = parse_text("nothing here\n" * 500, **CAPS)
    assert out.problem_count == 500 and len(out.problems) == 50


def test_deeply_nested_json_is_a_clear_error() -> None:
    with pytest.raises(SeedError):
        parse_csl_json("[" * 100_000 + "]" * 100_000, max_refs=10, max_bytes=1_048_576)


@pytest.mark.parametrize(
    ("raw", "norm"),
    [
        (
            "{BERT}: {Pre}-training of Deep Bidirectional Transformers",
            "bert pre training of deep bidirectional transformers",
        ),
        ('Über die M{\\"o}bius-Funktion', "uber die mobius funktion"),
        ("Über die Möbius-Funktion", "uber die mobius funktion"),
        ("  Attention   is all you need. ", "attention is all you need"),
        ("$\\alpha$-Divergences", "α divergences"),
    ],
)
def test_normalize_title(raw: str, norm: str) -> None:
    assert normalize_title(raw) == norm
