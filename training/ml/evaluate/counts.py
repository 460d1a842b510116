"""Counting and resampling: per-item true/false positives, F1 from counts, bootstrap and Wilson intervals."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

import numpy as np
from seqeval.metrics.sequence_labeling import get_entities

from training.ml.spans import Span

# The task names of training.ml.batching, repeated here so that scoring does not import torch.
SINGLE_LABEL = "single_label"
MULTI_LABEL = "multi_label"
SPANS = "spans"

MIN_ITEMS = 30  # fewer evaluated items (texts for spans) than this: too small to tell models apart
MIN_PER_CLASS = 5  # fewer gold items of a class (gold entities of a type) than this: the same
# Zero recall on a class counts as degenerate only from this many gold items: with one or two, a
# sound model misses them all by chance often enough (at 70 % recall, 1 in 11 times for two items,
# 1 in 3.3 for one), with three that is 1 in 37 and at the usual 85 %+ far rarer.
DEGENERATE_MIN_SUPPORT = 3
RESAMPLES = 1000
CONFIDENCE = 0.95
_Z = 1.959963984540054  # the standard normal quantile of 1 - (1 - CONFIDENCE) / 2
_WEIGHT_CELLS = 2_000_000  # resample weights held in memory at once (rows x items)
_DIGITS = 4

_WORD = re.compile(r"\S+")


# --- numbers --------------------------------------------------------------------------------------


def round_digits(value) -> float:
    value = float(value)
    return 0.0 if math.isnan(value) else round(value, _DIGITS)


def jsonable(report: dict) -> dict:
    """A scikit-learn or seqeval report as plain floats; NaN (an empty average) becomes 0."""
    return {key: jsonable(value) if isinstance(value, dict) else round_digits(value) for key, value in report.items()}


def ratio_of(numerator, denominator) -> np.ndarray:
    numerator = np.asarray(numerator, dtype=float)
    denominator = np.asarray(denominator, dtype=float)
    return np.divide(numerator, denominator, out=np.zeros(np.broadcast(numerator, denominator).shape), where=denominator > 0)


def f1_of(tp, fp, fn) -> np.ndarray:
    return ratio_of(2 * tp, 2 * tp + fp + fn)


def macro_f1_of(tp, fp, fn) -> np.ndarray:
    """Mean F1 over the classes (last axis) with a gold or a predicted item; a class with neither
    has no F1 to average (scikit-learn's rule without ``labels``), here per bootstrap resample too."""
    present = (2 * tp + fp + fn) > 0
    return ratio_of((f1_of(tp, fp, fn) * present).sum(axis=-1), present.sum(axis=-1))


def micro_f1_of(tp, fp, fn) -> np.ndarray:
    return f1_of(tp.sum(axis=-1), fp.sum(axis=-1), fn.sum(axis=-1))


def wilson_interval(successes: int, trials: int) -> list[float]:
    """The Wilson score interval of a proportion at 95 %; [0, 0] without trials."""
    if trials <= 0:
        return [0.0, 0.0]
    p = successes / trials
    z2 = _Z * _Z
    centre = (p + z2 / (2 * trials)) / (1 + z2 / trials)
    half = _Z * math.sqrt(p * (1 - p) / trials + z2 / (4 * trials * trials)) / (1 + z2 / trials)
    return [round_digits(max(0.0, centre - half)), round_digits(min(1.0, centre + half))]


def bootstrap_sums(columns: np.ndarray, *, resamples: int, seed: int) -> np.ndarray:
    """Column sums of ``columns`` (items x k) over each of ``resamples`` resamples of its rows.

    Each resample draws as many items as there are, with replacement; its weights (how often each
    item was drawn) times the per-item counts give the resample's totals in one matrix product.
    """
    count = columns.shape[0]
    rng = np.random.default_rng(seed)
    sums = np.empty((resamples, columns.shape[1]))
    rows = max(1, _WEIGHT_CELLS // max(count, 1))
    for start in range(0, resamples, rows):
        size = min(rows, resamples - start)
        picks = rng.integers(0, count, size=(size, count)) + count * np.arange(size)[:, None]
        weights = np.bincount(picks.ravel(), minlength=size * count).reshape(size, count)
        sums[start : start + size] = weights.astype(float) @ columns
    return sums


def percentile_interval(values: np.ndarray) -> list[float] | None:
    """The 95 % percentile interval of bootstrap values; None with no resamples (a value-only score)."""
    if np.size(values) == 0:
        return None
    tail = (1 - CONFIDENCE) / 2 * 100
    low, high = np.percentile(values, [tail, 100 - tail])
    return [round_digits(low), round_digits(high)]


def interval_method_text(unit: str, resamples: int, seed: int, *, wilson: bool) -> str:
    method = f"percentile bootstrap over {unit}, {resamples} resamples, seed {seed}"
    return method + ("; accuracy: Wilson score interval" if wilson else "")


# --- per-item counts ------------------------------------------------------------------------------


class Counts:
    """Per item and class (items x classes): true positives, false positives, false negatives."""

    def __init__(self, tp: np.ndarray, fp: np.ndarray, fn: np.ndarray):
        self.tp, self.fp, self.fn = tp, fp, fn

    @property
    def width(self) -> int:
        return self.tp.shape[1]

    def columns(self) -> np.ndarray:
        return np.hstack([self.tp, self.fp, self.fn]).astype(float)

    @staticmethod
    def split(sums: np.ndarray, width: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return sums[..., :width], sums[..., width : 2 * width], sums[..., 2 * width : 3 * width]


def single_counts(gold: Sequence[str], predicted: Sequence[str], labels: Sequence[str]) -> Counts:
    names = list(labels)
    g = np.array([[value == name for name in names] for value in gold], dtype=bool).reshape(len(gold), len(names))
    p = np.array([[value == name for name in names] for value in predicted], dtype=bool).reshape(len(gold), len(names))
    return Counts((g & p).astype(int), (~g & p).astype(int), (g & ~p).astype(int))


def binarize(values: Sequence[Sequence[str]], labels: Sequence[str]) -> np.ndarray:
    names = list(labels)
    rows = [set(row) for row in values]
    return np.array([[name in row for name in names] for row in rows], dtype=bool).reshape(len(rows), len(names))


def multi_counts(gold, predicted, labels) -> Counts:
    g, p = binarize(gold, labels), binarize(predicted, labels)
    return Counts((g & p).astype(int), (~g & p).astype(int), (g & ~p).astype(int))

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


def _entities(text: str, spans: Sequence[Span]) -> set[tuple[str, int, int]]:
    return set(get_entities(word_bio(text, spans)))


def span_types(gold, predicted, labels) -> list[str]:
    """The project's labels, then any other entity type that occurs (sorted), so nothing is dropped."""
    seen = {span.label for spans in list(gold) + list(predicted) for span in spans}
    return list(labels) + sorted(seen - set(labels))


def span_counts(texts, gold, predicted, types: Sequence[str]) -> tuple[Counts, np.ndarray]:
    """Per text and entity type; also the predicted entity counts per type."""
    index = {name: i for i, name in enumerate(types)}
    shape = (len(texts), len(types))
    tp, fp, fn, guessed = np.zeros(shape, int), np.zeros(shape, int), np.zeros(shape, int), np.zeros(shape, int)
    for row, (text, gold_spans, predicted_spans) in enumerate(zip(texts, gold, predicted)):
        true, found = _entities(text, gold_spans), _entities(text, predicted_spans)
        for entity in true & found:
            tp[row, index[entity[0]]] += 1
        for entity in found - true:
            fp[row, index[entity[0]]] += 1
        for entity in true - found:
            fn[row, index[entity[0]]] += 1
        for entity in found:
            guessed[row, index[entity[0]]] += 1
    return Counts(tp, fp, fn), guessed.sum(axis=0)

