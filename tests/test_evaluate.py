"""Retrieval metrics against values computed by hand (log2 discounts written out)."""

from __future__ import annotations

import math

import pytest

from paperfeed.search.evaluate import (
    cross_validate,
    dcg,
    mean_ndcg,
    mean_recall,
    ndcg_at_k,
    parse_qrels,
    recall_at_k,
    two_folds,
)

LOG2_3 = math.log2(3)  # discount of rank 2


def test_dcg_by_hand() -> None:
    # ranks 1..3: 3/log2(2) + 2/log2(3) + 1/log2(4) = 3 + 1.26186 + 0.5
    assert dcg([3, 2, 1]) == pytest.approx(3 + 2 / LOG2_3 + 0.5)
    assert dcg([]) == 0.0


def test_ndcg_binary_with_a_miss_between() -> None:
    # DCG = 1/1 + 0 + 1/2 = 1.5; ideal = 1 + 1/log2(3) = 1.630930; nDCG = 0.919720
    assert ndcg_at_k(["a", "x", "b"], {"a": 1, "b": 1}, 10) == pytest.approx(0.919720, abs=1e-6)


def test_ndcg_graded_order_matters() -> None:
    # ranked b(1), a(2): DCG = 1 + 2/log2(3) = 2.261860; ideal a, b: 2 + 1/log2(3) = 2.630930
    assert ndcg_at_k(["b", "a"], {"a": 2, "b": 1}, 10) == pytest.approx(0.859719, abs=1e-6)
    assert ndcg_at_k(["a", "b"], {"a": 2, "b": 1}, 10) == pytest.approx(1.0)


def test_ndcg_cut_at_k_and_ideal_cut_too() -> None:
    judged = {"a": 1, "b": 1, "c": 1}
    assert ndcg_at_k(["x", "a"], judged, 1) == 0.0
    # k=1, first hit relevant: DCG 1, ideal over one slot 1
    assert ndcg_at_k(["b", "x"], judged, 1) == pytest.approx(1.0)
    # k=2: DCG = 0 + 1/log2(3); ideal = 1 + 1/log2(3)
    assert ndcg_at_k(["x", "c"], judged, 2) == pytest.approx((1 / LOG2_3) / (1 + 1 / LOG2_3))


def test_ndcg_duplicates_count_once_and_bad_k() -> None:
    # a twice: the second copy is skipped, b takes rank 2 -> the ideal ranking
    assert ndcg_at_k(["a", "a", "b"], {"a": 1, "b": 1}, 10) == pytest.approx(1.0)
    with pytest.raises(ValueError):
        ndcg_at_k(["a"], {"a": 1}, 0)


def test_ndcg_no_relevant_document_is_zero() -> None:
    assert ndcg_at_k(["a"], {"a": 0}, 10) == 0.0


def test_recall_by_hand() -> None:
    judged = {"a": 1, "b": 2, "c": 1, "z": 0}
    assert recall_at_k(["a", "x", "c"], judged, 2) == pytest.approx(1 / 3)
    assert recall_at_k(["a", "x", "c"], judged, 3) == pytest.approx(2 / 3)
    assert recall_at_k(["z"], judged, 10) == 0.0
    assert recall_at_k([], {"a": 0}, 10) == 0.0


def test_means_skip_unjudged_queries_and_score_missing_runs_zero() -> None:
    qrels = {"q1": {"a": 1}, "q2": {"b": 1, "c": 1}, "q3": {"d": 0}}
    run = {"q1": ["a"], "q3": ["d"]}  # q2 missing: scores 0; q3 has nothing relevant: left out
    assert mean_ndcg(run, qrels, 10) == pytest.approx(0.5)
    assert mean_recall(run, qrels, 100) == pytest.approx(0.5)
    run["q2"] = ["x", "b"]
    # q2: DCG = 1/log2(3); ideal = 1 + 1/log2(3)
    q2 = (1 / LOG2_3) / (1 + 1 / LOG2_3)
    assert mean_ndcg(run, qrels, 10) == pytest.approx((1 + q2) / 2)
    assert mean_recall(run, qrels, 100) == pytest.approx((1 + 0.5) / 2)
    with pytest.raises(ValueError):
        mean_ndcg(run, {"q": {"a": 0}})


def test_parse_qrels() -> None:
    lines = ["query-id\tcorpus-id\tscore", "1\t31715818\t1", "1\t42\t2", "", "3\t14717500\t1"]
    assert parse_qrels(lines) == {"1": {"31715818": 1, "42": 2}, "3": {"14717500": 1}}
    with pytest.raises(ValueError, match="line 2"):
        parse_qrels(["query-id\tcorpus-id\tscore", "1 2 3"])


def test_two_folds_are_disjoint_halves_fixed_by_the_seed() -> None:
    ids = [f"q{i}" for i in range(11)]
    a, b = two_folds(ids, seed=7)
    assert sorted(a + b) == sorted(ids) and not set(a) & set(b) and (len(a), len(b)) == (5, 6)
    assert two_folds(list(reversed(ids)), seed=7) == (a, b)  # the input order does not matter
    assert two_folds(ids, seed=8) != (a, b)


def test_cross_validation_scores_each_half_with_the_setting_chosen_on_the_other() -> None:
    # "x" is best on q1+q2, "y" on q3+q4: each half gets the other half's winner.
    scores = {
        "x": {"q1": 1.0, "q2": 0.8, "q3": 0.2, "q4": 0.0},
        "y": {"q1": 0.0, "q2": 0.6, "q3": 0.6, "q4": 0.4},
    }
    folds, pooled = cross_validate(scores, [["q1", "q2"], ["q3", "q4"]])
    # fold 1 (q1, q2) is scored with the winner on q3+q4: y (0.5 against 0.1), which gets (0 + 0.6) / 2
    assert folds[0].chosen == "y" and folds[0].tuning_score == pytest.approx(0.5)
    assert folds[0].held_out_score == pytest.approx(0.3)
    # fold 2 (q3, q4) with the winner on q1+q2: x (0.9 against 0.3), which gets (0.2 + 0) / 2
    assert folds[1].chosen == "x" and folds[1].held_out_score == pytest.approx(0.1)
    assert pooled == pytest.approx((0.0 + 0.6 + 0.2 + 0.0) / 4)
    # Tuned on everything, the best setting would claim 0.5 (x: 2.0 / 4, y: 1.6 / 4): CV says 0.2.
    tied = {"a": {"q1": 1.0, "q2": 0.0}, "b": {"q1": 1.0, "q2": 0.0}}
    assert [f.chosen for f in cross_validate(tied, [["q1"], ["q2"]])[0]] == ["a", "a"]
    with pytest.raises(ValueError):
        cross_validate(scores, [["q1", "q2", "q3", "q4"]])
