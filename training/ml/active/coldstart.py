"""Cold start before any label: zero-shot from label names/descriptions, or seed keywords."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

import numpy as np

from training.ml.active.head import embeddings_normalise


def zero_shot_proba(
    X: np.ndarray, label_vectors: np.ndarray, *, multi_label: bool, temperature: float = 0.05
) -> np.ndarray:
    """Label probabilities from cosine similarity between items and label-text embeddings.

    Single-label: softmax of similarity / temperature. Multi-label: a label is likely when the
    item is closer to it than to the labels on average, sigmoid((sim - row mean) / temperature);
    raw cosine levels differ too much between encoders for a fixed cut-off.
    """
    if temperature <= 0:
        raise ValueError(f"temperature must be positive, got {temperature}.")
    items = embeddings_normalise(X).astype(np.float64)
    vectors = embeddings_normalise(label_vectors).astype(np.float64)
    if items.shape[1] != vectors.shape[1]:
        raise ValueError(
            f"item embeddings have {items.shape[1]} dimensions, label vectors {vectors.shape[1]}."
        )
    similarity = items @ vectors.T
    if vectors.shape[0] == 0:
        return similarity
    if multi_label:
        centred = (similarity - similarity.mean(axis=1, keepdims=True)) / temperature
        return 1.0 / (1.0 + np.exp(-centred))
    logits = similarity / temperature
    logits -= logits.max(axis=1, keepdims=True)
    weights = np.exp(logits)
    return weights / weights.sum(axis=1, keepdims=True)


def _pattern(words: Sequence[str]) -> re.Pattern | None:
    cleaned = [word.strip() for word in words if word and word.strip()]
    if not cleaned:
        return None
    # Whole words, any run of whitespace inside a phrase; longest first so phrases win.
    parts = [r"\s+".join(map(re.escape, word.split())) for word in sorted(cleaned, key=len, reverse=True)]
    return re.compile(r"(?<!\w)(?:" + "|".join(parts) + r")(?!\w)", re.IGNORECASE)


def keyword_proba(
    texts: Sequence[str], keywords: Mapping[str, Sequence[str]], labels: Sequence[str]
) -> np.ndarray | None:
    """Mass on each label in proportion to how often its seed keywords occur in the text.

    Texts without a match get the uniform row. None when no keyword is given at all.
    """
    unknown = [label for label in keywords if label not in labels]
    if unknown:
        raise ValueError(f"keywords given for {unknown}, which are not among the labels {list(labels)}.")
    patterns = [_pattern(keywords.get(label, ())) for label in labels]
    if all(pattern is None for pattern in patterns):
        return None
    counts = np.zeros((len(texts), len(labels)), dtype=np.float64)
    for row, text in enumerate(texts):
        for column, pattern in enumerate(patterns):
            if pattern is not None:
                counts[row, column] = len(pattern.findall(text or ""))
    totals = counts.sum(axis=1, keepdims=True)
    uniform = np.full_like(counts, 1.0 / max(len(labels), 1))
    return np.where(totals > 0, counts / np.maximum(totals, 1.0), uniform)


def keyword_order(proba: np.ndarray, *, rng: np.random.Generator) -> np.ndarray:
    """Pool order for keyword cold start: matched items first, taking turns between labels
    (so the first labels cover every seeded class), strongest match first within a label;
    unmatched items follow in random order."""
    proba = np.asarray(proba, dtype=np.float64)
    n, k = proba.shape
    if n == 0 or k == 0:
        return rng.permutation(n).astype(np.int64)
    uniform = 1.0 / k
    best = proba.argmax(axis=1)
    strength = proba.max(axis=1)
    matched = strength > uniform + 1e-9
    queues = []
    for label in range(k):
        members = np.flatnonzero(matched & (best == label))
        members = members[np.lexsort((rng.random(members.shape[0]), -strength[members]))]
        queues.append(list(members))
    order: list[int] = []
    while any(queues):
        for queue in queues:
            if queue:
                order.append(int(queue.pop(0)))
    rest = np.flatnonzero(~matched)
    return np.concatenate([np.asarray(order, dtype=np.int64), rng.permutation(rest).astype(np.int64)])
