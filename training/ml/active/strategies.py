"""Query strategies: how informative each unlabelled item is, and the order to ask for labels in.

Multi-label choice: every label is its own yes/no question, so an item's uncertainty is
the binary uncertainty of each label averaged over labels. Averaging (not max) keeps one
noisy rare label from dominating the queue; labels the model is sure about pull the score down.
Measured on GoEmotions (28 labels), neither mean nor max beat random order: see bench/README.md.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

STRATEGIES = ("random", "least_confidence", "margin", "entropy", "diversity")
AGGREGATES = ("mean", "max", "sum", "sum_top")
# "sum_top" adds the uncertainty of the most uncertain tokens of a document: long sentences
# are not favoured for their length alone, yet one doubtful entity still counts.
SUM_TOP_TOKENS = 3
# What a span project should pass as ``aggregate``: on CoNLL-2003 (bench/active_learning_sim.py)
# "max" beat random clearly while "mean" did not, as confident O tokens dilute the mean.
SPAN_AGGREGATE_DEFAULT = "max"
# Diversity picks its first batch among this many times batch_size most uncertain items.
DIVERSITY_CANDIDATES = 5


def _check_strategy(strategy: str) -> None:
    if strategy not in STRATEGIES:
        raise ValueError(f"Unknown strategy {strategy!r}; expected one of {', '.join(STRATEGIES)}.")


def _proba_matrix(proba: np.ndarray) -> np.ndarray:
    proba = np.asarray(proba, dtype=np.float64)
    if proba.ndim != 2:
        raise ValueError(f"proba must be a 2-D array (items x labels), got shape {proba.shape}.")
    if not np.isfinite(proba).all():
        raise ValueError("proba holds NaN or infinite values.")
    return np.clip(proba, 0.0, 1.0)


def _entropy(proba: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(proba > 0, -proba * np.log(proba), 0.0)
    return terms.sum(axis=1)


def uncertainty(proba: np.ndarray, *, strategy: str, multi_label: bool) -> np.ndarray:
    """Higher means more informative; in [0, 1]. ``random`` scores every item 0."""
    _check_strategy(strategy)
    proba = _proba_matrix(proba)
    n, k = proba.shape
    if strategy == "random" or n == 0 or k == 0:
        return np.zeros(n, dtype=np.float64)
    if multi_label:
        confidence = np.maximum(proba, 1.0 - proba)
        if strategy == "least_confidence":
            per_label = 1.0 - confidence
        elif strategy == "margin":
            per_label = 1.0 - np.abs(2.0 * proba - 1.0)
        else:  # entropy, diversity
            with np.errstate(divide="ignore", invalid="ignore"):
                per_label = -(
                    np.where(proba > 0, proba * np.log2(proba), 0.0)
                    + np.where(proba < 1, (1 - proba) * np.log2(1 - proba), 0.0)
                )
        return per_label.mean(axis=1)
    if strategy == "least_confidence":
        return 1.0 - proba.max(axis=1)
    if strategy == "margin":
        if k == 1:
            return np.zeros(n, dtype=np.float64)
        top_two = np.sort(proba, axis=1)[:, -2:]
        return 1.0 - (top_two[:, 1] - top_two[:, 0])
    if k == 1:
        return np.zeros(n, dtype=np.float64)
    return _entropy(proba) / np.log(k)


def token_uncertainty(
    token_proba: Sequence[np.ndarray], *, strategy: str, aggregate: str = "mean"
) -> np.ndarray:
    """One score per document from its tokens' tag distributions (rows tokens, columns BIO tags).

    ``mean`` favours documents doubtful throughout, ``max`` the one most doubtful token,
    ``sum`` long doubtful documents, ``sum_top`` the few most doubtful tokens. Empty documents score 0.
    """
    _check_strategy(strategy)
    if aggregate not in AGGREGATES:
        raise ValueError(f"Unknown aggregate {aggregate!r}; expected one of {', '.join(AGGREGATES)}.")
    scores = np.zeros(len(token_proba), dtype=np.float64)
    for position, tokens in enumerate(token_proba):
        tokens = np.asarray(tokens, dtype=np.float64)
        if tokens.size == 0:
            continue
        if tokens.ndim != 2:
            raise ValueError(
                f"token_proba[{position}] must be 2-D (tokens x tags), got shape {tokens.shape}."
            )
        per_token = uncertainty(tokens, strategy=strategy, multi_label=False)
        if aggregate == "mean":
            scores[position] = per_token.mean()
        elif aggregate == "max":
            scores[position] = per_token.max()
        elif aggregate == "sum":
            scores[position] = per_token.sum()
        else:
            scores[position] = np.sort(per_token)[-SUM_TOP_TOKENS:].sum()
    return scores


def _by_score(scores: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    # lexsort sorts by the last key first: score descending, then a random tie-breaker.
    return np.lexsort((rng.random(scores.shape[0]), -scores))


def _diverse_pick(candidates: np.ndarray, scores: np.ndarray, embeddings: np.ndarray, count: int) -> list[int]:
    """Greedy: the most uncertain first, then the candidate maximising uncertainty x distance
    to everything picked so far, so a near-duplicate of a pick scores about zero."""
    vectors = embeddings[candidates].astype(np.float64)
    vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    weight = np.maximum(scores[candidates], 0.0)
    # An all-zero score (no model yet) would zero every product: fall back to distance alone.
    weight = weight + 1e-6 if weight.max() > 0 else np.ones_like(weight)
    picked = [0]  # candidates arrive ordered by score, ties already broken
    distance = np.maximum(1.0 - vectors @ vectors[0], 0.0)
    distance[0] = -1.0
    while len(picked) < count:
        gain = weight * distance
        best = int(np.argmax(gain))
        if distance[best] < 0:
            break
        picked.append(best)
        distance = np.minimum(distance, np.maximum(1.0 - vectors @ vectors[best], 0.0))
        distance[picked] = -1.0
    return [int(candidates[position]) for position in picked]


def select_order(
    *,
    strategy: str,
    scores: np.ndarray | None,
    embeddings: np.ndarray | None,
    rng: np.random.Generator,
    batch_size: int = 50,
) -> np.ndarray:
    """A permutation of pool indices, most useful first.

    ``diversity`` chooses its first ``batch_size`` among the ``5 x batch_size`` most uncertain
    items, greedily far from each other in embedding space (a core-set step weighted by
    uncertainty); the rest follow by uncertainty. No scores means random order.
    """
    _check_strategy(strategy)
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}.")
    if scores is None and embeddings is None:
        raise ValueError("select_order needs scores or embeddings to know how many items the pool holds.")
    if scores is not None:
        scores = np.asarray(scores, dtype=np.float64)
        if scores.ndim != 1:
            raise ValueError(f"scores must be 1-D (one per pool item), got shape {scores.shape}.")
    if embeddings is not None:
        embeddings = np.asarray(embeddings)
        if embeddings.ndim != 2:
            raise ValueError(f"embeddings must be 2-D (items x dimensions), got shape {embeddings.shape}.")
        if scores is not None and embeddings.shape[0] != scores.shape[0]:
            raise ValueError(f"{scores.shape[0]} scores but {embeddings.shape[0]} embeddings.")
    n = scores.shape[0] if scores is not None else embeddings.shape[0]
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    if strategy == "random" or (scores is None and strategy != "diversity"):
        return rng.permutation(n).astype(np.int64)
    if scores is None:
        scores = np.zeros(n, dtype=np.float64)
    order = _by_score(scores, rng).astype(np.int64)
    if strategy != "diversity" or embeddings is None or n == 1:
        return order
    candidates = order[: min(n, DIVERSITY_CANDIDATES * batch_size)]
    first = _diverse_pick(candidates, scores, embeddings, min(batch_size, candidates.shape[0]))
    chosen = np.zeros(n, dtype=bool)
    chosen[first] = True
    return np.concatenate([np.asarray(first, dtype=np.int64), order[~chosen[order]]])
