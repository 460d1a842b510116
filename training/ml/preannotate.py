"""Propose labels for unlabelled texts: zero-shot similarity to label descriptions, or a logistic head.

Which method runs is decided by the labelled examples at hand:

* ``logistic_regression`` once at least two labels each have ``min_examples_per_label``
  or more labelled examples. A scikit-learn ``LogisticRegression`` is fitted on the
  encoder's embeddings of every usable example (labels with fewer examples still
  take part; labels with none cannot be proposed). Single-label projects get the most
  probable label; multi-label projects get one binary head per label and every
  label whose probability is at least 0.5 (possibly none). The score is the
  predicted probability (for several labels, the lowest of them).
* ``zero_shot`` otherwise. Each label is embedded from ``"name: description"`` and
  each text is given the label with the highest cosine similarity; a softmax over
  the similarities with a small temperature turns them into a probability-like
  score. Multi-label projects get that single top label.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
from sklearn.linear_model import LogisticRegression

from training.ml.encoder import Encoder

ZERO_SHOT = "zero_shot"
LOGISTIC_REGRESSION = "logistic_regression"
MULTI_LABEL_THRESHOLD = 0.5
DEFAULT_TEMPERATURE = 0.05


@dataclass(frozen=True)
class LabelSpec:
    name: str
    description: str = ""

    @property
    def prompt(self) -> str:
        return f"{self.name}: {self.description}" if self.description.strip() else self.name


@dataclass(frozen=True)
class Example:
    text: str
    labels: tuple[str, ...]
    # The text's embedding when a cache already holds it (same encoder); encoded otherwise.
    embedding: np.ndarray | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class Suggestion:
    labels: tuple[str, ...]
    score: float


@dataclass(frozen=True)
class PreannotationResult:
    method: str
    examples_used: int
    suggestions: list[Suggestion]


def _softmax(values: np.ndarray, temperature: float) -> np.ndarray:
    scaled = values / temperature
    scaled -= scaled.max(axis=1, keepdims=True)
    exp = np.exp(scaled)
    return exp / exp.sum(axis=1, keepdims=True)


def method_choose(*, examples: Iterable[Example], label_names: Sequence[str], min_examples_per_label: int) -> str:
    """``logistic_regression`` once two labels reach ``min_examples_per_label`` examples, else ``zero_shot``."""
    known = set(label_names)
    counts = Counter(name for example in examples for name in set(example.labels) if name in known)
    ready = [name for name, count in counts.items() if count >= max(1, min_examples_per_label)]
    return LOGISTIC_REGRESSION if len(ready) >= 2 else ZERO_SHOT


class Preannotator:
    """A fitted proposer: build it once per job with ``preannotator_build``, then ``predict`` batch by batch."""

    def __init__(self, *, encoder: Encoder, label_names: list[str], method: str, examples_used: int,
                 multi_label: bool, batch_size: int, probabilities):
        self.encoder = encoder
        self.label_names = label_names
        self.method = method
        self.examples_used = examples_used
        self.multi_label = multi_label
        self.batch_size = batch_size
        self._probabilities = probabilities

    def predict(self, texts: Sequence[str]) -> list[Suggestion]:
        embeddings = self.encoder.encode(list(texts), batch_size=self.batch_size)
        return self.predict_embeddings(embeddings)

    def probabilities(self, embeddings: np.ndarray) -> np.ndarray:
        """(texts x labels) probabilities in ``label_names`` order, what active learning ranks by."""
        return self._probabilities(embeddings)

    def predict_embeddings(self, embeddings: np.ndarray) -> list[Suggestion]:
        if len(embeddings) == 0:
            return []
        probabilities = self._probabilities(embeddings)
        if self.multi_label and self.method == LOGISTIC_REGRESSION:
            return [self._above_threshold(row) for row in probabilities]
        best = probabilities.argmax(axis=1)
        return [
            Suggestion(labels=(self.label_names[index],), score=float(row[index]))
            for index, row in zip(best, probabilities)
        ]

    def _above_threshold(self, row: np.ndarray) -> Suggestion:
        chosen = [index for index in np.argsort(-row) if row[index] >= MULTI_LABEL_THRESHOLD]
        if not chosen:
            # "None of the labels" is a suggestion too; its confidence is that the likeliest label is absent.
            return Suggestion(labels=(), score=float(1.0 - row.max()))
        return Suggestion(labels=tuple(self.label_names[i] for i in chosen), score=float(row[chosen].min()))


def _zero_shot(encoder: Encoder, labels: list[LabelSpec], batch_size: int, temperature: float):
    label_embeddings = encoder.encode([label.prompt for label in labels], batch_size=batch_size)

    def probabilities(embeddings: np.ndarray) -> np.ndarray:
        return _softmax(embeddings @ label_embeddings.T, temperature)

    return probabilities


def _logistic_single(embeddings: np.ndarray, examples: list[Example], label_names: list[str], c: float, seed: int):
    targets = np.array([label_names.index(example.labels[0]) for example in examples])
    head = LogisticRegression(C=c, max_iter=1000, random_state=seed).fit(embeddings, targets)

    def probabilities(batch: np.ndarray) -> np.ndarray:
        # Labels without examples are not among the head's classes; they keep probability 0.
        full = np.zeros((len(batch), len(label_names)), dtype=np.float64)
        full[:, head.classes_] = head.predict_proba(batch)
        return full

    return probabilities


def _logistic_multi(embeddings: np.ndarray, examples: list[Example], label_names: list[str], c: float, seed: int):
    heads: list[LogisticRegression | float] = []
    for name in label_names:
        targets = np.array([name in example.labels for example in examples], dtype=int)
        if targets.min() == targets.max():
            # Always or never present so far: nothing to separate, so the observed rate stands in.
            heads.append(float(targets[0]))
        else:
            heads.append(LogisticRegression(C=c, max_iter=1000, random_state=seed).fit(embeddings, targets))

    def probabilities(batch: np.ndarray) -> np.ndarray:
        columns = [
            np.full(len(batch), head) if isinstance(head, float) else head.predict_proba(batch)[:, 1]
            for head in heads
        ]
        return np.stack(columns, axis=1)

    return probabilities


def _examples_embed(encoder: Encoder, examples: list[Example], batch_size: int) -> np.ndarray:
    missing = [index for index, example in enumerate(examples) if example.embedding is None]
    embeddings = np.zeros((len(examples), encoder.dimension), dtype=np.float32)
    for index, example in enumerate(examples):
        if example.embedding is not None:
            embeddings[index] = example.embedding
    if missing:
        embeddings[missing] = encoder.encode([examples[index].text for index in missing], batch_size=batch_size)
    return embeddings


def preannotator_build(
    *,
    encoder: Encoder,
    labels: Sequence[LabelSpec],
    examples: Iterable[Example] = (),
    multi_label: bool = False,
    min_examples_per_label: int = 5,
    batch_size: int = 64,
    temperature: float = DEFAULT_TEMPERATURE,
    regularisation: float = 10.0,
    seed: int = 0,
) -> Preannotator:
    """Choose the method (see the module docstring) and fit what it needs."""
    labels = list(labels)
    if not labels:
        raise ValueError("There are no labels to propose; add labels to the project first.")
    label_names = [label.name for label in labels]
    known = set(label_names)
    usable = []
    for example in examples:
        names = tuple(name for name in example.labels if name in known)
        # A single-label example whose label was deleted tells the head nothing.
        if names or multi_label:
            usable.append(Example(text=example.text, labels=names, embedding=example.embedding))
    method = method_choose(examples=usable, label_names=label_names, min_examples_per_label=min_examples_per_label)
    common = {"encoder": encoder, "label_names": label_names, "multi_label": multi_label, "batch_size": batch_size}
    if method == ZERO_SHOT:
        probabilities = _zero_shot(encoder, labels, batch_size, temperature)
        return Preannotator(method=method, examples_used=0, probabilities=probabilities, **common)

    embeddings = _examples_embed(encoder, usable, batch_size)
    fit = _logistic_multi if multi_label else _logistic_single
    probabilities = fit(embeddings, usable, label_names, regularisation, seed)
    return Preannotator(method=method, examples_used=len(usable), probabilities=probabilities, **common)


def preannotate(texts: Sequence[str], **build_options) -> PreannotationResult:
    """One-shot helper: build a ``Preannotator`` with ``build_options`` and label ``texts``."""
    preannotator = preannotator_build(**build_options)
    return PreannotationResult(
        method=preannotator.method,
        examples_used=preannotator.examples_used,
        suggestions=preannotator.predict(texts),
    )
