import krippendorff
import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score

from annotation.metrics.agreement import (
    cohen_kappa_pairs,
    fleiss_kappa,
    krippendorff_alpha,
    multi_label_alpha,
    multi_label_pair_kappa,
    span_alpha,
    span_pair_f1,
    task_agreement,
)


def two_raters(pairs: list[tuple[str, str]]) -> dict:
    return {index: {"ann": a, "bob": b} for index, (a, b) in enumerate(pairs)}


def test_cohen_kappa_matches_the_textbook_example():
    # 20 yes/yes, 15 no/no, 5 yes/no, 10 no/yes: observed 0.7, chance 0.5, kappa 0.4.
    ratings = two_raters([("y", "y")] * 20 + [("n", "n")] * 15 + [("y", "n")] * 5 + [("n", "y")] * 10)
    (pair,) = cohen_kappa_pairs(ratings)
    assert (pair.items, pair.observed) == (50, 0.7)
    assert pair.kappa == pytest.approx(0.4)


def test_cohen_kappa_is_undefined_when_both_annotators_used_one_label_only():
    (pair,) = cohen_kappa_pairs(two_raters([("y", "y")] * 5))
    assert pair.observed == 1.0 and pair.kappa is None


def test_pairs_are_scored_only_on_items_both_annotators_labelled():
    ratings = {1: {"ann": "a", "bob": "a"}, 2: {"ann": "b", "bob": "b"}, 3: {"ann": "a", "cy": "b"}}
    by_pair = {(p.first, p.second): p for p in cohen_kappa_pairs(ratings)}
    assert by_pair[("ann", "bob")].items == 2 and by_pair[("ann", "bob")].kappa == 1.0
    assert by_pair[("ann", "cy")].items == 1 and by_pair[("ann", "cy")].kappa is None
    assert by_pair[("bob", "cy")].items == 0


def test_fleiss_kappa_is_one_for_perfect_agreement_and_negative_for_systematic_disagreement():
    agree = {i: {"a": label, "b": label, "c": label} for i, label in enumerate("xyxyxy")}
    assert fleiss_kappa(agree) == pytest.approx(1.0)
    split = {i: {"a": "x", "b": "y"} for i in range(6)}
    assert fleiss_kappa(split) < 0


def test_fleiss_kappa_uses_the_items_with_the_usual_number_of_raters():
    ratings = {i: {"a": label, "b": label} for i, label in enumerate("xyxy")}
    ratings[99] = {"a": "x", "b": "y", "c": "x"}  # one item with a third rater is left out
    assert fleiss_kappa(ratings) == pytest.approx(1.0)


def test_krippendorff_alpha_tolerates_missing_ratings_and_agrees_with_kappa_on_perfect_data():
    ratings = {1: {"a": "x", "b": "x"}, 2: {"a": "y", "c": "y"}, 3: {"b": "x", "c": "x"}, 4: {"a": "y", "b": "y", "c": "y"}}
    assert krippendorff_alpha(ratings) == pytest.approx(1.0)


def test_krippendorff_alpha_falls_with_disagreement():
    mostly = two_raters([("x", "x")] * 8 + [("y", "y")] * 8 + [("x", "y")] * 4)
    assert 0 < krippendorff_alpha(mostly) < 1
    assert krippendorff_alpha(two_raters([("x", "x")] * 3)) is None  # one category: undefined


def test_multi_label_alpha_scores_each_label_as_present_or_absent():
    ratings = {
        1: {"a": {"joy"}, "b": {"joy"}},
        2: {"a": {"anger"}, "b": {"anger", "joy"}},
        3: {"a": set(), "b": set()},
        4: {"a": {"joy", "anger"}, "b": {"joy", "anger"}},
    }
    result = multi_label_alpha(ratings, ["joy", "anger"])
    assert result["per_label"]["anger"] == pytest.approx(1.0)
    assert result["per_label"]["joy"] < 1.0
    assert result["mean"] == pytest.approx((result["per_label"]["joy"] + 1.0) / 2)


