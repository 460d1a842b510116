import json
import random

import pytest

from training.ml.batching import TrainingExample
from training.ml.finetune import (
    META_FILE,
    FinetuneConfig,
    TimeLimitExceeded,
    TrainingCancelled,
    evaluate_examples,
    finetune,
)
from training.ml.spans import Span

GOOD = ["great", "lovely", "excellent", "wonderful", "superb"]
BAD = ["awful", "terrible", "horrible", "dreadful", "poor"]
NAMES = ["Alice", "Bob", "Carol", "Dave", "Erin"]
FILLER = ["the", "film", "was", "really", "quite", "a", "day", "and", "then"]


def sentiment(count: int, seed: int) -> list[TrainingExample]:
    rng = random.Random(seed)
    examples = []
    for index in range(count):
        positive = index % 2 == 0
        words = rng.sample(FILLER, 4) + [rng.choice(GOOD if positive else BAD)]
        rng.shuffle(words)
        examples.append(TrainingExample(" ".join(words), labels=("pos" if positive else "neg",)))
    return examples


def topics(count: int, seed: int) -> list[TrainingExample]:
    rng = random.Random(seed)
    examples = []
    for _ in range(count):
        has_good, has_bad = rng.random() < 0.5, rng.random() < 0.5
        words = rng.sample(FILLER, 4) + ([rng.choice(GOOD)] if has_good else []) + ([rng.choice(BAD)] if has_bad else [])
        rng.shuffle(words)
        labels = tuple(name for name, present in (("pos", has_good), ("neg", has_bad)) if present)
        examples.append(TrainingExample(" ".join(words), labels=labels))
    return examples


def people(count: int, seed: int) -> list[TrainingExample]:
    rng = random.Random(seed)
    examples = []
    for _ in range(count):
        name = rng.choice(NAMES)
        before = " ".join(rng.sample(FILLER, 2))
        text = f"{before} {name} {' '.join(rng.sample(FILLER, 2))}"
        start = len(before) + 1
        examples.append(TrainingExample(text, spans=(Span(start, start + len(name), "PER"),)))
    return examples


def config(tiny_bert, **overrides) -> FinetuneConfig:
    settings = dict(
        task="single_label", labels=["pos", "neg"], base_model=tiny_bert, batch_size=16, epochs=6,
        learning_rate=3e-3, warmup_ratio=0.0, patience=6, max_length=32, seed=7, min_steps=0,
    )
    return FinetuneConfig(**{**settings, **overrides})


def test_single_label_fine_tuning_learns_a_separable_task(tiny_bert):
    result = finetune(config(tiny_bert), sentiment(160, 1), sentiment(60, 2))
    assert result.metric_name == "macro_f1"
    assert result.best_dev_metric >= 0.9, result.history
    assert result.history[-1]["loss"] < result.history[0]["loss"]
    test = evaluate_examples(result, sentiment(60, 3))
    assert test["value"] >= 0.9 and set(test["confusion_matrix"]["labels"]) == {"pos", "neg"}


def test_the_same_seed_gives_the_same_run(tiny_bert):
    runs = [finetune(config(tiny_bert, epochs=2), sentiment(64, 1), sentiment(32, 2)).history for _ in range(2)]
    assert runs[0] == runs[1]


def test_multi_label_fine_tuning_tunes_a_threshold_on_dev(tiny_bert):
    # Sentiment as two independent sigmoid outputs: the tiny model leaves its plateau in a few
    # epochs here, while label sets with empty and double answers take it far longer on CPU.
    cfg = config(tiny_bert, task="multi_label", labels=["pos", "neg"], epochs=8, patience=8)
    result = finetune(cfg, sentiment(160, 1), sentiment(60, 2))
    assert result.metric_name == "macro_f1" and 0.05 <= result.threshold <= 0.95
    assert result.best_dev_metric >= 0.9, result.history
    report = evaluate_examples(result, topics(40, 3))
    assert len(report["confusion_matrix"]["per_label"]) == 2


def test_span_fine_tuning_finds_names_and_is_scored_by_entity(tiny_bert):
    cfg = config(tiny_bert, task="spans", labels=["PER"], epochs=8)
    result = finetune(cfg, people(200, 1), people(60, 2))
    assert result.metric_name == "entity_f1"
    assert result.best_dev_metric >= 0.8, result.history
    assert "PER" in evaluate_examples(result, people(30, 3))["report"]


def test_early_stopping_keeps_the_best_evaluation(tiny_bert):
    result = finetune(config(tiny_bert, epochs=10, patience=1, learning_rate=1e-2), sentiment(64, 1), sentiment(32, 2))
    dev_scores = [entry["dev_" + result.metric_name] for entry in result.history]
    assert result.best_dev_metric == max(dev_scores)
    assert result.best_step == result.history[dev_scores.index(max(dev_scores))]["step"]
    assert len(dev_scores) < 10 or dev_scores.index(max(dev_scores)) == 9


def test_progress_reports_steps_loss_and_eta(tiny_bert):
    seen = []
    finetune(config(tiny_bert, epochs=2), sentiment(64, 1), sentiment(16, 2), on_progress=seen.append, progress_every=1)
    assert [p.step for p in seen if p.dev_metric is None][:3] == [1, 2, 3]
    assert seen[-1].step == seen[-1].total_steps == 8
    assert seen[-1].dev_metric is not None and seen[-1].eta_seconds == 0


def test_a_stop_request_cancels_between_steps(tiny_bert):
    calls = iter(range(100))
    with pytest.raises(TrainingCancelled, match="step 3"):
        finetune(config(tiny_bert), sentiment(64, 1), sentiment(16, 2), should_stop=lambda: next(calls) >= 3)


def test_the_time_limit_stops_a_run(tiny_bert):
    with pytest.raises(TimeLimitExceeded):
        finetune(config(tiny_bert, time_limit_seconds=0.0), sentiment(64, 1), sentiment(16, 2))


def test_a_saved_model_carries_its_labels_threshold_and_task(tiny_bert, tmp_path):
    result = finetune(config(tiny_bert, epochs=1), sentiment(32, 1), sentiment(16, 2))
    result.save(tmp_path / "model")
    meta = json.loads((tmp_path / "model" / META_FILE).read_text())
    assert meta["task"] == "single_label" and meta["labels"] == ["pos", "neg"]
    assert (tmp_path / "model" / "config.json").exists()


def test_empty_training_data_is_refused_with_the_counts(tiny_bert):
    with pytest.raises(ValueError, match="got 0 and 1"):
        finetune(config(tiny_bert), [], sentiment(1, 2))


def test_the_bundled_minilm_fine_tunes_without_network(tmp_path):
    cfg = FinetuneConfig(task="single_label", labels=["pos", "neg"], epochs=2, min_steps=0, learning_rate=5e-5)
    result = finetune(cfg, sentiment(64, 1), sentiment(32, 2))
    assert result.history[-1]["loss"] < result.history[0]["loss"] or result.best_dev_metric >= 0.9
    assert result.device == "cpu" and result.precision == "fp32"
