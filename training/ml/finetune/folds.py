"""When dev is too small to choose a model, and stratified folds for cross-validation instead."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np
from sklearn.model_selection import KFold, StratifiedKFold

from training.ml.batching import (
    MULTI_LABEL,
    SINGLE_LABEL,
    SPANS,
    TrainingExample,
)
from training.ml.finetune.config import MIN_DEV_ITEMS, MIN_DEV_PER_CLASS


def _classes_of(example: TrainingExample, task: str) -> set[str]:
    return {span.label for span in example.spans} if task == SPANS else set(example.labels)


def dev_too_small(
    dev: Sequence[TrainingExample], task: str, labels: Sequence[str], *, train: Sequence[TrainingExample] | None = None
) -> str:
    """Why ``dev`` cannot choose a model, in words; "" when it can.

    Too small: fewer than MIN_DEV_ITEMS items, or a class (of those present in ``train`` when
    given, else of ``labels``) with fewer than MIN_DEV_PER_CLASS dev items; for multi-label
    the items where the label is present, for spans the entities of the type.
    """
    reasons = []
    if len(dev) < MIN_DEV_ITEMS:
        reasons.append(f"dev has {len(dev)} items, fewer than {MIN_DEV_ITEMS}")
    if task == SPANS:
        counts = Counter(span.label for example in dev for span in example.spans)
    else:
        counts = Counter(label for example in dev for label in set(example.labels))
    wanted = labels if train is None else [label for label in labels if any(label in _classes_of(e, task) for e in train)]
    short = [(label, counts[label]) for label in wanted if counts[label] < MIN_DEV_PER_CLASS]
    if short:
        unit = {SINGLE_LABEL: "items of", MULTI_LABEL: "items with", SPANS: "entities of"}[task]
        listed = ", ".join(f"{count} {unit} {label!r}" for label, count in short)
        reasons.append(f"dev has {listed}: fewer than {MIN_DEV_PER_CLASS} per class")
    return "; ".join(reasons)


def cv_folds(pool: Sequence[TrainingExample], task: str, k: int, seed: int) -> list[int]:
    """A fold index (0..k-1) per pool example: stratified, shuffled, the same for the same seed.

    Stratified by label (single-label), by the example's rarest label (multi-label) or rarest
    entity type (spans; examples without one form their own stratum). Strata with fewer than
    ``k`` members are pooled, as they cannot be spread over every fold.
    """
    if k < 2 or len(pool) < k:
        raise ValueError(f"Cross-validation needs at least 2 folds and as many examples; got {k} folds, {len(pool)} examples.")
    frequency = Counter(label for example in pool for label in _classes_of(example, task))
    keys = [min(classes, key=lambda c: (frequency[c], c)) if (classes := _classes_of(e, task)) else "" for e in pool]
    sizes = Counter(keys)
    rare = [key for key in sizes if sizes[key] < k]
    if rare:
        pooled = sum(sizes[key] for key in rare)
        target = "\0rare" if pooled >= k else max((key for key in sizes if key not in rare), key=sizes.get, default="")
        keys = [target if key in rare else key for key in keys]
    splitter = (
        StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
        if len(set(keys)) > 1
        else KFold(n_splits=k, shuffle=True, random_state=seed)
    )
    folds = [0] * len(pool)
    for fold, (_, held) in enumerate(splitter.split(np.zeros(len(pool)), keys)):
        for index in held:
            folds[index] = fold
    return folds