def test_span_f1_separates_exact_from_overlapping_matches():
    ratings = {
        1: {"a": [(0, 5, "PER"), (10, 15, "LOC")], "b": [(0, 5, "PER"), (9, 15, "LOC")]},
        2: {"a": [(3, 8, "ORG")], "b": [(3, 8, "PER")]},
    }
    (pair,) = span_pair_f1(ratings)
    assert pair.items == 2
    assert pair.exact_f1 == pytest.approx(2 * 1 / 6)  # one exact match, three spans each
    assert pair.partial_f1 == pytest.approx(2 * 2 / 6)  # the LOC spans overlap; ORG vs PER never match


def test_span_f1_is_undefined_without_shared_items():
    (pair,) = span_pair_f1({1: {"a": [(0, 1, "X")]}, 2: {"b": [(0, 1, "X")]}})
    assert pair.items == 0 and pair.exact_f1 is None


# --- added with the quality figures: pooled multi-label kappa, span alpha, task dispatch -----


def test_multi_label_pair_kappa_pools_every_labels_decisions():
    ratings = {1: {"a": {"x"}, "b": {"x"}}, 2: {"a": {"y"}, "b": {"x", "y"}}, 3: {"a": set(), "b": set()}}
    (pair,) = multi_label_pair_kappa(ratings, ["x", "y"])
    a = [True, False, False, True, False, False]
    b = [True, False, True, True, False, False]
    assert pair.items == 3 and pair.observed == pytest.approx(2 / 3)
    assert pair.kappa == pytest.approx(cohen_kappa_score(a, b))


def test_span_alpha_is_one_for_identical_spans_and_undefined_when_nothing_differs_in_kind():
    same = {1: {"a": [(0, 5, "PER")], "b": [(0, 5, "PER")]}, 2: {"a": [(3, 9, "LOC")], "b": [(3, 9, "LOC")]}}
    assert span_alpha(same, ["PER", "LOC"])["alpha"] == pytest.approx(1.0)
    one_kind = {1: {"a": [(0, 5, "PER")], "b": [(0, 5, "PER")]}}
    assert span_alpha(one_kind)["alpha"] is None
    assert span_alpha({1: {"a": [], "b": []}})["alpha"] is None  # nothing marked: no unit at all


def test_span_alpha_counts_a_piece_one_annotator_missed_as_disagreement():
    ratings = {
        1: {"a": [(0, 11, "PER")], "b": [(0, 5, "PER")]},  # pieces 0..5 agree, 5..11 only a marked
        2: {"a": [(4, 9, "LOC")], "b": [(4, 9, "LOC")]},
    }
    result = span_alpha(ratings, ["PER", "LOC"])
    # Units: (PER, PER), (PER, none), (LOC, LOC); categories coded none=0, LOC=1, PER=2.
    expected = krippendorff.alpha(reliability_data=np.array([[2, 2, 1], [2, 0, 1]]), level_of_measurement="nominal")
    assert result["alpha"] == pytest.approx(expected)
    assert result["per_label"]["LOC"] == pytest.approx(1.0)
    assert result["per_label"]["PER"] < 1.0


def test_task_agreement_picks_the_measures_of_each_task_type():
    labels = {1: {"a": {"labels": ["x"]}, "b": {"labels": ["x"]}}, 2: {"a": {"labels": ["y"]}, "b": {"labels": ["y"]}}}
    single = task_agreement("single_label", labels, ["x", "y"])
    assert single.pair_measure == "cohen_kappa"
    assert [m.key for m in single.measures] == ["krippendorff_alpha", "fleiss_kappa", "cohen_kappa_mean"]
    assert single.measures[0].value == pytest.approx(1.0) and single.measures[0].band == "almost_perfect"
    multi = task_agreement("multi_label", labels, ["x", "y"])
    assert multi.pair_measure == "pooled_kappa" and multi.per_label["x"] == pytest.approx(1.0)
    spans = task_agreement("spans", {1: {"a": {"spans": [{"start": 0, "end": 2, "label": "x"}]}, "b": {"spans": []}}}, ["x"])
    assert spans.pair_measure == "exact_f1" and spans.pairs[0].score == 0.0
    assert spans.measures[2].chance_corrected is False and spans.measures[2].band is None
