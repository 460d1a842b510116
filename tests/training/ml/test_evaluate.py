"""Evaluation reports: intervals, item counts, the too-small and degenerate flags, paired comparison."""

import json

import numpy as np
import pytest
from seqeval.metrics import f1_score as seqeval_f1
from sklearn.metrics import f1_score
from sklearn.preprocessing import MultiLabelBinarizer
from statsmodels.stats.proportion import proportion_confint

from training.ml import evaluate
from training.ml.spans import Span

LABELS = ["neg", "pos"]


def _binary(items: int, positives: int, *, wrong_every: int = 0) -> tuple[list[str], list[str]]:
    """Gold with ``positives`` of ``items`` positive; predictions wrong on every ``wrong_every``-th item."""
    gold = ["pos" if i < positives else "neg" for i in range(items)]
    flip = {"pos": "neg", "neg": "pos"}
    predicted = [flip[g] if wrong_every and i % wrong_every == wrong_every - 1 else g for i, g in enumerate(gold)]
    return gold, predicted


def _noisy(gold: list[str], error_rate: float, seed: int) -> list[str]:
    rng = np.random.default_rng(seed)
    return [("pos" if g == "neg" else "neg") if rng.random() < error_rate else g for g in gold]


def _balanced(items: int) -> list[str]:
    return ["pos" if i % 2 else "neg" for i in range(items)]


TEXT = "Alice met Bob in Paris"
ALICE, BOB, PARIS = Span(0, 5, "PER"), Span(10, 13, "PER"), Span(17, 22, "LOC")


# --- values and intervals -------------------------------------------------------------------------


def test_single_label_primary_metric_is_macro_f1_and_matches_scikit_learn():
    gold, predicted = _binary(100, 20, wrong_every=7)
    result = evaluate.single_label_metrics(gold, predicted, LABELS)
    assert result["metric"] == "macro_f1"
    assert result["value"] == pytest.approx(f1_score(gold, predicted, average="macro"), abs=1e-4)
    assert result["macro_f1"]["value"] == result["value"]
    assert result["accuracy"]["value"] == pytest.approx(np.mean([g == p for g, p in zip(gold, predicted)]), abs=1e-4)
    assert result["items"] == result["accuracy"]["items"] == 100
    assert result["per_class"]["pos"]["support"] == 20 and result["per_class"]["neg"]["support"] == 80
    assert result["predicted_counts"] == {"neg": predicted.count("neg"), "pos": predicted.count("pos")}
    assert result["confusion_matrix"]["labels"] == LABELS and sum(map(sum, result["confusion_matrix"]["matrix"])) == 100


def test_multi_label_macro_and_micro_f1_match_scikit_learn():
    rng = np.random.default_rng(3)
    labels = ["a", "b", "c"]
    gold = [tuple(name for name in labels if rng.random() < 0.4) for _ in range(200)]
    predicted = [tuple(name for name in labels if (name in row) != (rng.random() < 0.15)) for row in gold]
    binarizer = MultiLabelBinarizer(classes=labels)
    y_true, y_pred = binarizer.fit_transform(gold), binarizer.transform(predicted)
    result = evaluate.multi_label_metrics(gold, predicted, labels)
    assert result["metric"] == "macro_f1"
    assert result["value"] == pytest.approx(f1_score(y_true, y_pred, average="macro", zero_division=0), abs=1e-4)
    assert result["micro_f1"]["value"] == pytest.approx(f1_score(y_true, y_pred, average="micro", zero_division=0), abs=1e-4)
    assert result["accuracy"]["value"] == pytest.approx(np.mean([set(g) == set(p) for g, p in zip(gold, predicted)]), abs=1e-4)
    assert result["per_class"]["a"]["support"] == int(y_true[:, 0].sum())
    assert result["predicted_counts"]["b"] == int(y_pred[:, 1].sum())
    tn_fp, fn_tp = result["confusion_matrix"]["per_label"][0]
    assert sum(tn_fp) + sum(fn_tp) == 200


