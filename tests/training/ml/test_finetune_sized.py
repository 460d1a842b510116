"""Training sized to the data: step floors, class weights, evaluation points, cross-validation."""

from collections import Counter

import pytest

from tests.training.ml.test_finetune import config, people, sentiment
from training.ml.batching import TrainingExample, encode
from training.ml.finetune import (
    MIN_DEV_ITEMS,
    FinetuneConfig,
    TimeLimitExceeded,
    TrainingCancelled,
    class_weights,
    cv_folds,
    dev_too_small,
    evaluate_examples,
    finetune,
    finetune_cross_validated,
    predict_examples,
    schedule_for,
)
from training.ml.spans import Span


def skewed(count: int, positives: int, seed: int) -> list[TrainingExample]:
    """``count`` sentiment examples of which ``positives`` are "pos", the rest "neg"."""
    pos = [e for e in sentiment(4 * count, seed) if e.labels == ("pos",)][:positives]
    neg = [e for e in sentiment(4 * count, seed + 100) if e.labels == ("neg",)][: count - positives]
    return pos + neg


def plain(**overrides) -> FinetuneConfig:
    return FinetuneConfig(**{"task": "single_label", "labels": ["pos", "neg"], **overrides})


# --- the schedule ---------------------------------------------------------------------------------


def test_small_data_gets_the_minimum_number_of_steps_not_three_short_epochs():
    plan = schedule_for(plain(), 180)
    assert plan.batch_size == 16 and plan.batches_per_epoch == 12
    assert plan.total_steps == 100  # not 3 epochs x 12 batches = 36
    assert plan.warmup_steps == 10 and plan.eval_every == 10  # 100 // 10: more often than once per 12-step epoch


def test_large_data_keeps_batches_of_32_and_its_epochs():
    plan = schedule_for(plain(), 4_500)
    assert plan.batch_size == 32 and plan.total_steps == 3 * 141
    assert plan.eval_every == 42  # total // 10, more often than once per 141-step epoch


def test_an_explicit_batch_size_and_a_step_ceiling_are_kept():
    plan = schedule_for(plain(batch_size=8, max_steps=50), 400)
    assert plan.batch_size == 8 and plan.total_steps == 50
    assert plan.warmup_steps == 10  # at least 10, though 10 % of 50 is 5


def test_warm_up_never_takes_the_whole_run_and_zero_means_none():
    assert schedule_for(plain(max_steps=8), 180).warmup_steps == 4
    assert schedule_for(plain(warmup_ratio=0.0), 180).warmup_steps == 0


def test_evaluation_points_end_at_the_last_step():
    assert schedule_for(plain(min_steps=25, eval_every=10, epochs=1), 16).eval_steps == [10, 20, 25]


def test_training_on_tiny_data_runs_the_minimum_steps(tiny_bert):
    result = finetune(config(tiny_bert, epochs=1, min_steps=12, batch_size=None), sentiment(32, 1), sentiment(16, 2))
    assert result.total_steps == 12 and result.batch_size == 16
    assert result.history[-1]["step"] == 12 and result.history[-1]["epoch"] == 6
    assert result.mode == "dev" and result.cross_validation is None
    assert result.learning_rate == 3e-3 and result.warmup_steps == 0


# --- class balancing ------------------------------------------------------------------------------


def test_single_label_weights_are_balanced_over_the_classes_present(tokenizer):
    rows = encode(tokenizer, skewed(40, 4, 1), task="single_label", labels=["pos", "neg", "meh"], max_length=32)
    weights = class_weights("single_label", ["pos", "neg", "meh"], rows)
    # n / (k x count) with k = 2 classes present: 40 / (2 x 4) and 40 / (2 x 36); absent "meh" weighs 1.
    assert weights == pytest.approx({"pos": 5.0, "neg": 40 / 72, "meh": 1.0})


def test_single_label_weights_are_capped_at_ten(tokenizer):
    rows = encode(tokenizer, skewed(100, 2, 1), task="single_label", labels=["pos", "neg"], max_length=32)
    assert class_weights("single_label", ["pos", "neg"], rows)["pos"] == 10.0


def test_multi_label_weights_are_negatives_over_positives_per_label(tokenizer):
    examples = [TrainingExample("a", ("pos",))] * 2 + [TrainingExample("b", ("pos", "neg"))] * 2 + [TrainingExample("c")] * 16
    rows = encode(tokenizer, examples, task="multi_label", labels=["pos", "neg", "meh"], max_length=32)
    assert class_weights("multi_label", ["pos", "neg", "meh"], rows) == pytest.approx({"pos": 4.0, "neg": 9.0, "meh": 1.0})


