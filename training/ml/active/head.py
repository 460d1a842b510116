"""A fast head model: logistic regression on L2-normalised sentence embeddings."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from threadpoolctl import threadpool_limits

# Unit-length embeddings have tiny coordinates; a weak penalty lets a few dozen labels
# already separate classes. Fixed, not tuned per dataset.
DEFAULT_C = 10.0
MAX_ITER = 300
# P(label) for a multi-label column nobody has marked yet (or 1 - this if every item has it).
ABSENT_LABEL_PROBA = 0.01
# One BLAS thread: at 384 dimensions the threads only contend. On 2 busy cores a 1,000-label fit
# took 0.9-2 s with OpenBLAS's default threads and 0.05 s with one.
BLAS_THREADS = 1


def embeddings_normalise(X: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length as float32; zero rows stay zero."""
    X = np.asarray(X, dtype=np.float32)
    if X.ndim != 2:
        raise ValueError(f"embeddings must be a 2-D array (items x dimensions), got shape {X.shape}.")
    norms = np.linalg.norm(X, axis=1, keepdims=True)
    return X / np.maximum(norms, 1e-12)


@dataclass
class HeadModel:
    """A fitted head; ``predict_proba`` columns follow ``labels`` whatever the training data held."""

    labels: tuple[str, ...]
    multi_label: bool
    # single-label: one multinomial model and the columns of ``labels`` it covers.
    # multi-label: one binary model (or a constant probability) per label.
    estimator: LogisticRegression | None = None
    columns: tuple[int, ...] = ()
    per_label: list[LogisticRegression | float] = field(default_factory=list)

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        X = embeddings_normalise(X)
        out = np.zeros((X.shape[0], len(self.labels)), dtype=np.float64)
        if X.shape[0] == 0:
            return out
        with threadpool_limits(limits=BLAS_THREADS, user_api="blas"):
            if not self.multi_label:
                out[:, list(self.columns)] = self.estimator.predict_proba(X)
                return out
            for column, model in enumerate(self.per_label):
                out[:, column] = model if isinstance(model, float) else model.predict_proba(X)[:, 1]
        return out

    def predict(self, X: np.ndarray, *, threshold: float = 0.5) -> list[tuple[str, ...]]:
        """Label tuples: the most probable label, or every label above ``threshold`` (multi-label)."""
        proba = self.predict_proba(X)
        if self.multi_label:
            return [tuple(self.labels[j] for j in np.flatnonzero(row >= threshold)) for row in proba]
        return [(self.labels[int(j)],) for j in proba.argmax(axis=1)]


def _logistic(seed: int) -> LogisticRegression:
    return LogisticRegression(C=DEFAULT_C, max_iter=MAX_ITER, random_state=seed)


def _label_index(labels: Sequence[str]) -> dict[str, int]:
    index = {label: position for position, label in enumerate(labels)}
    if len(index) != len(labels):
        raise ValueError(f"labels must be distinct, got {list(labels)}.")
    return index


def head_fit(
    X: np.ndarray, y: Sequence[Sequence[str]], *, labels: Sequence[str], multi_label: bool, seed: int = 0
) -> HeadModel | None:
    """Fit on labelled rows of ``X``; ``y[i]`` is the label tuple of row ``i``.

    Returns None while the data cannot make a classifier: fewer than two labels seen
    (single-label) or no positive at all (multi-label). The caller then keeps its cold-start order.
    Single-label rows with no label are skipped; a multi-label row with none is a negative for all.
    """
    X = embeddings_normalise(X)
    if X.shape[0] != len(y):
        raise ValueError(f"head_fit got {X.shape[0]} embeddings but {len(y)} label tuples.")
    index = _label_index(labels)
    for row, tags in enumerate(y):
        if isinstance(tags, str):
            raise ValueError(f"y[{row}] is the string {tags!r}; pass a tuple of labels, e.g. ({tags!r},).")
        for tag in tags:
            if tag not in index:
                raise ValueError(f"y[{row}] has label {tag!r}, which is not one of {list(labels)}.")
    model = HeadModel(labels=tuple(labels), multi_label=multi_label)
    with warnings.catch_warnings(), threadpool_limits(limits=BLAS_THREADS, user_api="blas"):
        # A few iterations short of convergence still ranks the pool well; not worth a log line.
        warnings.simplefilter("ignore", ConvergenceWarning)
        if not multi_label:
            rows = [row for row, tags in enumerate(y) if tags]
            targets = np.array([index[y[row][0]] for row in rows], dtype=np.int64)
            present = tuple(int(value) for value in np.unique(targets))
            if len(present) < 2:
                return None
            model.estimator = _logistic(seed).fit(X[rows], targets)
            model.columns = tuple(int(value) for value in model.estimator.classes_)
            return model
        targets = np.zeros((X.shape[0], len(labels)), dtype=np.int8)
        for row, tags in enumerate(y):
            for tag in tags:
                targets[row, index[tag]] = 1
        if not targets.any():
            return None
        for column in range(len(labels)):
            positives = int(targets[:, column].sum())
            if positives == 0:
                model.per_label.append(ABSENT_LABEL_PROBA)
            elif positives == X.shape[0]:
                model.per_label.append(1.0 - ABSENT_LABEL_PROBA)
            else:
                model.per_label.append(_logistic(seed).fit(X, targets[:, column]))
    return model


def accuracy(model: HeadModel | None, X: np.ndarray, y: Sequence[Sequence[str]]) -> float:
    """Single-label: share of rows whose first gold label is predicted. Multi-label: micro-F1.

    Micro-F1 rather than subset accuracy for multi-label, because with many labels an
    exact match is rare early on and the learning curve would sit flat at zero. No model
    (cold data) scores 0.
    """
    if len(y) == 0:
        return 0.0
    if model is None:
        return 0.0
    predicted = model.predict(X)
    if not model.multi_label:
        return float(np.mean([bool(gold) and gold[0] == guess[0] for gold, guess in zip(y, predicted)]))
    true_positive = sum(len(set(gold) & set(guess)) for gold, guess in zip(y, predicted))
    predicted_count = sum(len(guess) for guess in predicted)
    gold_count = sum(len(gold) for gold in y)
    if predicted_count + gold_count == 0:
        return 1.0
    return 2.0 * true_positive / (predicted_count + gold_count)