def test_span_entity_f1_matches_seqeval_and_equals_micro_f1():
    texts = [TEXT] * 40
    gold = [(ALICE, BOB, PARIS)] * 40
    predicted = [(ALICE, Span(17, 22, "PER"))] * 15 + [(ALICE, BOB, PARIS)] * 25
    result = evaluate.span_metrics(texts, gold, predicted, ["PER", "LOC"])
    y_true = [evaluate.word_bio(t, s) for t, s in zip(texts, gold)]
    y_pred = [evaluate.word_bio(t, s) for t, s in zip(texts, predicted)]
    assert result["metric"] == "entity_f1"
    assert result["value"] == pytest.approx(seqeval_f1(y_true, y_pred), abs=1e-4)
    assert result["micro_f1"]["value"] == result["value"]
    assert result["items"] == 40
    assert result["per_class"]["PER"]["support"] == 80 and result["per_class"]["LOC"]["support"] == 40
    assert result["predicted_counts"] == {"PER": 80, "LOC": 25}
    assert "accuracy" not in result and result["labels"] == ["PER", "LOC"]


@pytest.mark.parametrize("task", ["single_label", "multi_label", "spans"])
def test_every_interval_contains_its_value(task):
    gold, predicted = _binary(120, 40, wrong_every=5)
    texts = None
    if task == "multi_label":
        gold, predicted = [(g,) for g in gold], [(p,) for p in predicted]
    if task == "spans":
        texts = [TEXT] * 120
        gold = [(ALICE, PARIS) if g == "pos" else (ALICE,) for g in gold[:120]]
        predicted = [(ALICE, PARIS) if i % 3 else (BOB,) for i in range(120)]
    result = evaluate.report(task, gold, predicted, LABELS if task != "spans" else ["PER", "LOC"], texts=texts)
    low, high = result["interval"]
    assert low <= result["value"] <= high and low < high
    for scores in result["per_class"].values():
        for key in ("precision", "recall", "f1"):
            low, high = scores[key]["interval"]
            assert low <= scores[key]["value"] <= high
    if "accuracy" in result:
        low, high = result["accuracy"]["interval"]
        assert low <= result["accuracy"]["value"] <= high


def test_the_interval_narrows_with_more_items():
    few_gold = _balanced(40)
    many_gold = _balanced(2000)
    few = evaluate.single_label_metrics(few_gold, _noisy(few_gold, 0.2, seed=1), LABELS)
    many = evaluate.single_label_metrics(many_gold, _noisy(many_gold, 0.2, seed=1), LABELS)
    width = lambda interval: interval[1] - interval[0]
    assert width(many["interval"]) < width(few["interval"]) / 3
    assert width(many["accuracy"]["interval"]) < width(few["accuracy"]["interval"]) / 3


def test_wilson_interval_of_none_and_all_correct_is_one_sided_and_not_empty():
    assert evaluate.wilson_interval(0, 20)[0] == 0.0 and evaluate.wilson_interval(0, 20)[1] > 0.1
    assert evaluate.wilson_interval(20, 20)[1] == 1.0 and evaluate.wilson_interval(20, 20)[0] < 0.9
    for successes in (0, 7, 20):
        expected = proportion_confint(successes, 20, alpha=0.05, method="wilson")
        assert evaluate.wilson_interval(successes, 20) == pytest.approx(list(expected), abs=1e-4)


def test_accuracy_of_a_perfect_model_has_a_wilson_interval_below_one():
    gold = _balanced(30)
    result = evaluate.single_label_metrics(gold, gold, LABELS)
    assert result["accuracy"]["value"] == 1.0
    assert result["accuracy"]["interval"][1] == 1.0 and result["accuracy"]["interval"][0] < 0.9


def test_an_empty_evaluation_is_zero_with_a_zero_interval_and_too_small():
    for task, texts in (("single_label", None), ("multi_label", None), ("spans", [])):
        result = evaluate.report(task, [], [], ["neg", "pos"], texts=texts)
        assert (result["value"], result["interval"], result["items"]) == (0.0, [0.0, 0.0], 0)
        assert result["too_small"] is True and result["too_small_reason"]
        assert result["degenerate"] is False
        json.dumps(result, allow_nan=False)


