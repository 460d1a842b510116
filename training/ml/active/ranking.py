"""One refresh's ranking from plain arrays: the scorer chosen, the pool's order, the control slice, the stop set."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from training.ml.active.coldstart import keyword_order, keyword_proba, zero_shot_proba
from training.ml.active.control import control_mask, interleave
from training.ml.active.head import HeadModel, accuracy, head_fit
from training.ml.active.strategies import SPAN_AGGREGATE_DEFAULT, select_order, uncertainty

# A fixed sample of the unlabelled pool on which successive heads' predictions are compared.
STOP_SET_SIZE = 1000
# Diversity picks its first batch this large: about what a few annotators label between refreshes.
DIVERSITY_BATCH = 50
# Span documents are scored by the largest token entropy a fine-tuned model stored with its
# prediction: on CoNLL-2003 the mean did no better than random, the max did (bench/README.md).
SPAN_SCORE_KEY = f"token_entropy_{SPAN_AGGREGATE_DEFAULT}"


@dataclass(frozen=True)
class LabelText:
    """What the cold start reads about a label: its name, its description and its seed keywords."""

    name: str
    description: str = ""
    keywords: tuple[str, ...] = ()


@dataclass(frozen=True)
class ModelScores:
    """What the active model stored for open items: item id -> label name (or SPAN_SCORE_KEY) -> score."""

    name: str
    scores: Mapping[int, Mapping[str, float]]


@dataclass(frozen=True)
class RankingInputs:
    """What one refresh knows: embeddings, the pool, the labels given so far and the loop's settings."""

    ids: np.ndarray  # embedded item ids, ascending; ``embeddings`` rows follow them
    embeddings: np.ndarray
    pool: np.ndarray  # items still to label, ascending, embedded or not
    labelled: Mapping[int, tuple[str, ...]]  # item id -> the labels it was given
    labels: Sequence[LabelText]  # in the project's order: head and proba columns follow it
    strategy: str
    control_fraction: float
    salt: bytes  # the control slice's hash key
    spans: bool = False
    multi_label: bool = False
    model: ModelScores | None = None
    stop_set: Sequence[int] = ()  # the stop set an earlier refresh chose


@dataclass
class PoolRanking:
    """A refresh's result, before it is written: the pool in queue order and what was measured."""

    pool_ids: np.ndarray
    order: np.ndarray
    control: np.ndarray
    scored_by: str
    by_model: bool = False
    labels: int = 0
    control_labels: int = 0
    accuracy: float | None = None
    stop_set: list[int] = field(default_factory=list)
    stop_predictions: np.ndarray | None = None
    texts_read: int = 0
    missing_embeddings: int = 0
    phases: dict[str, float] = field(default_factory=dict)


def scorer_choose(
    *,
    strategy: str,
    spans: bool,
    has_model: bool,
    has_head: bool,
    has_keywords: bool,
    has_labels: bool,
) -> str:
    """The first scorer that applies: the random strategy; the active model's stored scores; for spans
    without a model, diversity alone (no head reads spans); the head fitted on the labels so far; seed
    keywords; zero-shot from the label names; random when there is nothing to go on."""
    if strategy == "random":
        return "random"
    if has_model:
        return "model"
    if spans:
        return "diversity"
    if has_head:
        return "head"
    if has_keywords:
        return "keywords"
    return "zero_shot" if has_labels else "random"


def pool_rank(
    inputs: RankingInputs,
    *,
    texts_of: Callable[[list[int]], Mapping[int, str]],
    encode: Callable[[tuple[str, ...]], np.ndarray],
    rng: np.random.Generator,
) -> PoolRanking:
    """Fit the head, choose the scorer, order the pool and measure accuracy on the control slice.

    ``texts_of`` (pool item ids -> their texts) is called only when seed keywords order the pool,
    ``encode`` (label prompts -> vectors in the items' space) only for zero-shot: both are costly.
    """
    ids, X = inputs.ids, inputs.embeddings
    pool = inputs.pool[np.isin(inputs.pool, ids)]
    ranking = PoolRanking(
        pool_ids=pool,
        order=np.zeros(0, dtype=np.int64),
        control=np.zeros(0, dtype=bool),
        scored_by="",
        labels=len(inputs.labelled),
        missing_embeddings=int(len(inputs.pool) - len(pool)),
    )
    if len(ids) == 0:
        # Nothing embedded yet (the import's worker is still at it): nothing to rank by.
        return ranking
    ranking.control = control_mask(pool, fraction=inputs.control_fraction, salt=inputs.salt)

    started = time.perf_counter()
    head = _head_fit(inputs, ranking)
    ranking.phases["fit"] = time.perf_counter() - started

    started = time.perf_counter()
    X_pool = (
        X[_rows_of(ids, pool)] if len(pool) else np.zeros((0, X.shape[1] if X.ndim == 2 else 0))
    )
    names = [label.name for label in inputs.labels]
    keywords = {
        label.name: [word for word in label.keywords if word.strip()]
        for label in inputs.labels
        if any(word.strip() for word in label.keywords)
    }
    scorer = scorer_choose(
        strategy=inputs.strategy,
        spans=inputs.spans,
        has_model=inputs.model is not None and bool(inputs.model.scores) and len(pool) > 0,
        has_head=head is not None,
        has_keywords=bool(keywords),
        has_labels=bool(names),
    )
    ranking.scored_by = inputs.model.name if scorer == "model" else scorer
    ranking.by_model = scorer == "model"
    ranked_rows = np.flatnonzero(~ranking.control)
    if scorer == "keywords":
        wanted = pool[ranked_rows].tolist()
        texts = texts_of(wanted)
        ranking.texts_read = len(texts)
        proba = keyword_proba([texts[i] for i in wanted], keywords, names)
        ranked = ranked_rows[keyword_order(proba, rng=rng)]
    else:
        scores = _scores(scorer, inputs, head=head, pool=pool, X_pool=X_pool, encode=encode)
        picked = select_order(
            # Spans without a model are spread over the embedding space, whatever the strategy.
            strategy=scorer if scorer in ("random", "diversity") else inputs.strategy,
            scores=scores[ranked_rows] if scores is not None else np.zeros(len(ranked_rows)),
            embeddings=X_pool[ranked_rows] if len(ranked_rows) else None,
            rng=rng,
            batch_size=DIVERSITY_BATCH,
        )
        ranked = ranked_rows[picked]
    ranking.order = interleave(
        ranked, np.flatnonzero(ranking.control), fraction=inputs.control_fraction, rng=rng
    )
    ranking.phases["score"] = time.perf_counter() - started

    if head is not None:
        ranking.stop_set = _stop_set(inputs, pool, rng)
        proba = head.predict_proba(X[_rows_of(ids, np.array(ranking.stop_set, dtype=np.int64))])
        predicted = (proba >= 0.5) if inputs.multi_label else proba.argmax(axis=1)
        ranking.stop_predictions = predicted.astype(np.int8)
    return ranking


