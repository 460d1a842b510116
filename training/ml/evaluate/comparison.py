"""Two models on the same items (paired bootstrap), and the multi-label threshold that dev prefers."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from training.ml.evaluate.counts import (
    MULTI_LABEL,
    RESAMPLES,
    SINGLE_LABEL,
    SPANS,
    Counts,
    bootstrap_sums,
    interval_method_text,
    macro_f1_of,
    micro_f1_of,
    multi_counts,
    percentile_interval,
    round_digits,
    single_counts,
    span_counts,
    span_types,
)
from training.ml.evaluate.reports import primary_metric_name


def _primary_counts(task, gold, predicted, labels, texts) -> Counts:
    if task == SINGLE_LABEL:
        return single_counts(list(gold), list(predicted), labels)
    if task == MULTI_LABEL:
        return multi_counts(list(gold), list(predicted), labels)
    return span_counts(list(texts), list(gold), list(predicted), labels)[0]


def _primary(task: str, tp, fp, fn) -> np.ndarray:
    return micro_f1_of(tp, fp, fn) if task == SPANS else macro_f1_of(tp, fp, fn)


def paired_comparison(
    gold: Sequence,
    predicted_a: Sequence,
    predicted_b: Sequence,
    labels: Sequence[str],
    *,
    task: str,
    texts: Sequence[str] | None = None,
    seed: int = 0,
    resamples: int = RESAMPLES,
) -> dict:
    """A against B on the same items: the primary metric of each and A - B with a paired bootstrap interval.

    Both models are scored on the same resampled items in every resample, so what the items have in
    common (easy or hard ones) cancels out. ``verdict`` is "better" when the whole interval of A - B
    is above 0, "worse" when it is below 0, otherwise "no_clear_difference".
    """
    metric = primary_metric_name(task)
    if task == SPANS and texts is None:
        raise ValueError("Span comparisons need the texts the spans point into.")
    gold, predicted_a, predicted_b = list(gold), list(predicted_a), list(predicted_b)
    if not (len(gold) == len(predicted_a) == len(predicted_b)):
        raise ValueError(f"Gold and both predictions must cover the same items: {len(gold)}, {len(predicted_a)}, {len(predicted_b)}.")
    names = span_types(gold, predicted_a + predicted_b, labels) if task == SPANS else list(labels)
    a = _primary_counts(task, gold, predicted_a, names, texts)
    b = _primary_counts(task, gold, predicted_b, names, texts)
    width, items = len(names), len(gold)
    value_a = float(_primary(task, a.tp.sum(0), a.fp.sum(0), a.fn.sum(0)))
    value_b = float(_primary(task, b.tp.sum(0), b.fp.sum(0), b.fn.sum(0)))
    if items == 0:
        interval_a = interval_b = interval = [0.0, 0.0]
    else:
        sums = bootstrap_sums(np.hstack([a.columns(), b.columns()]), resamples=resamples, seed=seed)
        score_a = _primary(task, *Counts.split(sums[:, : 3 * width], width))
        score_b = _primary(task, *Counts.split(sums[:, 3 * width :], width))
        interval_a, interval_b, interval = percentile_interval(score_a), percentile_interval(score_b), percentile_interval(score_a - score_b)
    verdict = "better" if interval[0] > 0 else "worse" if interval[1] < 0 else "no_clear_difference"
    return {
        "metric": metric,
        "a": round_digits(value_a),
        "b": round_digits(value_b),
        "a_interval": interval_a,
        "b_interval": interval_b,
        "difference": round_digits(value_a - value_b),
        "interval": interval,
        "items": items,
        "verdict": verdict,
        "interval_method": "paired " + interval_method_text("texts" if task == SPANS else "items", resamples, seed, wilson=False),
    }


def best_threshold(probabilities: np.ndarray, gold: np.ndarray) -> tuple[float, float]:
    """The decision threshold in 0.05..0.95 that maximises macro-F1 on dev, and that F1.

    ``probabilities`` and ``gold`` are items x labels; on a tie the lower threshold wins.
    """
    probabilities, gold = np.asarray(probabilities, dtype=float), np.asarray(gold).astype(bool)
    thresholds = np.round(np.arange(0.05, 0.96, 0.05), 2)
    chosen = probabilities[None, :, :] >= thresholds[:, None, None]
    tp = (chosen & gold).sum(axis=1)
    fp = (chosen & ~gold).sum(axis=1)
    fn = (~chosen & gold).sum(axis=1)
    scores = macro_f1_of(tp, fp, fn)
    best = (0.5, -1.0)
    for threshold, score in zip(thresholds, scores):
        if score > best[1] + 1e-9:
            best = (float(threshold), float(score))
    return best