def test_reports_are_strict_json_with_values_rounded_to_four_decimals():
    gold, predicted = _binary(97, 31, wrong_every=6)
    result = evaluate.single_label_metrics(gold, predicted, LABELS)
    assert json.loads(json.dumps(result, allow_nan=False)) == result
    assert result["value"] == round(result["value"], 4)
    spans = evaluate.span_metrics([TEXT], [(ALICE,)], [()], ["PER"])
    json.dumps(spans, allow_nan=False)  # seqeval's empty macro average is NaN; not here


def test_the_same_seed_gives_the_same_intervals_and_another_seed_other_ones():
    gold = _balanced(80)
    predicted = _noisy(gold, 0.25, seed=4)
    first = evaluate.single_label_metrics(gold, predicted, LABELS, seed=0)
    again = evaluate.single_label_metrics(gold, predicted, LABELS, seed=0)
    other = evaluate.single_label_metrics(gold, predicted, LABELS, seed=1)
    assert first == again
    assert first["per_class"] != other["per_class"] or first["interval"] != other["interval"]
    assert first["interval_method"] == "percentile bootstrap over items, 1000 resamples, seed 0; accuracy: Wilson score interval"


def test_resamples_can_be_changed_and_are_named_in_the_method():
    gold = _balanced(40)
    result = evaluate.single_label_metrics(gold, _noisy(gold, 0.2, seed=2), LABELS, resamples=200, seed=7)
    assert "200 resamples, seed 7" in result["interval_method"]


# --- too small ------------------------------------------------------------------------------------


def test_a_split_of_29_items_is_too_small_and_30_with_5_per_class_is_not():
    gold, predicted = _binary(29, 10)
    small = evaluate.single_label_metrics(gold, predicted, LABELS)
    assert small["too_small"] is True
    assert small["too_small_reason"] == "29 items: too few to tell models apart (needs 30 items and 5 per class)"
    gold, predicted = _binary(30, 5)
    assert evaluate.single_label_metrics(gold, predicted, LABELS)["too_small"] is False


def test_a_class_with_4_gold_items_makes_even_a_large_split_too_small():
    gold, predicted = _binary(300, 4)
    result = evaluate.single_label_metrics(gold, predicted, LABELS)
    assert result["too_small"] is True
    assert result["too_small_reason"] == "300 items, 4 of class 'pos': too few to tell models apart (needs 30 items and 5 per class)"


def test_the_reason_names_the_item_count_and_each_short_class():
    gold, predicted = _binary(24, 2)
    reason = evaluate.single_label_metrics(gold, predicted, LABELS)["too_small_reason"]
    assert reason == "24 items, 2 of class 'pos': too few to tell models apart (needs 30 items and 5 per class)"


def test_a_multi_label_split_is_too_small_when_a_label_has_fewer_than_5_positives():
    gold = [("a", "b") if i < 4 else ("a",) for i in range(40)]
    result = evaluate.multi_label_metrics(gold, gold, ["a", "b"])
    assert result["too_small"] is True and "4 of class 'b'" in result["too_small_reason"]
    gold = [("a", "b") if i < 5 else ("a",) for i in range(40)]
    assert evaluate.multi_label_metrics(gold, gold, ["a", "b"])["too_small"] is False


def test_a_span_split_is_too_small_below_30_texts_or_5_entities_of_a_gold_type():
    assert evaluate.span_metrics([TEXT] * 29, [(ALICE,)] * 29, [(ALICE,)] * 29, ["PER"])["too_small"] is True
    assert evaluate.span_metrics([TEXT] * 30, [(ALICE,)] * 30, [(ALICE,)] * 30, ["PER", "LOC"])["too_small"] is False
    gold = [(ALICE, PARIS) if i < 4 else (ALICE,) for i in range(30)]
    result = evaluate.span_metrics([TEXT] * 30, gold, gold, ["PER", "LOC"])
    assert result["too_small"] is True
    assert result["too_small_reason"] == (
        "30 texts, 4 gold entities of type 'LOC': too few to tell models apart (needs 30 texts and 5 per type)"
    )


# --- degenerate -----------------------------------------------------------------------------------


def test_a_single_label_model_predicting_one_class_for_everything_is_degenerate():
    gold, _ = _binary(24, 2)
    result = evaluate.single_label_metrics(gold, ["neg"] * 24, LABELS)
    assert result["degenerate"] is True
    assert result["degenerate_reason"] == "predicts 'neg' for all 24 items"
    assert result["accuracy"]["value"] == pytest.approx(22 / 24, abs=1e-4)
    assert result["value"] < 0.5  # macro-F1 does not hide it the way accuracy does


