"""Cleaning feed text: tags out, entities decoded, whitespace normalised, science text left alone."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from lxml import etree

from paperfeed.text import clean
from paperfeed.text.clean import clean_block, clean_line, detex_accents

DATA = Path(__file__).parent / "data"


def test_clean_line_strips_tags_and_whitespace() -> None:
    raw = "  A <b>bold</b>\r\n title\twith  <i>tags</i>\x00\x07 "
    assert clean_line(raw) == "A bold title with tags"


def test_clean_line_none_and_empty() -> None:
    assert clean_line(None) == ""
    assert clean_line("") == ""
    assert clean_block(None) == ""
    assert clean_block("  \n ") == ""


def test_scripts_styles_and_comments_vanish() -> None:
    raw = 'x<script>alert("x")</script><style>p{}</style><!-- hidden --> <img src=x onerror=alert(1)>y'
    assert clean_line(raw) == "x y"


def test_entities_decoded_only_when_complete() -> None:
    assert clean_line("Fish &amp; Chips &lt;3 &#233;t&#xE9;") == "Fish & Chips <3 été"
    # Astronomy & Astrophysics and words after '&' must not turn into entities (&not -> ¬).
    assert clean_line("Accepted in A&A; P&notes &para x") == "Accepted in A&A; P&notes &para x"


def test_science_angle_brackets_are_text() -> None:
    raw = "p<0.05 for $0<z<5$ with <think> tokens and <answer> tags"
    assert clean_line(raw) == raw
    mixed = "<i>Gaia</i> finds $a<b and c>d$ with <think> steps"
    assert clean_line(mixed) == "Gaia finds $a<b and c>d$ with <think> steps"


def test_latex_kept_as_text() -> None:
    assert clean_line(r"The $\alpha$-decay of \textit{X}") == r"The $\alpha$-decay of \textit{X}"


def test_block_joins_hard_wraps_and_keeps_paragraphs() -> None:
    raw = "Sensor simulation is pivotal\nfor validation.\n  \nSecond paragraph\r\nwraps here.\n\n\n"
    assert clean_block(raw) == "Sensor simulation is pivotal for validation.\n\nSecond paragraph wraps here."


def test_block_html_paragraphs_become_breaks() -> None:
    raw = "<p>First <b>one</b></p><p>Second</p>"
    assert clean_block(raw) == "First one\n\nSecond"
    assert clean_line(raw) == "First one Second"


def test_real_abstract_is_unwrapped() -> None:
    with gzip.open(DATA / "jsonl" / "sample.jsonl.gz", "rt", encoding="utf-8") as fh:
        first = json.loads(fh.readline())
    out = clean_block(first["summary"])
    assert "\n" not in out
    assert out.startswith(
        "Sensor simulation is pivotal for scalable validation of autonomous driving systems,"
    )


def test_plain_text_never_reaches_the_html_parser(monkeypatch: pytest.MonkeyPatch) -> None:
    # The fast path is what keeps a 94k-paper dump quick: text without '<' or '&' must skip the parser.
    def boom(value: str, *, block: bool) -> tuple[str, bool]:
        raise AssertionError(f"slow path taken for {value[:30]!r}")

    monkeypatch.setattr(clean, "_slow_text", boom)
    text = "Vision-language models often inherit\nthe biases of their training data.\n  Second one."
    assert clean_block(text) == (
        "Vision-language models often inherit the biases of their training data.\n\nSecond one."
    )
    assert (
        clean_line(text)
        == "Vision-language models often inherit the biases of their training data. Second one."
    )


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (
            "First line\nwrapped here.\n  Second paragraph\nwrapped too.",
            "First line wrapped here.\n\nSecond paragraph wrapped too.",
        ),
        ("One.\n    Deeper indent.", "One.\n\nDeeper indent."),
        ("One.\n\tTab indent.", "One.\n\nTab indent."),
        ("One.\r\n  CRLF indent.", "One.\n\nCRLF indent."),
        # The arXiv API indents the first line and ends with an indented newline: no empty paragraphs.
        ("\n  Starts indented\nand wraps.\n  ", "Starts indented and wraps."),
        # One space of indent is not a paragraph mark, nor are two spaces inside a line.
        ("Wrapped\n line.", "Wrapped line."),
        ("Two  spaces\nwrap.", "Two spaces wrap."),
        ("Blank line.\n\n  And indent.", "Blank line.\n\nAnd indent."),
        ("Entity &amp; text\n  indented", "Entity & text\n\nindented"),
    ],
)
def test_block_indented_line_starts_a_paragraph(raw: str, expected: str) -> None:
    assert clean_block(raw) == expected


def test_block_html_indentation_is_not_a_paragraph() -> None:
    raw = "<p>First paragraph\n    still the first</p>\n  <p>Second</p>"
    assert clean_block(raw) == "First paragraph still the first\n\nSecond"


def _oai_abstract(name: str) -> str:
    root = etree.parse(DATA / "oai_pmh" / name).getroot()
    (abstract,) = root.iter("{http://arxiv.org/OAI/arXiv/}abstract")
    return abstract.text or ""


def test_real_oai_abstract_paragraphs() -> None:
    # arXiv 1401.2122 in OAI-PMH: "...contact\nvector fields.\n  In particular, we present ..."
    raw = _oai_abstract("arxiv-single.xml")
    assert "vector fields.\n  In particular" in raw
    first, second = clean_block(raw).split("\n\n")
    assert first.startswith("We introduce a novel systematic construction")
    assert first.endswith("nonisospectral Lax pairs that involve contact vector fields.")
    assert second == (
        "In particular, we present new large classes of (3+1)-dimensional integrable dispersionless"
        " systems associated to the Lax pairs which are polynomial and rational in the spectral parameter."
    )


def test_real_arxiv_api_abstract_paragraphs() -> None:
    root = etree.parse(DATA / "arxiv_api" / "query_transformer_2026.xml").getroot()
    summaries = [s.text or "" for s in root.iter("{http://www.w3.org/2005/Atom}summary")]
    (raw,) = [s for s in summaries if "This paper argues that DiT serving" in s]
    paragraphs = clean_block(raw).split("\n\n")
    assert len(paragraphs) == 3
    assert paragraphs[0].endswith("poor GPU utilization and degraded service quality.")
    assert paragraphs[1].startswith("This paper argues that DiT serving")
    assert paragraphs[2].startswith("We implement GF-DiT in vLLM-Omni")
    assert all("\n" not in p and "  " not in p for p in paragraphs)


def test_unicode_whitespace_and_invisible_controls() -> None:
    # NBSP, line separator and ideographic space are whitespace; C0/C1 controls and DEL are dropped.
    raw = "Deep\u00a0learning\u2028for \u3000 all\x1b\x7f\x85 "
    assert clean_line(raw) == "Deep learning for all"
    assert clean_block("a\x01b\n\nc\x02") == "ab\n\nc"
    # A soft hyphen is no control character: kept, and the string still comes out single-spaced.
    assert clean_line("hy\u00adphen  x") == "hy\u00adphen x"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (r"Paulo Andr\'e Lima de Castro", "Paulo André Lima de Castro"),
        (r"G{\"o}del", "Gödel"),
        (r"Erd\H{o}s", "Erdős"),
        (r"Fran\c{c}ois", "François"),
        (r"Fran\c cois", "François"),
        (r"\L{}ukasz Kaiser", "Łukasz Kaiser"),
        (r"Bj{\o}rn", "Bjørn"),
        (r"Ko\v{c}isk\'y", "Kočiský"),
        (r"Ma{\'\i}ra", "Maíra"),
        (r"{\AA}sa Stra\ss e", "Åsa Straße"),
        ("No TeX here", "No TeX here"),
        (r"Keeps \alpha and \vec x", r"Keeps \alpha and \vec x"),
    ],
)
def test_detex_accents(raw: str, expected: str) -> None:
    assert detex_accents(raw) == expected


@pytest.mark.parametrize(
    ("raw", "text"),
    [
        ("&lt;script&gt;alert(1)&lt;/script&gt;Title", "alert(1) Title"),  # entity-encoded markup
        ("<b>Bold</b> &lt;img src=x onerror=alert(1)&gt;", "Bold"),  # encoded markup beside real tags
        ("&lt;a href=&quot;javascript:alert(1)&quot;&gt;x&lt;/a&gt;", "x"),
        ("&lt;&lt;b&gt;script&gt;x", "< script>x"),  # a removal cannot join a new tag
        ("Title &lt;script src=x", "Title script src=x"),  # an unclosed opener loses its '<'
        ("T <x-card onclick=alert(1)>", "T"),  # any name, with a script attribute
        ("$<script>alert(1)</script>$ and $<img src=x>$", "$ alert(1) $ and $ $"),  # inside math too
    ],
)
def test_markup_hidden_by_entities_or_math_does_not_survive(raw: str, text: str) -> None:
    assert clean_line(raw) == text
    assert clean_block(raw) == text


def test_science_angle_brackets_are_kept() -> None:
    for raw in [
        "p<0.05 and <think> tokens",
        "mean $<p>$ and $a<b$ and $<n_e>$",
        'grammar: <copy lines="i-j"/>',
    ]:
        assert clean_line(raw) == raw
    assert clean_line("&lt;think&gt; tokens") == "<think> tokens"
