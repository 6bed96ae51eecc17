"""arXiv id parsing: every spelling people paste, and clear errors for the rest."""

from __future__ import annotations

import pytest

from paperfeed.text.arxiv_ids import InvalidArxivId, format_arxiv_id, parse_arxiv_id


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2503.11731", ("2503.11731", None)),
        ("0704.0001", ("0704.0001", None)),
        ("1412.9999", ("1412.9999", None)),
        ("1501.00001", ("1501.00001", None)),
        ("2503.11731v2", ("2503.11731", 2)),
        ("  2503.11731v12 ", ("2503.11731", 12)),
        ("arXiv:2503.11731", ("2503.11731", None)),
        ("ARXIV:2503.11731v3", ("2503.11731", 3)),
        ("arxiv.org/abs/2503.11731", ("2503.11731", None)),
        ("https://arxiv.org/abs/2503.11731v1", ("2503.11731", 1)),
        ("https://arxiv.org/pdf/2503.11731v1", ("2503.11731", 1)),
        ("https://arxiv.org/pdf/2503.11731v1.pdf", ("2503.11731", 1)),
        ("https://www.arxiv.org/abs/2503.11731/", ("2503.11731", None)),
        ("http://export.arxiv.org/abs/2503.11731", ("2503.11731", None)),
        ("http://arxiv.org/abs/2503.11731v2?context=cs", ("2503.11731", 2)),
        ("oai:arXiv.org:2503.11731", ("2503.11731", None)),
        ("astro-ph/0601001", ("astro-ph/0601001", None)),
        ("hep-th/9901001v3", ("hep-th/9901001", 3)),
        ("math.GT/0309136", ("math/0309136", None)),
        ("cond-mat.stat-mech/0102536", None),  # subject classes are two capitals: not valid
        ("http://arxiv.org/abs/quant-ph/0201082v1", ("quant-ph/0201082", 1)),
        ("oai:arXiv.org:hep-th/9901001", ("hep-th/9901001", None)),
    ],
)
def test_parse_valid_and_invalid_spellings(raw: str, expected: tuple[str, int | None] | None) -> None:
    if expected is None:
        with pytest.raises(InvalidArxivId):
            parse_arxiv_id(raw)
    else:
        assert parse_arxiv_id(raw) == expected


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("abc", "expected YYMM"),
        ("", "empty"),
        ("   ", "empty"),
        ("0000.0000", "month 00"),
        ("2513.00001", "month 13"),
        ("0612.0001", "April 2007"),
        ("2503.1173", "five-digit"),
        ("1203.12345", "four-digit"),
        ("2503.11731v0", "version"),
        ("astro-ph/0613001", "month 13"),
        ("hep-th/0801001", "1991 to 2007"),
        ("https://example.org/abs/2503.11731", "expected YYMM"),
        ("2503.11731 extra", "expected YYMM"),
        ("10.1103/PhysRevD.1.1", "expected YYMM"),
    ],
)
def test_invalid_ids_raise_with_reason(raw: str, reason: str) -> None:
    with pytest.raises(InvalidArxivId) as info:
        parse_arxiv_id(raw)
    assert reason in str(info.value)
    assert repr(raw) in str(info.value)
    assert isinstance(info.value, ValueError)


def test_format_round_trip() -> None:
    assert format_arxiv_id("2503.11731", 2) == "2503.11731v2"
    assert format_arxiv_id("astro-ph/0601001", None) == "astro-ph/0601001"
    for raw in ("2503.11731v4", "hep-th/9901001v3", "0704.0001"):
        assert format_arxiv_id(*parse_arxiv_id(raw)) == raw
