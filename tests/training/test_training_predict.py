"""The pure predictor: loads a saved fine-tuned model and predicts labels or spans in the order given."""

import json

import pytest

from training.ml.batching import TrainingExample
from training.ml.finetune import META_FILE, FinetuneConfig, evaluate_examples, finetune
from training.ml.predict import Predictor
from training.ml.spans import Span

GOOD, BAD = ["great", "lovely", "superb"], ["awful", "poor", "dreadful"]


def _texts(count):
    return [(f"the day was {(GOOD if i % 2 else BAD)[i % 3]} {i}", "pos" if i % 2 else "neg") for i in range(count)]


def _trained(tiny_bert_path, task, labels, train, dev):
    config = FinetuneConfig(
        task=task,
        labels=labels,
        base_model=tiny_bert_path,
        batch_size=8,
        epochs=4,
        learning_rate=3e-3,
        warmup_ratio=0.0,
        max_length=32,
        seed=3,
    )
    return finetune(config, train, dev)


def _saved(tmp_path, tiny_bert_path, task, labels, train, dev):
    return _trained(tiny_bert_path, task, labels, train, dev).save(tmp_path / "model")


def test_single_label_predictions_keep_the_order_and_do_not_depend_on_the_batch(tmp_path, tiny_bert_path):
    pairs = _texts(48)
    examples = [TrainingExample(text, labels=(label,)) for text, label in pairs]
    result = _trained(tiny_bert_path, "single_label", ["pos", "neg"], examples[:40], examples[40:])
    predictor = Predictor(result.save(tmp_path / "model"))
    texts = [text for text, _ in pairs] + [
        "short",
        "a much longer text than all the others, with many more words in it",
    ]

    one_by_one = predictor.predict(texts, batch_size=1)
    batched = predictor.predict(texts, batch_size=64)

    assert [p.labels for p in one_by_one] == [p.labels for p in batched]
    assert [p.score for p in one_by_one] == pytest.approx([p.score for p in batched], abs=1e-4)
    assert all(len(p.labels) == 1 and p.labels[0] in {"pos", "neg"} and 0.5 <= p.score <= 1 for p in batched)
    # The saved model predicts exactly what the trained one scored on the same texts.
    correct = sum(p.labels[0] == label for p, (_, label) in zip(batched, pairs))
    assert correct / len(pairs) == pytest.approx(evaluate_examples(result, examples)["value"])


def test_multi_label_predictions_use_the_threshold_tuned_on_dev(tmp_path, tiny_bert_path):
    examples = [TrainingExample(text, labels=(label,) if i % 3 else ()) for i, (text, label) in enumerate(_texts(48))]
    path = _saved(tmp_path, tiny_bert_path, "multi_label", ["pos", "neg"], examples[:40], examples[40:])
    predictor = Predictor(path)
    assert predictor.threshold == json.loads((path / META_FILE).read_text())["threshold"]
    for prediction in predictor.predict(["the day was great", "nothing at all"]):
        assert set(prediction.labels) <= {"pos", "neg"} and 0 <= prediction.score <= 1


def test_span_predictions_are_character_spans_inside_the_text(tmp_path, tiny_bert_path):
    names = ["Alice", "Bob", "Carol"]
    examples = []
    for i in range(48):
        text = f"then {names[i % 3]} left {i}"
        examples.append(TrainingExample(text, spans=(Span(5, 5 + len(names[i % 3]), "PER"),)))
    predictor = Predictor(_saved(tmp_path, tiny_bert_path, "spans", ["PER"], examples[:40], examples[40:]))
    for text, prediction in zip(["then Bob left", "nobody here"], predictor.predict(["then Bob left", "nobody here"])):
        assert prediction.labels == () and 0 <= prediction.score <= 1
        assert all(0 <= span.start < span.end <= len(text) and span.label == "PER" for span in prediction.spans)


def test_a_folder_without_training_metadata_is_refused(tiny_bert_path):
    with pytest.raises(FileNotFoundError, match=META_FILE):
        Predictor(tiny_bert_path)