def test_span_tag_weights_never_weigh_o_up(tokenizer):
    rows = encode(tokenizer, people(20, 1), task="spans", labels=["PER", "LOC"], max_length=32)
    weights = class_weights("spans", ["PER", "LOC"], rows)
    assert set(weights) == {"O", "B-PER", "I-PER", "B-LOC", "I-LOC"}
    assert weights["O"] <= 1.0 and weights["B-PER"] > 1.0
    assert weights["B-LOC"] == weights["I-LOC"] == 1.0  # absent from train


def test_no_weighting_gives_no_weights_and_an_unknown_one_is_refused(tokenizer):
    rows = encode(tokenizer, sentiment(8, 1), task="single_label", labels=["pos", "neg"], max_length=32)
    assert class_weights("single_label", ["pos", "neg"], rows, weighting="none") is None
    with pytest.raises(ValueError, match="balanced"):
        class_weights("single_label", ["pos", "neg"], rows, weighting="oversample")


def test_the_result_reports_the_weights_it_trained_with(tiny_bert):
    result = finetune(config(tiny_bert, epochs=1), skewed(40, 8, 1), sentiment(16, 2))
    assert result.class_weights == pytest.approx({"pos": 2.5, "neg": 40 / 64})
    unweighted = finetune(config(tiny_bert, epochs=1, class_weighting="none"), skewed(40, 8, 1), sentiment(16, 2))
    assert unweighted.class_weights is None and unweighted.history != result.history


# --- evaluation points and early stopping ---------------------------------------------------------


def test_early_stopping_never_stops_before_the_minimum_steps(tiny_bert):
    # A learning rate of zero leaves the dev score flat: every evaluation after the first is stale.
    cfg = config(tiny_bert, learning_rate=0.0, epochs=20, patience=1, eval_every=2, min_steps=10)
    result = finetune(cfg, sentiment(32, 1), sentiment(16, 2))
    assert result.total_steps == 40
    assert [row["step"] for row in result.history] == [2, 4, 6, 8, 10]
    assert result.best_step == 2  # ties keep the earlier


def test_history_rows_name_the_metric_and_its_value(tiny_bert):
    result = finetune(config(tiny_bert, epochs=2, eval_every=3), sentiment(32, 1), sentiment(16, 2))
    assert [row["step"] for row in result.history] == [3, 4]
    row = result.history[0]
    assert row["metric"] == "macro_f1" and set(row) == {"step", "epoch", "loss", "metric", "dev_macro_f1"}


# --- when dev is too small ------------------------------------------------------------------------


def test_dev_is_fine_with_enough_items_of_every_class():
    assert dev_too_small(sentiment(20, 1), "single_label", ["pos", "neg"]) == ""


def test_dev_is_too_small_below_twenty_items():
    assert dev_too_small(sentiment(18, 1), "single_label", ["pos", "neg"]) == f"dev has 18 items, fewer than {MIN_DEV_ITEMS}"


def test_dev_is_too_small_with_few_items_of_a_class():
    reason = dev_too_small(skewed(30, 3, 1), "single_label", ["pos", "neg"])
    assert reason == "dev has 3 items of 'pos': fewer than 5 per class"


def test_only_classes_present_in_train_need_dev_items():
    dev, train = sentiment(30, 1), sentiment(10, 2)
    assert "'meh'" in dev_too_small(dev, "single_label", ["pos", "neg", "meh"])
    assert dev_too_small(dev, "single_label", ["pos", "neg", "meh"], train=train) == ""


def test_multi_label_and_span_dev_counts_positives_and_entities():
    dev = [TrainingExample("x", ("pos",))] * 4 + [TrainingExample("y", ("neg",))] * 20
    assert dev_too_small(dev, "multi_label", ["pos", "neg"]) == "dev has 4 items with 'pos': fewer than 5 per class"
    reason = dev_too_small(people(25, 1), "spans", ["PER", "LOC"])
    assert reason == "dev has 0 entities of 'LOC': fewer than 5 per class"


# --- folds ----------------------------------------------------------------------------------------


def test_folds_are_stratified_by_label():
    pool = skewed(60, 9, 1)
    folds = cv_folds(pool, "single_label", 3, seed=5)
    positives = Counter(fold for fold, example in zip(folds, pool) if example.labels == ("pos",))
    assert sorted(positives.values()) == [3, 3, 3] and sorted(Counter(folds).values()) == [20, 20, 20]


def test_folds_are_the_same_for_the_same_seed_and_differ_for_another():
    pool = sentiment(30, 1)
    assert cv_folds(pool, "single_label", 3, seed=5) == cv_folds(pool, "single_label", 3, seed=5)
    assert cv_folds(pool, "single_label", 3, seed=5) != cv_folds(pool, "single_label", 3, seed=6)


