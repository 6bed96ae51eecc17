"""Weighted reciprocal rank fusion, checked against values computed by hand."""

from __future__ import annotations

import pytest

from paperfeed.search.fusion import rrf


def test_equal_weights_sum_reciprocal_ranks() -> None:
    fused = rrf({"keyword": ["a", "b", "c"], "semantic": ["c", "a", "d"]}, k=60)
    scores = {f.id: f.score for f in fused}
    # a: 1/61 + 1/62; c: 1/63 + 1/61; b: 1/62; d: 1/63
    assert scores["a"] == pytest.approx(1 / 61 + 1 / 62)
    assert scores["c"] == pytest.approx(1 / 63 + 1 / 61)
    assert scores["b"] == pytest.approx(1 / 62)
    assert scores["d"] == pytest.approx(1 / 63)
    assert [f.id for f in fused] == ["a", "c", "b", "d"]
    assert fused[0].ranks == {"keyword": 1, "semantic": 2}
    assert fused[3].ranks == {"semantic": 3}


def test_weights_scale_each_ranking() -> None:
    fused = rrf({"keyword": [1, 2], "semantic": [2, 1]}, weights={"keyword": 2.0, "semantic": 1.0}, k=1)
    # 1: 2/(1+1) + 1/(1+2) = 1.3333; 2: 2/(1+2) + 1/(1+1) = 1.1667
    assert [(f.id, round(f.score, 4)) for f in fused] == [(1, 1.3333), (2, 1.1667)]


def test_zero_weight_only_breaks_nothing() -> None:
    fused = rrf({"keyword": ["x"], "semantic": ["y"]}, weights={"keyword": 1.0, "semantic": 0.0}, k=60)
    assert [f.id for f in fused] == ["x", "y"]
    assert fused[1].score == 0.0


def test_ties_break_on_best_rank_then_first_ranking() -> None:
    # a and b tie on score (1/61 each) and on best rank: the first ranking's item wins.
    fused = rrf({"keyword": ["a"], "semantic": ["b"]}, k=60)
    assert [f.id for f in fused] == ["a", "b"]
    # q is 2nd in both (2/62 = 0.03226); p is 1st in one only (1/61 = 0.01639): q wins on score.
    fused = rrf({"keyword": ["p", "q"], "semantic": ["r", "q"]}, k=60)
    assert fused[0].id == "q" and fused[0].score == pytest.approx(2 / 62)


def test_repeated_ids_count_once_and_empty_rankings_are_fine() -> None:
    fused = rrf({"keyword": ["a", "a", "b"], "semantic": []}, k=10)
    assert [(f.id, f.ranks) for f in fused] == [("a", {"keyword": 1}), ("b", {"keyword": 2})]
    assert rrf({}, k=60) == []
    with pytest.raises(ValueError):
        rrf({"keyword": ["a"]}, k=0)