def _rows_of(ids: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """Positions in the sorted ``ids`` of each of ``wanted`` (all of which must be there)."""
    return np.searchsorted(ids, wanted)


def _head_fit(inputs: RankingInputs, ranking: PoolRanking) -> HeadModel | None:
    """The head fitted on labelled items outside the control slice, measured on those inside it."""
    ids, X = inputs.ids, inputs.embeddings
    embedded = set(ids.tolist())
    labelled_ids = np.array(sorted(i for i in inputs.labelled if i in embedded), dtype=np.int64)
    in_control = control_mask(labelled_ids, fraction=inputs.control_fraction, salt=inputs.salt)
    train_ids, test_ids = labelled_ids[~in_control], labelled_ids[in_control]
    ranking.control_labels = len(test_ids)
    names = [label.name for label in inputs.labels]
    if inputs.spans or len(names) < 2:
        return None
    known = set(names)

    def targets(item_ids: np.ndarray) -> list[tuple[str, ...]]:
        return [
            tuple(name for name in inputs.labelled[i] if name in known) for i in item_ids.tolist()
        ]

    head = head_fit(
        X[_rows_of(ids, train_ids)],
        targets(train_ids),
        labels=names,
        multi_label=inputs.multi_label,
    )
    if head is not None and len(test_ids):
        ranking.accuracy = accuracy(head, X[_rows_of(ids, test_ids)], targets(test_ids))
    return head


def _scores(
    scorer: str,
    inputs: RankingInputs,
    *,
    head: HeadModel | None,
    pool: np.ndarray,
    X_pool: np.ndarray,
    encode: Callable[[tuple[str, ...]], np.ndarray],
) -> np.ndarray | None:
    """How informative each pool item is by ``scorer``; None for random order."""
    kind = _uncertainty_kind(inputs.strategy)
    multi_label = inputs.multi_label
    if scorer == "model" and inputs.spans:
        return _span_scores(inputs.model, pool)
    if scorer == "model":
        proba = _model_proba(inputs.model, pool, [label.name for label in inputs.labels])
        return uncertainty(proba, strategy=kind, multi_label=multi_label)
    if scorer == "diversity":
        # No model reads spans yet: every item is as uncertain, so distance alone decides.
        return np.zeros(len(pool))
    if scorer == "head":
        return uncertainty(head.predict_proba(X_pool), strategy=kind, multi_label=multi_label)
    if scorer == "zero_shot":
        prompts = tuple(
            f"{label.name}: {label.description}" if label.description.strip() else label.name
            for label in inputs.labels
        )
        proba = zero_shot_proba(X_pool, encode(prompts), multi_label=multi_label)
        return uncertainty(proba, strategy=kind, multi_label=multi_label)
    return None


def _uncertainty_kind(strategy: str) -> str:
    # Diversity ranks by entropy outside its first, spread-out batch.
    return "entropy" if strategy == "diversity" else strategy


def _span_scores(model: ModelScores, pool: np.ndarray) -> np.ndarray:
    """Each document's stored token entropy; documents the model has not read get the mean."""
    scores = np.array(
        [float((model.scores.get(int(i)) or {}).get(SPAN_SCORE_KEY, np.nan)) for i in pool]
    )
    known = ~np.isnan(scores)
    scores[~known] = scores[known].mean() if known.any() else 0.0
    return scores


def _model_proba(model: ModelScores, pool: np.ndarray, names: list[str]) -> np.ndarray:
    """The stored label probabilities as a pool x labels matrix."""
    proba = np.full((len(pool), len(names)), np.nan)
    for row, item_id in enumerate(pool.tolist()):
        found = model.scores.get(item_id)
        if found:
            proba[row] = [float(found.get(name, 0.0)) for name in names]
    # Items the model has not scored yet (imported since) count as the least certain.
    proba[np.isnan(proba).any(axis=1)] = 1.0 / max(len(names), 1)
    return proba


def _stop_set(inputs: RankingInputs, pool: np.ndarray, rng: np.random.Generator) -> list[int]:
    """The stop set chosen at the first refresh with a head; items erased since drop out of it."""
    embedded = set(inputs.ids.tolist())
    current = [item_id for item_id in inputs.stop_set if item_id in embedded]
    if current:
        return current
    size = min(STOP_SET_SIZE, len(pool))
    return sorted(int(i) for i in rng.choice(pool, size=size, replace=False)) if size else []