def test_zero_recall_on_a_class_with_3_gold_items_is_degenerate_and_with_2_is_not():
    labels = ["a", "b", "c"]
    gold = ["a"] * 20 + ["b"] * 20 + ["c"] * 3
    predicted = ["a"] * 20 + ["b"] * 20 + ["a"] * 3
    result = evaluate.single_label_metrics(gold, predicted, labels)
    assert result["degenerate"] is True
    assert result["degenerate_reason"] == "recall 0 on 'c' (3 items)"
    gold, predicted = gold[:-1], predicted[:-1]
    assert evaluate.single_label_metrics(gold, predicted, labels)["degenerate"] is False


def test_a_sound_model_is_not_degenerate():
    gold = _balanced(200)
    result = evaluate.single_label_metrics(gold, _noisy(gold, 0.15, seed=5), LABELS)
    assert result["degenerate"] is False and result["degenerate_reason"] == ""
    multi = evaluate.multi_label_metrics([(g,) for g in gold], [(p,) for p in _noisy(gold, 0.15, seed=5)], LABELS)
    assert multi["degenerate"] is False
    spans = evaluate.span_metrics([TEXT] * 40, [(ALICE, PARIS)] * 40, [(ALICE, PARIS)] * 30 + [(ALICE,)] * 10, ["PER", "LOC"])
    assert spans["degenerate"] is False


def test_a_multi_label_model_predicting_the_same_set_for_everything_is_degenerate():
    gold = [("a",), ("b",), ("a", "b"), ()] * 10
    result = evaluate.multi_label_metrics(gold, [("a",)] * 40, ["a", "b"])
    assert result["degenerate"] is True
    assert result["degenerate_reason"] == "predicts the same labels ('a') for all 40 items"
    nothing = evaluate.multi_label_metrics(gold, [()] * 40, ["a", "b"])
    assert nothing["degenerate_reason"] == "predicts no label for all 40 items"


def test_a_multi_label_model_with_zero_recall_on_a_label_with_3_positives_is_degenerate():
    gold = [("a", "b") if i < 3 else ("a",) for i in range(40)]
    predicted = [("a",) if i % 2 else () for i in range(40)]
    result = evaluate.multi_label_metrics(gold, predicted, ["a", "b"])
    assert result["degenerate"] is True and result["degenerate_reason"] == "recall 0 on 'b' (3 positives)"


def test_a_span_model_that_finds_no_entity_is_degenerate():
    result = evaluate.span_metrics([TEXT] * 3, [(ALICE,)] * 3, [()] * 3, ["PER"])
    assert result["degenerate"] is True
    assert result["degenerate_reason"] == "predicts no entity in any of 3 texts (gold has 3)"
    two = evaluate.span_metrics([TEXT] * 2, [(ALICE,)] * 2, [()] * 2, ["PER"])
    assert two["degenerate"] is False


def test_a_span_model_with_zero_recall_on_a_type_with_3_gold_entities_is_degenerate():
    gold = [(ALICE, PARIS)] * 3 + [(ALICE,)] * 30
    predicted = [(ALICE,)] * 33
    result = evaluate.span_metrics([TEXT] * 33, gold, predicted, ["PER", "LOC"])
    assert result["degenerate"] is True and result["degenerate_reason"] == "recall 0 on 'LOC' (3 gold entities)"


# --- comparison and dispatch ----------------------------------------------------------------------


def test_a_clearly_worse_model_on_200_items_is_worse_and_the_reverse_is_better():
    gold = _balanced(200)
    good, bad = _noisy(gold, 0.05, seed=1), _noisy(gold, 0.35, seed=2)
    result = evaluate.paired_comparison(gold, bad, good, LABELS, task="single_label")
    assert result["verdict"] == "worse"
    assert result["interval"][1] < 0 and result["difference"] == pytest.approx(result["a"] - result["b"], abs=1e-4)
    assert result["metric"] == "macro_f1" and result["items"] == 200
    assert evaluate.paired_comparison(gold, good, bad, LABELS, task="single_label")["verdict"] == "better"
    json.dumps(result, allow_nan=False)