def test_multi_label_folds_follow_the_rarest_label():
    pool = [TrainingExample(f"t{i}", ("common", "rare") if i < 6 else ("common",)) for i in range(30)]
    folds = cv_folds(pool, "multi_label", 3, seed=1)
    assert sorted(Counter(folds[:6]).values()) == [2, 2, 2]


def test_span_folds_keep_examples_without_entities_as_their_own_stratum():
    pool = people(12, 1) + [TrainingExample("no names here")] * 6
    folds = cv_folds(pool, "spans", 3, seed=1)
    assert sorted(Counter(folds[12:]).values()) == [2, 2, 2]


def test_folds_need_as_many_examples_as_folds():
    with pytest.raises(ValueError, match="2 examples"):
        cv_folds(sentiment(2, 1), "single_label", 3, seed=1)


# --- cross-validation -----------------------------------------------------------------------------


def test_cross_validation_chooses_the_best_step_and_predicts_every_pool_example(tiny_bert):
    pool = sentiment(48, 1)
    result = finetune_cross_validated(config(tiny_bert, epochs=1, min_steps=8, eval_every=2), pool, folds=3)
    cv = result.cross_validation
    assert result.mode == "cross_validation" and cv["folds"] == 3
    assert [point["step"] for point in cv["curve"]] == [2, 4, 6, 8]
    assert all(len(point["per_fold"]) == 3 for point in cv["curve"])
    best = max(point["mean"] for point in cv["curve"])
    assert cv["chosen_step"] == next(point["step"] for point in cv["curve"] if point["mean"] == best)
    assert result.best_step == cv["chosen_step"] and result.best_dev_metric == best
    assert len(cv["out_of_fold"]) == len(pool) and all(p in {("pos",), ("neg",)} for p in cv["out_of_fold"])
    assert [row["dev_macro_f1"] for row in result.history] == [point["mean"] for point in cv["curve"]]
    assert evaluate_examples(result, sentiment(16, 3))["metric"] == "macro_f1"


def test_cross_validation_uses_the_folds_it_is_given(tiny_bert):
    pool = sentiment(24, 1)
    fold_of = [index % 2 for index in range(24)]
    seen = []
    cfg = config(tiny_bert, epochs=1, min_steps=3, eval_every=3)
    result = finetune_cross_validated(cfg, pool, folds=2, fold_of=fold_of, on_progress=seen.append, progress_every=1)
    assert result.cross_validation["chosen_step"] == 3
    assert seen[-1].step == seen[-1].total_steps == 2 * 3 + 3
    with pytest.raises(ValueError, match="fold_of"):
        finetune_cross_validated(cfg, pool, folds=3, fold_of=fold_of)


def test_cross_validated_spans_give_out_of_fold_spans_as_tuples(tiny_bert):
    pool = people(18, 1)
    result = finetune_cross_validated(config(tiny_bert, task="spans", labels=["PER"], max_steps=2), pool, folds=3)
    out_of_fold = result.cross_validation["out_of_fold"]
    assert len(out_of_fold) == 18 and all(isinstance(spans, list) for spans in out_of_fold)
    assert all(len(span) == 3 for spans in out_of_fold for span in spans)
    assert result.metric_name == "entity_f1"


def test_a_stop_request_cancels_a_cross_validation(tiny_bert):
    calls = iter(range(1000))
    cfg = config(tiny_bert, epochs=1, min_steps=6)
    with pytest.raises(TrainingCancelled, match="step 8 of 24"):
        finetune_cross_validated(cfg, sentiment(24, 1), folds=3, should_stop=lambda: next(calls) >= 8)


def test_the_time_limit_stops_a_cross_validation(tiny_bert):
    with pytest.raises(TimeLimitExceeded):
        finetune_cross_validated(config(tiny_bert, time_limit_seconds=0.0), sentiment(24, 1), folds=3)


# --- predictions ----------------------------------------------------------------------------------


def test_predictions_come_as_label_tuples_and_span_tuples(tiny_bert):
    result = finetune(config(tiny_bert, epochs=1), sentiment(16, 1), sentiment(8, 2))
    assert all(p in {("pos",), ("neg",)} for p in predict_examples(result, sentiment(5, 3)))
    spans = finetune(config(tiny_bert, task="spans", labels=["PER"], max_steps=1), people(8, 1), people(4, 2))
    predicted = predict_examples(spans, [TrainingExample("the film Alice was")])
    assert isinstance(predicted[0], list) and all(isinstance(span, tuple) and not isinstance(span, Span) for span in predicted[0])
