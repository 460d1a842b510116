"""Evaluation: scikit-learn reports for classification, seqeval entity-level scores for spans."""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
from seqeval.metrics import classification_report as seqeval_report
from seqeval.metrics import f1_score as seqeval_f1
from sklearn.metrics import (
    classification_report,
    confusion_matrix,
    f1_score,
    multilabel_confusion_matrix,
)
from sklearn.preprocessing import MultiLabelBinarizer

from training.ml.spans import Span

_WORD = re.compile(r"\S+")


def _jsonable(report: dict) -> dict:
    return {key: _jsonable(value) if isinstance(value, dict) else float(value) for key, value in report.items()}


def single_label_metrics(gold: Sequence[str], predicted: Sequence[str], labels: Sequence[str]) -> dict:
    report = classification_report(gold, predicted, labels=list(labels), output_dict=True, zero_division=0)
    matrix = confusion_matrix(gold, predicted, labels=list(labels))
    accuracy = float(np.mean([g == p for g, p in zip(gold, predicted)])) if gold else 0.0
    return {
        "metric": "accuracy",
        "value": accuracy,
        "report": _jsonable(report),
        "confusion_matrix": {"labels": list(labels), "matrix": matrix.tolist()},
    }


def multi_label_metrics(
    gold: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]], labels: Sequence[str]
) -> dict:
    binarizer = MultiLabelBinarizer(classes=list(labels))
    y_true, y_pred = binarizer.fit_transform(gold), binarizer.transform(predicted)
    report = classification_report(y_true, y_pred, target_names=list(labels), output_dict=True, zero_division=0)
    matrices = multilabel_confusion_matrix(y_true, y_pred)
    return {
        "metric": "micro_f1",
        "value": float(f1_score(y_true, y_pred, average="micro", zero_division=0)),
        "report": _jsonable(report),
        # Per label: [[true negatives, false positives], [false negatives, true positives]].
        "confusion_matrix": {"labels": list(labels), "per_label": [m.tolist() for m in matrices]},
    }


def word_bio(text: str, spans: Sequence[Span]) -> list[str]:
    """Whitespace words of ``text`` tagged from character spans, for word-level seqeval scoring."""
    tags: list[str] = []
    previous = None
    for word in _WORD.finditer(text):
        entity = next((s for s in spans if s.start < word.end() and word.start() < s.end), None)
        if entity is None:
            tags.append("O")
        else:
            tags.append(f"{'I' if entity is previous else 'B'}-{entity.label}")
        previous = entity
    return tags


def span_metrics(
    texts: Sequence[str], gold: Sequence[Sequence[Span]], predicted: Sequence[Sequence[Span]], labels: Sequence[str]
) -> dict:
    """Entity-level precision, recall and F1 (seqeval, CoNLL rules) over whitespace words."""
    y_true = [word_bio(text, spans) for text, spans in zip(texts, gold)]
    y_pred = [word_bio(text, spans) for text, spans in zip(texts, predicted)]
    report = seqeval_report(y_true, y_pred, output_dict=True, zero_division=0)
    return {
        "metric": "entity_f1",
        "value": float(seqeval_f1(y_true, y_pred, zero_division=0)),
        "report": _jsonable(report),
        "labels": list(labels),
    }


def best_threshold(probabilities: np.ndarray, gold: np.ndarray) -> tuple[float, float]:
    """The decision threshold in 0.05..0.95 that maximises micro-F1 on dev, and that F1."""
    best = (0.5, -1.0)
    for threshold in np.arange(0.05, 0.96, 0.05):
        score = f1_score(gold, probabilities >= threshold, average="micro", zero_division=0)
        if score > best[1] + 1e-9:
            best = (round(float(threshold), 2), float(score))
    return best
