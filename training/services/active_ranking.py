"""What one active-learning refresh computes: the labelled set, the pool's order and the control slice."""

import hmac
import time
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
from django.db import connection, transaction

from annotation.models import Annotation, AnnotationStatus, FinalAnnotation, Item, Label, Prediction
from projects.models import Project, TaskType
from governance.crypto import open_sealed, seal
from governance.keyring import project_cipher
from training.ml.active.coldstart import keyword_order, keyword_proba, zero_shot_proba
from training.ml.active.control import control_mask, interleave
from training.ml.active.head import HeadModel, accuracy, head_fit
from training.ml.active.strategies import SPAN_AGGREGATE_DEFAULT, select_order, uncertainty
from training.models import ModelVersion
from training.models.active import ActiveLearning, Strategy
from training.services.embeddings import embeddings_matrix, encoder_key, encoder_path

# A fixed sample of the unlabelled pool on which successive heads' predictions are compared.
STOP_SET_SIZE = 1000
# Diversity picks its first batch this large: about what a few annotators label between refreshes.
DIVERSITY_BATCH = 50
# Span documents are scored by the largest token entropy a fine-tuned model stored with its
# prediction: on CoNLL-2003 the mean did no better than random, the max did (bench/README.md).
SPAN_SCORE_KEY = f"token_entropy_{SPAN_AGGREGATE_DEFAULT}"


@dataclass
class Ranking:
    """A refresh's result, before it is written: the pool in queue order and what was measured."""

    pool_ids: np.ndarray
    order: np.ndarray
    control: np.ndarray
    scored_by: str
    labels: int = 0
    control_labels: int = 0
    accuracy: float | None = None
    model_version: ModelVersion | None = None
    stop_set: list[int] = field(default_factory=list)
    stop_predictions: np.ndarray | None = None
    texts_read: int = 0
    missing_embeddings: int = 0
    phases: dict[str, float] = field(default_factory=dict)


def control_salt(project_id: int) -> bytes:
    """The control slice's hash key, derived from the project key: stable, and secret with it."""
    return hmac.digest(project_cipher(project_id).index_key, b"active-learning/control-slice", "sha256")


def labelled_values(project: Project) -> dict[int, tuple[str, ...]]:
    """Item id -> labels: the final annotation where there is one, else the annotators' majority."""
    values: dict[int, tuple[str, ...]] = {}
    for final in FinalAnnotation.objects.filter(project=project).only("item_id", "value_ct", "project_id"):
        values[final.item_id] = tuple(final.value.get("labels") or ())
    votes: dict[int, Counter] = {}
    submitted = (
        Annotation.objects.filter(project=project, status=AnnotationStatus.SUBMITTED, item__final__isnull=True)
        .only("item_id", "annotator_id", "value_ct", "project_id")
        .order_by("id")
    )
    for annotation in submitted.iterator(chunk_size=2000):
        labels = annotation.value.get("labels") if isinstance(annotation.value, dict) else None
        if isinstance(labels, list):
            votes.setdefault(annotation.item_id, Counter())[tuple(sorted(labels))] += 1
    for item_id, counter in votes.items():
        values[item_id] = counter.most_common(1)[0][0]
    return values


def pool_ids(project: Project) -> np.ndarray:
    """Items still to label: open and not gold, in id order."""
    ids = Item.objects.filter(project=project, is_done=False, is_gold=False).order_by("id")
    return np.fromiter(ids.values_list("id", flat=True), dtype=np.int64)


