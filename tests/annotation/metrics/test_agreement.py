import pytest

from annotation.metrics.agreement import (
    cohen_kappa_pairs,
    fleiss_kappa,
    krippendorff_alpha,
    multi_label_alpha,
    span_pair_f1,
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