def test_ten_items_show_no_clear_difference_between_two_models():
    gold = _balanced(10)
    a = gold[:8] + ["pos", "neg"]  # 8 of 10 right
    b = gold[:7] + [g if i else ("pos" if g == "neg" else "neg") for i, g in enumerate(gold[7:])]  # 9 of 10
    result = evaluate.paired_comparison(gold, a, b, LABELS, task="single_label")
    assert result["verdict"] == "no_clear_difference"
    assert result["difference"] < 0 and result["interval"][0] < 0 <= result["interval"][1]


def test_a_model_compared_with_itself_shows_no_difference():
    gold = _balanced(100)
    predicted = _noisy(gold, 0.2, seed=3)
    result = evaluate.paired_comparison(gold, predicted, predicted, LABELS, task="single_label")
    assert (result["difference"], result["interval"], result["verdict"]) == (0.0, [0.0, 0.0], "no_clear_difference")


def test_paired_comparison_of_spans_and_multi_label_uses_their_primary_metrics():
    texts = [TEXT] * 60
    gold = [(ALICE, BOB, PARIS)] * 60
    result = evaluate.paired_comparison(gold, [()] * 60, gold, ["PER", "LOC"], task="spans", texts=texts)
    assert result["metric"] == "entity_f1" and result["verdict"] == "worse" and (result["a"], result["b"]) == (0.0, 1.0)
    multi_gold = [("a",), ("b",)] * 50
    multi = evaluate.paired_comparison(multi_gold, multi_gold, [("a",)] * 100, ["a", "b"], task="multi_label")
    assert multi["metric"] == "macro_f1" and multi["verdict"] == "better"


def test_paired_comparison_is_deterministic_with_its_seed():
    gold = _balanced(60)
    a, b = _noisy(gold, 0.2, seed=1), _noisy(gold, 0.3, seed=2)
    assert evaluate.paired_comparison(gold, a, b, LABELS, task="single_label") == evaluate.paired_comparison(
        gold, a, b, LABELS, task="single_label"
    )


def test_paired_comparison_refuses_predictions_of_other_items():
    with pytest.raises(ValueError, match="same items"):
        evaluate.paired_comparison(["pos"], ["pos", "neg"], ["pos"], LABELS, task="single_label")


def test_primary_metric_names_and_report_dispatch_by_task():
    assert evaluate.primary_metric_name("single_label") == "macro_f1"
    assert evaluate.primary_metric_name("multi_label") == "macro_f1"
    assert evaluate.primary_metric_name("spans") == "entity_f1"
    with pytest.raises(ValueError, match="Unknown task"):
        evaluate.primary_metric_name("regression")
    assert evaluate.report("single_label", ["pos"], ["pos"], LABELS)["metric"] == "macro_f1"
    assert evaluate.report("spans", [(ALICE,)], [(ALICE,)], ["PER"], texts=[TEXT])["value"] == 1.0
    with pytest.raises(ValueError, match="texts"):
        evaluate.report("spans", [(ALICE,)], [(ALICE,)], ["PER"])


def test_a_prediction_outside_the_labels_counts_as_wrong_and_is_counted():
    result = evaluate.single_label_metrics(["pos", "neg"], ["", "neg"], LABELS)
    assert result["accuracy"]["value"] == 0.5 and result["predicted_counts"][""] == 1
    assert result["per_class"]["pos"]["recall"]["value"] == 0.0


def test_best_threshold_maximises_macro_f1_not_micro_f1():
    # A frequent label best cut above 0.3 and a rare one only found at 0.25 or below: micro-F1
    # (0.95 at 0.5) would give up the rare label; macro-F1 (0.83 from 0.15 to 0.25) keeps it.
    gold = np.array([[1, 0]] * 20 + [[0, 0]] * 20 + [[0, 1]] * 2)
    probabilities = np.array([[0.6, 0.1]] * 20 + [[0.3, 0.1]] * 20 + [[0.1, 0.25]] * 2)
    threshold, score = evaluate.best_threshold(probabilities, gold)
    assert threshold == 0.15  # the lowest of the tied thresholds
    assert score == pytest.approx((2 / 3 + 1) / 2)