def _rows_of(ids: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """Positions in the sorted ``ids`` of each of ``wanted`` (all of which must be there)."""
    return np.searchsorted(ids, wanted)


@lru_cache(maxsize=16)
def _label_vectors(prompts: tuple[str, ...]) -> np.ndarray:
    from django.conf import settings

    from training.ml.encoder import encoder_load

    encoder = encoder_load(encoder_path(), device=settings.ML_DEVICE)
    return encoder.encode(list(prompts))


def _keywords(labels: list[Label]) -> dict[str, list[str]]:
    return {
        label.name: [word.strip() for word in label.keywords.split(",") if word.strip()]
        for label in labels
        if label.keywords.strip()
    }


def _active_model_scores(project: Project, ids: np.ndarray, label_names: list[str]):
    """(model version, per-pool-item scores or proba) from the active model's stored label_scores."""
    model = ModelVersion.objects.filter(project=project, is_active=True).first()
    if model is None or len(ids) == 0:
        return None, None
    rows = dict(
        Prediction.objects.filter(project=project, model_version=model.name, label_scores__isnull=False)
        .filter(item__is_done=False, item__is_gold=False)
        .values_list("item_id", "label_scores")
    )
    if not rows:
        return None, None
    if project.task_type == TaskType.SPANS:
        scores = np.array([float((rows.get(int(i)) or {}).get(SPAN_SCORE_KEY, np.nan)) for i in ids])
        known = ~np.isnan(scores)
        scores[~known] = scores[known].mean() if known.any() else 0.0
        return model, scores
    proba = np.full((len(ids), len(label_names)), np.nan)
    for row, item_id in enumerate(ids.tolist()):
        found = rows.get(item_id)
        if found:
            proba[row] = [float(found.get(name, 0.0)) for name in label_names]
    missing = np.isnan(proba).any(axis=1)
    # Items the model has not scored yet (imported since) count as the least certain.
    proba[missing] = 1.0 / max(len(label_names), 1)
    return model, proba


def ranking_compute(*, state: ActiveLearning, rng: np.random.Generator) -> Ranking:
    """Fit the head, score the pool, order it and measure accuracy on the control slice."""
    project = state.project
    phases: dict[str, float] = {}
    started = time.perf_counter()
    key = encoder_key()
    ids, X = embeddings_matrix(project=project, encoder=key)
    pool = pool_ids(project)
    labelled = labelled_values(project)
    labels = list(Label.objects.filter(project=project).order_by("order", "id"))
    label_names = [label.name for label in labels]
    phases["load"] = time.perf_counter() - started

    embedded_pool = pool[np.isin(pool, ids)]
    missing = int(len(pool) - len(embedded_pool))
    if len(ids) == 0:
        # Nothing embedded yet (the import's worker is still at it): nothing to rank by.
        return Ranking(pool_ids=embedded_pool, order=np.zeros(0, dtype=np.int64), control=np.zeros(0, dtype=bool),
                       scored_by="", labels=len(labelled), missing_embeddings=missing, phases=phases)
    pool_rows = _rows_of(ids, embedded_pool)
    salt = control_salt(project.pk)
    control = control_mask(embedded_pool, fraction=state.control_fraction, salt=salt)

    embedded = set(ids.tolist())
    labelled_ids = np.array(sorted(i for i in labelled if i in embedded), dtype=np.int64)
    labelled_control = control_mask(labelled_ids, fraction=state.control_fraction, salt=salt)
    train_ids, test_ids = labelled_ids[~labelled_control], labelled_ids[labelled_control]
    ranking = Ranking(pool_ids=embedded_pool, order=np.zeros(0, dtype=np.int64), control=control, scored_by="")
    ranking.labels = len(labelled)
    ranking.control_labels = int(len(test_ids))
    ranking.missing_embeddings = missing

    started = time.perf_counter()
    head: HeadModel | None = None
    multi_label = project.task_type == TaskType.MULTI_LABEL
    if project.task_type != TaskType.SPANS and len(label_names) >= 2:
        known = set(label_names)
        y_train = [tuple(name for name in labelled[i] if name in known) for i in train_ids.tolist()]
        head = head_fit(X[_rows_of(ids, train_ids)], y_train, labels=label_names, multi_label=multi_label)
        if head is not None and len(test_ids):
            y_test = [tuple(name for name in labelled[i] if name in known) for i in test_ids.tolist()]
            ranking.accuracy = accuracy(head, X[_rows_of(ids, test_ids)], y_test)
    phases["fit"] = time.perf_counter() - started

    started = time.perf_counter()
    X_pool = X[pool_rows] if len(pool_rows) else np.zeros((0, X.shape[1] if X.ndim == 2 else 0))
    strategy = state.strategy
    ranked_rows = np.flatnonzero(~control)
    scores, cold_order = None, None
    model, from_model = _active_model_scores(project, embedded_pool, label_names)
    if strategy == Strategy.RANDOM:
        ranking.scored_by = "random"
    elif model is not None:
        ranking.scored_by, ranking.model_version = model.name, model
        if project.task_type == TaskType.SPANS:
            scores = from_model
        else:
            scores = uncertainty(from_model, strategy=_uncertainty_kind(strategy), multi_label=multi_label)
    elif project.task_type == TaskType.SPANS:
        # No model reads spans yet: spread the first picks over the embedding space instead.
        ranking.scored_by = "diversity"
        scores = np.zeros(len(embedded_pool))
        strategy = Strategy.DIVERSITY
    elif head is not None:
        ranking.scored_by = "head"
        scores = uncertainty(head.predict_proba(X_pool), strategy=_uncertainty_kind(strategy), multi_label=multi_label)
    else:
        keywords = _keywords(labels)
        proba = None
        if keywords:
            wanted = embedded_pool[ranked_rows].tolist()
            pool_items = Item.objects.filter(project=project, is_done=False, is_gold=False).only(*Item.TEXT_FIELDS)
            chosen = set(wanted)
            by_id = {item.pk: item.text for item in pool_items.iterator(chunk_size=2000) if item.pk in chosen}
            ranking.texts_read = len(by_id)
            proba = keyword_proba([by_id[i] for i in wanted], keywords, label_names)
        if proba is not None:
            ranking.scored_by = "keywords"
            cold_order = ranked_rows[keyword_order(proba, rng=rng)]
        elif label_names:
            ranking.scored_by = "zero_shot"
            prompts = tuple(f"{label.name}: {label.description}" if label.description.strip() else label.name
                            for label in labels)
            proba = zero_shot_proba(X_pool, _label_vectors(prompts), multi_label=multi_label)
            scores = uncertainty(proba, strategy=_uncertainty_kind(strategy), multi_label=multi_label)
        else:
            ranking.scored_by = "random"

    if cold_order is not None:
        ranked = cold_order
    else:
        sub_scores = None if scores is None else scores[ranked_rows]
        picked = select_order(
            strategy=strategy if ranking.scored_by != "random" else "random",
            scores=sub_scores if sub_scores is not None else np.zeros(len(ranked_rows)),
            embeddings=X_pool[ranked_rows] if len(ranked_rows) else None,
            rng=rng,
            batch_size=DIVERSITY_BATCH,
        )
        ranked = ranked_rows[picked]
    ranking.order = interleave(ranked, np.flatnonzero(control), fraction=state.control_fraction, rng=rng)
    phases["score"] = time.perf_counter() - started

    if head is not None:
        ranking.stop_set = _stop_set(state, embedded_pool, embedded, rng)
        stop_rows = _rows_of(ids, np.array(ranking.stop_set, dtype=np.int64))
        proba = head.predict_proba(X[stop_rows])
        predicted = (proba >= 0.5) if multi_label else proba.argmax(axis=1)
        ranking.stop_predictions = predicted.astype(np.int8)
    ranking.phases = phases
    return ranking


def _uncertainty_kind(strategy: str) -> str:
    # Diversity ranks by entropy outside its first, spread-out batch.
    return "entropy" if strategy == Strategy.DIVERSITY else strategy


def _stop_set(state: ActiveLearning, pool: np.ndarray, embedded: set, rng: np.random.Generator) -> list[int]:
    """The stop set chosen at the first refresh with a head; items erased since drop out of it."""
    current = [item_id for item_id in stop_set_items(state) if item_id in embedded]
    if current:
        return current
    size = min(STOP_SET_SIZE, len(pool))
    return sorted(int(i) for i in rng.choice(pool, size=size, replace=False)) if size else []


def stop_set_items(state: ActiveLearning) -> list[int]:
    data = state.stop_set
    return list(data.get("items", [])) if isinstance(data, dict) else [int(i) for i in data]


def _stop_context(project_id: int) -> bytes:
    return project_cipher(project_id).context("activelearning.stop_predictions")


def stop_predictions_seal(project_id: int, predictions: np.ndarray) -> str:
    """Predicted labels of unlabelled items are annotation-like data: kept sealed, base64 in JSON."""
    import base64

    shape = (predictions.ndim, *predictions.shape, *(1,) * (2 - predictions.ndim))
    header = np.array(shape, dtype=np.int32).tobytes()
    data = header + predictions.astype(np.int8).tobytes()
    blob = seal(project_cipher(project_id).aead, data, _stop_context(project_id))
    return base64.b64encode(blob).decode()


def stop_predictions_open(project_id: int, text: str) -> np.ndarray | None:
    import base64

    if not text:
        return None
    data = open_sealed(project_cipher(project_id).aead, base64.b64decode(text), _stop_context(project_id))
    ndim, rows, columns = np.frombuffer(data[:12], dtype=np.int32)
    values = np.frombuffer(data[12:], dtype=np.int8).reshape(rows, columns)
    return values[:, 0] if ndim == 1 else values


_RANKS_PG_SQL = """
UPDATE annotation_item AS i SET queue_rank = v.rank, in_control = v.control
  FROM unnest(%s::bigint[], %s::float8[], %s::boolean[]) AS v(id, rank, control)
 WHERE i.id = v.id AND i.project_id = %s
"""
_RANKS_SQL = "UPDATE annotation_item SET queue_rank = %s, in_control = %s WHERE id = %s AND project_id = %s"


# Rows per rank-writing transaction. Annotators' queue skips rows another transaction has locked
# and waits a moment for them (annotation/services/queue.py); one statement over a 100,000-item
# pool would lock every open item for longer than that wait, so they would be told the queue is
# empty. 2,000 rows take a few milliseconds.
RANK_CHUNK = 2000


def ranks_write(*, project_id: int, ids: np.ndarray, ranks: np.ndarray, control: np.ndarray) -> None:
    """Write the ranks in short transactions of RANK_CHUNK rows each, in id order.

    Between two chunks the queue mixes new and old ranks for a few milliseconds; a queue order
    is a preference, so that is harmless, while a long lock on every open item is not.
    """
    order = np.argsort(ids, kind="stable")
    for start in range(0, len(order), RANK_CHUNK):
        part = order[start : start + RANK_CHUNK]
        rows = [(int(ids[i]), float(ranks[i]), bool(control[i])) for i in part]
        with transaction.atomic(), connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                columns = [list(column) for column in zip(*rows)]
                cursor.execute(_RANKS_PG_SQL, [*columns, project_id])
            else:
                cursor.executemany(_RANKS_SQL, [(r, c, i, project_id) for i, r, c in rows])
