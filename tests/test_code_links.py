"""Code-link extraction on real abstracts (seed page, arXiv sample) and on hand-made edge cases."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from paperfeed.ingest.records import CodeLink
from paperfeed.text import code_links
from paperfeed.text.code_links import extract_code_links, link_kind, normalise_url

DATA = Path(__file__).parent / "data"


def _seed() -> list[dict[str, str]]:
    with (DATA / "seed" / "seed-page-papers.jsonl").open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


def _urls(text: str | None, origin: str = "abstract") -> list[tuple[str, str]]:
    return [(link.url, link.kind) for link in extract_code_links(text, origin)]


# Read by hand from the abstracts (1-based line numbers of seed-page-papers.jsonl).
SEED_EXPECTED = {
    1: [("https://github.com/Thvnvtos/SNN-delays", "github")],
    2: [("https://github.com/facebookresearch/forwardgnn", "github")],
    7: [("https://github.com/D-X-Y/NAS-Projects", "github")],
    # "https://github.com/ibm/tsfm/#notebooks-links": fragment and slash dropped; the HF docs link is no repo.
    11: [("https://github.com/ibm/tsfm", "github")],
    13: [("https://github.com/divelab/AIRS", "github")],  # inside parentheses
    15: [("https://github.com/ChenxiangMA/AugLocal", "github")],  # sentence-final period
    18: [("https://github.com/tensorflow/addons", "github")],  # /blob/master/... reduced to the repo
    38: [("https://github.com/Liu-SD/multi-output-deblur", "github")],
    48: [("https://github.com/Oneflow-Inc/oneflow", "github")],
    50: [("https://github.com/Water2sea/TPGN", "github")],
    52: [("https://github.com/edmav4/BiPer", "github")],
    55: [("https://github.com/facebookresearch/mowst-gnn", "github")],
}


def test_seed_page_papers_exact_links() -> None:
    papers = _seed()
    assert len(papers) == 56
    for number, paper in enumerate(papers, start=1):
        got = _urls(paper["summary"])
        assert got == SEED_EXPECTED.get(number, []), (number, paper["title"])


def test_seed_paper_without_links_gives_none() -> None:
    paper = _seed()[2]
    assert paper["title"].startswith("FinalMLP")
    assert extract_code_links(paper["summary"], "abstract") == []


def test_origin_is_recorded() -> None:
    links = extract_code_links("Code: https://github.com/a/b", "comment")
    assert links == [CodeLink(url="https://github.com/a/b", kind="github", origin="comment")]


def test_real_arxiv_sample_links() -> None:
    rows = {}
    with (DATA / "jsonl" / "sample.jsonl").open(encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            rows[row["id"]] = row
    # "The code is available at https://github.com/taco-group/DecAlign." plus its github.io page twice.
    assert _urls(rows["2503.11892"]["summary"]) == [
        ("https://taco-group.github.io/DecAlign", "project"),
        ("https://github.com/taco-group/DecAlign", "github"),
    ]
    assert _urls(rows["2503.11806"]["comment"], "comment") == [
        ("https://projectaria.com/scenescript", "project")
    ]
    assert _urls(rows["2503.11930"]["comment"], "comment") == [
        ("https://huggingface.co/datasets/fatdove/Iris_Database", "huggingface")
    ]
    assert _urls(rows["2507.07257"]["summary"] + " " + (rows["2507.07257"]["comment"] or "")) == [
        ("https://github.com/CMBAgents/cmbagent", "github"),
        ("https://huggingface.co/spaces/astropilot-ai/cmbagent", "huggingface"),
    ]
    assert _urls(rows["2503.11731"]["summary"]) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("see github.com/Foo/Bar.git, now", [("https://github.com/Foo/Bar", "github")]),
        ("(https://github.com/a/b/tree/main/src/x.py).", [("https://github.com/a/b", "github")]),
        ("HTTP://WWW.GitHub.com/o/r?tab=readme#top", [("https://github.com/o/r", "github")]),
        ("http://github.com/o/r/ and https://github.com/o/r", [("https://github.com/o/r", "github")]),
        (
            r"\url{https://huggingface.co/inclusionAI/Ling-Coder-lite}.",
            [("https://huggingface.co/inclusionAI/Ling-Coder-lite", "huggingface")],
        ),
        (
            r"\href{https://hf.co/datasets/nvidia/Granary/blob/main/x}{data}",
            [("https://huggingface.co/datasets/nvidia/Granary", "huggingface")],
        ),
        (
            "demo at https://huggingface.co/spaces/org/app/",
            [("https://huggingface.co/spaces/org/app", "huggingface")],
        ),
        ("https://huggingface.co/docs/transformers/main/en/index", []),
        (
            "https://gitlab.com/nativqa/nativqa-framework).",
            [("https://gitlab.com/nativqa/nativqa-framework", "gitlab")],
        ),
        (
            "https://gitlab.kit.edu/kit/aifb/ATKS/public/2.5d-det/-/tree/main.",
            [("https://gitlab.kit.edu/kit/aifb/ATKS/public/2.5d-det", "gitlab")],
        ),
        (
            "DOI 10.5281/zenodo.12788419) and https://zenodo.org/records/7326540/files/x.zip,",
            [
                ("https://zenodo.org/records/12788419", "zenodo"),
                ("https://zenodo.org/records/7326540", "zenodo"),
            ],
        ),
        ("https://zenodo.org/record/123456?preview=1", [("https://zenodo.org/records/123456", "zenodo")]),
        ("https://bitbucket.org/team/repo/src/master/", [("https://bitbucket.org/team/repo", "bitbucket")]),
        ("codeberg.org/user/proj/src/branch/main", [("https://codeberg.org/user/proj", "codeberg")]),
        (
            "https://paperswithcode.com/paper/some-paper",
            [("https://paperswithcode.com/paper/some-paper", "paperswithcode")],
        ),
        ("Project page: https://Example.org/proj/?a=1#x.", [("https://example.org/proj", "project")]),
        ("see https://en.wikipedia.org/wiki/Foo_(bar) for background", []),
        ("https://github.com/features/copilot and mail me at user@github.com/x", []),
        ("Built on GitHub and Hugging Face.", []),
        ("https://github.com/orgs/openai/repositories", [("https://github.com/openai", "github")]),
    ],
)
def test_edge_cases(text: str, expected: list[tuple[str, str]]) -> None:
    assert _urls(text) == expected


def test_balanced_parens_kept() -> None:
    assert normalise_url("https://example.github.io/a_(b))") == "https://example.github.io/a_(b)"
    assert link_kind("https://example.github.io/a_(b)") == "project"


def test_normalise_url() -> None:
    assert normalise_url("github.com/Owner/Repo.git/") == "https://github.com/Owner/Repo"
    assert normalise_url("https://hf.co/org/model/resolve/main/w.bin") == "https://huggingface.co/org/model"
    assert normalise_url("https://github.com/o/r/blob/main/README.md#L3") == "https://github.com/o/r"


def test_none_and_empty() -> None:
    assert extract_code_links(None, "abstract") == []
    assert extract_code_links("", "abstract") == []


class _CountingPattern:
    """Stands in for the link pattern and records the (start, end) windows it is run on."""

    def __init__(self, pattern: re.Pattern[str]) -> None:
        self.pattern = pattern
        self.windows: list[tuple[int, int]] = []

    def finditer(self, text: str, pos: int = 0, endpos: int = sys.maxsize) -> Iterator[re.Match[str]]:
        self.windows.append((pos, min(endpos, len(text))))
        return self.pattern.finditer(text, pos, endpos)


def test_the_pattern_runs_only_on_words_with_a_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    """The fast paths, checked by what runs rather than by a stopwatch (the timing is bench/code_links.py)."""
    spy = _CountingPattern(code_links._FIND)
    monkeypatch.setattr(code_links, "_FIND", spy)
    plain = "We study sensor simulation for scalable validation of autonomous driving systems. " * 18
    assert extract_code_links(plain, "abstract") == []
    assert spy.windows == []  # no hint in the text: the pattern never runs
    text = plain + "Code: https://github.com/org/repo. " + plain
    links = extract_code_links(text, "abstract")
    assert [link.url for link in links] == ["https://github.com/org/repo"]
    # One window, the whitespace-delimited word holding the hints, not the whole abstract.
    assert len(spy.windows) == 1
    start, end = spy.windows[0]
    assert text[start:end] == "https://github.com/org/repo."


def test_paper_code_links_merges_abstract_and_comment() -> None:
    from paperfeed.text.code_links import paper_code_links

    links = paper_code_links(
        "Code: https://github.com/Org/Repo.",
        "Accepted at X. https://github.com/org/repo and https://zenodo.org/records/123",
    )
    assert [(link.url, link.origin) for link in links] == [
        ("https://github.com/Org/Repo", "abstract"),
        ("https://zenodo.org/records/123", "comment"),
    ]
