"""What one active-learning refresh loads and writes: the labelled set, the pool, the ranks and the sealed stop set."""

import hmac
import time
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache, partial

import numpy as np
from django.db import connection, transaction

from annotation.models import Annotation, AnnotationStatus, FinalAnnotation, Item, Label, Prediction
from governance.crypto import open_sealed, seal
from governance.keyring import project_cipher
from projects.models import Project, TaskType
from training.ml.active.ranking import LabelText, ModelScores, PoolRanking, RankingInputs, pool_rank
from training.models import ModelVersion
from training.models.active import ActiveLearning, Strategy
from training.services.embeddings import embeddings_matrix, encoder_key, encoder_path
from training.services.seed_keywords import keywords_of


@dataclass
class Ranking(PoolRanking):
    """The pool's ranking and the model version whose stored scores ordered it, if one did."""

    model_version: ModelVersion | None = None


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


@lru_cache(maxsize=16)
def _label_vectors(prompts: tuple[str, ...]) -> np.ndarray:
    from django.conf import settings

    from training.ml.encoder import encoder_load

    encoder = encoder_load(encoder_path(), device=settings.ML_DEVICE)
    return encoder.encode(list(prompts))


def _pool_texts(project: Project, wanted: list[int]) -> dict[int, str]:
    """The texts of these open items, read only when seed keywords order the pool."""
    chosen = set(wanted)
    pool_items = Item.objects.filter(project=project, is_done=False, is_gold=False).only(*Item.TEXT_FIELDS)
    return {item.pk: item.text for item in pool_items.iterator(chunk_size=2000) if item.pk in chosen}


def _active_model_scores(project: Project) -> tuple[ModelVersion | None, ModelScores | None]:
    """The active model version and the label scores it stored for open items."""
    model = ModelVersion.objects.filter(project=project, is_active=True).first()
    if model is None:
        return None, None
    rows = dict(
        Prediction.objects.filter(project=project, model_version=model.name, label_scores__isnull=False)
        .filter(item__is_done=False, item__is_gold=False)
        .values_list("item_id", "label_scores")
    )
    return model, ModelScores(name=model.name, scores=rows)


def ranking_compute(*, state: ActiveLearning, rng: np.random.Generator) -> Ranking:
    """Load what the refresh needs and rank the pool (training.ml.active.ranking decides how)."""
    project = state.project
    started = time.perf_counter()
    ids, X = embeddings_matrix(project=project, encoder=encoder_key())
    labels = Label.objects.filter(project=project).order_by("order", "id")
    model, model_scores = _active_model_scores(project) if len(ids) else (None, None)
    inputs = RankingInputs(
        ids=ids,
        embeddings=X,
        pool=pool_ids(project),
        labelled=labelled_values(project),
        labels=[LabelText(label.name, label.description, tuple(keywords_of(label))) for label in labels],
        strategy=state.strategy,
        control_fraction=state.control_fraction,
        salt=control_salt(project.pk),
        spans=project.task_type == TaskType.SPANS,
        multi_label=project.task_type == TaskType.MULTI_LABEL,
        model=model_scores,
        stop_set=stop_set_items(state),
    )
    load_seconds = time.perf_counter() - started
    ranked = pool_rank(inputs, texts_of=partial(_pool_texts, project), encode=_label_vectors, rng=rng)
    ranked.phases = {"load": load_seconds, **ranked.phases}
    return Ranking(**vars(ranked), model_version=model if ranked.by_model else None)


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


def ranks_write(*, project_id: int, ids: np.ndarray, ranks: np.ndarray, control: np.ndarray) -> bool:
    """Write the ranks in short transactions of RANK_CHUNK rows each, in id order.

    Between two chunks the queue mixes new and old ranks for a few milliseconds; a queue order
    is a preference, so that is harmless, while a long lock on every open item is not. Each chunk
    first locks the project's active-learning row and stops if the loop was turned off: turning
    it off takes the same lock and puts every rank back to 0, so once it has committed no chunk
    can write a rank after it. Returns False when it stopped for that reason.
    """
    order = np.argsort(ids, kind="stable")
    for start in range(0, len(order), RANK_CHUNK):
        part = order[start : start + RANK_CHUNK]
        rows = [(int(ids[i]), float(ranks[i]), bool(control[i])) for i in part]
        with transaction.atomic():
            state = ActiveLearning.objects.select_for_update().filter(project_id=project_id).first()
            if state is None or state.strategy == Strategy.OFF:
                return False
            with connection.cursor() as cursor:
                if connection.vendor == "postgresql":
                    columns = [list(column) for column in zip(*rows)]
                    cursor.execute(_RANKS_PG_SQL, [*columns, project_id])
                else:
                    cursor.executemany(_RANKS_SQL, [(r, c, i, project_id) for i, r, c in rows])
    return True
