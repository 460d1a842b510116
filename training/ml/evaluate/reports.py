"""The three reports (single-label, multi-label, spans), each with intervals, item counts and its two flags."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from seqeval.metrics import classification_report as seqeval_report
from sklearn.metrics import classification_report

from training.ml.evaluate.counts import (
    DEGENERATE_MIN_SUPPORT,
    MIN_ITEMS,
    MIN_PER_CLASS,
    MULTI_LABEL,
    RESAMPLES,
    SINGLE_LABEL,
    SPANS,
    Counts,
    binarize,
    bootstrap_sums,
    f1_of,
    interval_method_text,
    jsonable,
    macro_f1_of,
    micro_f1_of,
    multi_counts,
    percentile_interval,
    ratio_of,
    round_digits,
    single_counts,
    span_counts,
    span_types,
    wilson_interval,
    word_bio,
)
from training.ml.spans import Span

# --- the shared summary ---------------------------------------------------------------------------


def _scores(counts: Counts, names: Sequence[str], *, resamples: int, seed: int, micro: bool, macro: bool) -> dict:
    """Point values and bootstrap intervals: per class, macro-F1 and micro-F1 as asked."""
    tp, fp, fn = counts.tp.sum(axis=0), counts.fp.sum(axis=0), counts.fn.sum(axis=0)
    empty = counts.tp.shape[0] == 0
    if empty:
        sample = np.zeros((1, 3 * counts.width))
    else:
        sample = bootstrap_sums(counts.columns(), resamples=resamples, seed=seed)
    btp, bfp, bfn = Counts.split(sample, counts.width)
    point = {"precision": ratio_of(tp, tp + fp), "recall": ratio_of(tp, tp + fn), "f1": f1_of(tp, fp, fn)}
    boot = {"precision": ratio_of(btp, btp + bfp), "recall": ratio_of(btp, btp + bfn), "f1": f1_of(btp, bfp, bfn)}
    per_class = {
        name: {
            **{key: {"value": round_digits(point[key][i]), "interval": percentile_interval(boot[key][:, i])} for key in point},
            "support": int(tp[i] + fn[i]),
        }
        for i, name in enumerate(names)
    }
    result = {"per_class": per_class}
    if macro:
        result["macro_f1"] = {"value": round_digits(macro_f1_of(tp, fp, fn)), "interval": percentile_interval(macro_f1_of(btp, bfp, bfn))}
    if micro:
        result["micro_f1"] = {"value": round_digits(micro_f1_of(tp, fp, fn)), "interval": percentile_interval(micro_f1_of(btp, bfp, bfn))}
    return result


def _too_small(items: int, support: dict[str, int], *, unit: str, what: str, per: str) -> str:
    """Why a split cannot tell models apart, "" when it can."""
    if items == 0:
        return f"no {unit} to evaluate"
    # A label with no gold item here (say, one defined but never used) is not counted: the caller,
    # who knows which labels training saw, decides whether its absence matters
    # (``training.ml.challenger.test_too_small``).
    short = [f"{count} {what} {name!r}" for name, count in support.items() if 0 < count < MIN_PER_CLASS]
    if items >= MIN_ITEMS and not short:
        return ""
    head = ", ".join([f"{items} {unit}", *short])
    return f"{head}: too few to tell models apart (needs {MIN_ITEMS} {unit} and {MIN_PER_CLASS} per {per})"


def _zero_recall(per_class: dict, noun: str) -> list[str]:
    return [
        f"recall 0 on {name!r} ({scores['support']} {noun})"
        for name, scores in per_class.items()
        if scores["support"] >= DEGENERATE_MIN_SUPPORT and scores["recall"]["value"] == 0
    ]


def _headline(metric: str, scores: dict, items: int) -> dict:
    return {"metric": metric, "value": scores["value"], "interval": scores["interval"], "items": items}


def _flags(too_small: str, degenerate: list[str]) -> dict:
    return {
        "too_small": bool(too_small),
        "too_small_reason": too_small,
        "degenerate": bool(degenerate),
        "degenerate_reason": "; ".join(degenerate),
    }


def _empty_report(names: Sequence[str]) -> dict:
    zero = {"precision": 0.0, "recall": 0.0, "f1-score": 0.0, "support": 0.0}
    return {**{name: dict(zero) for name in names}, "macro avg": dict(zero), "weighted avg": dict(zero)}


# --- the three reports ----------------------------------------------------------------------------


def single_label_metrics(
    gold: Sequence[str], predicted: Sequence[str], labels: Sequence[str], *, seed: int = 0, resamples: int = RESAMPLES
) -> dict:
    """Macro-F1 (primary), accuracy (Wilson), per-class scores with intervals, and the two flags.

    Too small: fewer than ``MIN_ITEMS`` items, or a label with 1 to ``MIN_PER_CLASS`` - 1 gold items.
    Degenerate: one class predicted for every item while the gold has several, or recall 0 on a
    class with at least ``DEGENERATE_MIN_SUPPORT`` gold items (why 3: see the constant).
    """
    gold, predicted, names = list(gold), list(predicted), list(labels)
    items = len(gold)
    counts = single_counts(gold, predicted, names)
    scores = _scores(counts, names, resamples=resamples, seed=seed, micro=False, macro=True)
    correct = sum(g == p for g, p in zip(gold, predicted))
    index = {name: i for i, name in enumerate(names)}
    matrix = np.zeros((len(names), len(names)), dtype=int)
    for g, p in zip(gold, predicted):
        if g in index and p in index:
            matrix[index[g], index[p]] += 1
    predicted_counts = {name: 0 for name in names}
    for value in predicted:
        predicted_counts[value] = predicted_counts.get(value, 0) + 1

    degenerate: list[str] = []
    if len(set(gold)) >= 2 and len(set(predicted)) == 1:
        degenerate.append(f"predicts {predicted[0]!r} for all {items} items")
    else:
        degenerate += _zero_recall(scores["per_class"], "items")
    support = {name: scores["per_class"][name]["support"] for name in names}
    if items:
        report = classification_report(gold, predicted, labels=names, output_dict=True, zero_division=0)
    else:
        report = _empty_report(names)
    return {
        **_headline("macro_f1", scores["macro_f1"], items),
        "accuracy": {"value": round_digits(correct / items if items else 0.0), "interval": wilson_interval(correct, items), "items": items},
        **scores,
        "predicted_counts": predicted_counts,
        **_flags(_too_small(items, support, unit="items", what="of class", per="class"), degenerate),
        "interval_method": interval_method_text("items", resamples, seed, wilson=True),
        "report": jsonable(report),
        "confusion_matrix": {"labels": names, "matrix": matrix.tolist()},
    }


def multi_label_metrics(
    gold: Sequence[Sequence[str]],
    predicted: Sequence[Sequence[str]],
    labels: Sequence[str],
    *,
    seed: int = 0,
    resamples: int = RESAMPLES,
) -> dict:
    """Macro-F1 over labels (primary), micro-F1, subset accuracy (Wilson), per-label scores, the flags.

    Too small: fewer than ``MIN_ITEMS`` items, or a label with 1 to ``MIN_PER_CLASS`` - 1 positives.
    Degenerate: the same label set predicted for every item while the gold sets differ, or recall 0
    on a label with at least ``DEGENERATE_MIN_SUPPORT`` positives.
    """
    gold, predicted, names = [tuple(row) for row in gold], [tuple(row) for row in predicted], list(labels)
    items = len(gold)
    counts = multi_counts(gold, predicted, names)
    scores = _scores(counts, names, resamples=resamples, seed=seed, micro=True, macro=True)
    exact = sum(set(g) == set(p) for g, p in zip(gold, predicted))
    y_true, y_pred = binarize(gold, names).astype(int), binarize(predicted, names).astype(int)
    predicted_counts = {name: int(y_pred[:, i].sum()) for i, name in enumerate(names)}
    for row in predicted:
        for value in set(row) - set(names):
            predicted_counts[value] = predicted_counts.get(value, 0) + 1

    degenerate: list[str] = []
    predicted_sets = {frozenset(row) for row in predicted}
    if len({frozenset(row) for row in gold}) >= 2 and len(predicted_sets) == 1:
        same = sorted(next(iter(predicted_sets)))
        said = f"the same labels ({', '.join(repr(name) for name in same)})" if same else "no label"
        degenerate.append(f"predicts {said} for all {items} items")
    else:
        degenerate += _zero_recall(scores["per_class"], "positives")
    support = {name: scores["per_class"][name]["support"] for name in names}
    if items:
        report = classification_report(y_true, y_pred, labels=list(range(len(names))), target_names=names, output_dict=True, zero_division=0)
    else:
        report = _empty_report(names)
    # Per label: [[true negatives, false positives], [false negatives, true positives]].
    tp, fp, fn = counts.tp.sum(axis=0), counts.fp.sum(axis=0), counts.fn.sum(axis=0)
    per_label = [[[int(items - tp[i] - fp[i] - fn[i]), int(fp[i])], [int(fn[i]), int(tp[i])]] for i in range(len(names))]
    return {
        **_headline("macro_f1", scores["macro_f1"], items),
        "accuracy": {"value": round_digits(exact / items if items else 0.0), "interval": wilson_interval(exact, items), "items": items},
        **scores,
        "predicted_counts": predicted_counts,
        **_flags(_too_small(items, support, unit="items", what="of class", per="class"), degenerate),
        "interval_method": interval_method_text("items", resamples, seed, wilson=True),
        "report": jsonable(report),
        "confusion_matrix": {"labels": names, "per_label": per_label},
    }


def span_metrics(
    texts: Sequence[str],
    gold: Sequence[Sequence[Span]],
    predicted: Sequence[Sequence[Span]],
    labels: Sequence[str],
    *,
    seed: int = 0,
    resamples: int = RESAMPLES,
) -> dict:
    """Entity F1 (primary; seqeval's CoNLL rules over whitespace words, = micro-F1), per-type scores, the flags.

    Intervals resample texts. Too small: fewer than ``MIN_ITEMS`` texts, or a type that occurs in
    the gold with fewer than ``MIN_PER_CLASS`` entities. Degenerate: no entity predicted at all
    while the gold has at least ``DEGENERATE_MIN_SUPPORT``, or recall 0 on a type with that many.
    """
    texts, gold, predicted = list(texts), list(gold), list(predicted)
    items = len(texts)
    types = span_types(gold, predicted, labels)
    counts, guessed = span_counts(texts, gold, predicted, types)
    scores = _scores(counts, types, resamples=resamples, seed=seed, micro=True, macro=False)
    support = {name: scores["per_class"][name]["support"] for name in types}
    gold_total = sum(support.values())

    degenerate: list[str] = []
    if int(guessed.sum()) == 0 and gold_total >= DEGENERATE_MIN_SUPPORT:
        degenerate.append(f"predicts no entity in any of {items} texts (gold has {gold_total})")
    else:
        degenerate += _zero_recall(scores["per_class"], "gold entities")
    present = {name: count for name, count in support.items() if count > 0}
    if items:
        y_true = [word_bio(text, spans) for text, spans in zip(texts, gold)]
        y_pred = [word_bio(text, spans) for text, spans in zip(texts, predicted)]
        report = seqeval_report(y_true, y_pred, output_dict=True, zero_division=0)
    else:
        report = _empty_report([])
    return {
        **_headline("entity_f1", scores["micro_f1"], items),
        **scores,
        "predicted_counts": {name: int(guessed[i]) for i, name in enumerate(types)},
        **_flags(_too_small(items, present, unit="texts", what="gold entities of type", per="type"), degenerate),
        "interval_method": interval_method_text("texts", resamples, seed, wilson=False),
        "report": jsonable(report),
        "labels": list(labels),
    }


# --- dispatch and comparison ----------------------------------------------------------------------


def primary_metric_name(task: str) -> str:
    """What model selection and comparison optimise: macro-F1 for classification, entity F1 for spans."""
    if task in (SINGLE_LABEL, MULTI_LABEL):
        return "macro_f1"
    if task == SPANS:
        return "entity_f1"
    raise ValueError(f"Unknown task {task!r}; expected {SINGLE_LABEL!r}, {MULTI_LABEL!r} or {SPANS!r}.")


def report(task: str, gold: Sequence, predicted: Sequence, labels: Sequence[str], texts: Sequence[str] | None = None, **kw) -> dict:
    """The report for ``task``; ``texts`` are needed for spans, ``kw`` are ``seed`` and ``resamples``."""
    primary_metric_name(task)
    if task == SINGLE_LABEL:
        return single_label_metrics(gold, predicted, labels, **kw)
    if task == MULTI_LABEL:
        return multi_label_metrics(gold, predicted, labels, **kw)
    if texts is None:
        raise ValueError("Span reports need the texts the spans point into.")
    return span_metrics(texts, gold, predicted, labels, **kw)

