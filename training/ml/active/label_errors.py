"""Likely label errors among labelled items: confident learning (cleanlab) on out-of-fold predictions."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from cleanlab.filter import find_label_issues
from cleanlab.rank import get_label_quality_scores
from sklearn.model_selection import StratifiedKFold

from training.ml.active.head import embeddings_normalise, head_fit


@dataclass(frozen=True)
class LabelIssueFound:
    index: int  # row of X / y
    given: str
    suggested: str
    quality: float  # cleanlab's label quality, 0 (surely wrong) to 1


def _targets(y: Sequence[str], labels: Sequence[str]) -> np.ndarray:
    index = {label: position for position, label in enumerate(labels)}
    targets = np.empty(len(y), dtype=np.int64)
    for row, label in enumerate(y):
        if label not in index:
            raise ValueError(f"y[{row}] is {label!r}, which is not one of {list(labels)}.")
        targets[row] = index[label]
    return targets


def out_of_fold_proba(
    X: np.ndarray, y: Sequence[str], *, labels: Sequence[str], folds: int = 5, seed: int = 0
) -> np.ndarray:
    """Each row's probabilities from a head fitted without it (stratified k-fold).

    Fewer folds are used when the rarest label has fewer than ``folds`` examples; every
    label in ``y`` needs at least two, and at least two labels must occur.
    """
    X = embeddings_normalise(X)
    if X.shape[0] != len(y):
        raise ValueError(f"out_of_fold_proba got {X.shape[0]} embeddings but {len(y)} labels.")
    targets = _targets(y, labels)
    present, counts = np.unique(targets, return_counts=True)
    if present.shape[0] < 2:
        raise ValueError("out_of_fold_proba needs at least two different labels in y.")
    if counts.min() < 2:
        rare = [labels[int(label)] for label, count in zip(present, counts) if count < 2]
        raise ValueError(f"labels {rare} have fewer than 2 examples; they cannot be cross-validated.")
    splits = min(folds, int(counts.min()))
    proba = np.zeros((X.shape[0], len(labels)), dtype=np.float64)
    splitter = StratifiedKFold(n_splits=splits, shuffle=True, random_state=seed)
    for train, held_out in splitter.split(X, targets):
        model = head_fit(X[train], [(y[row],) for row in train], labels=labels, multi_label=False, seed=seed)
        proba[held_out] = model.predict_proba(X[held_out])
    return proba


def label_issues(
    X: np.ndarray, y: Sequence[str], *, labels: Sequence[str], folds: int = 5, seed: int = 0
) -> list[LabelIssueFound]:
    """Labelled rows that are most likely wrong, most likely first.

    Labels with fewer than two examples cannot be cross-validated: their rows are left out
    (never reported). With fewer than two labels left there is nothing to compare: [].
    """
    X = embeddings_normalise(X)
    targets = _targets(y, labels)
    present, counts = np.unique(targets, return_counts=True)
    kept_labels = [int(label) for label, count in zip(present, counts) if count >= 2]
    if len(kept_labels) < 2:
        return []
    rows = np.flatnonzero(np.isin(targets, kept_labels))
    names = [labels[label] for label in kept_labels]
    sub_y = [labels[int(targets[row])] for row in rows]
    proba = out_of_fold_proba(X[rows], sub_y, labels=names, folds=folds, seed=seed)
    proba = np.clip(proba, 1e-6, None)
    proba /= proba.sum(axis=1, keepdims=True)
    given = _targets(sub_y, names)
    # n_jobs=1: a Celery worker process cannot fork pools of its own.
    ranked = find_label_issues(given, proba, return_indices_ranked_by="self_confidence", n_jobs=1)
    quality = get_label_quality_scores(given, proba)
    found = []
    for position in ranked:
        others = proba[position].copy()
        others[given[position]] = -1.0
        found.append(
            LabelIssueFound(
                index=int(rows[position]),
                given=names[given[position]],
                suggested=names[int(others.argmax())],
                quality=float(quality[position]),
            )
        )
    return found
