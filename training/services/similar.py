"""Find similar items: cosine similarity over the project's cached embeddings.

The nearest neighbours are returned with their text, and their reading is recorded here, in
the one audit event that names exactly the items handed back: every caller (the page, the
API) shows those texts, so a read recorded by the service cannot be forgotten by a caller,
and no client needs a follow-up request per neighbour that would scatter the trail.
"""

from dataclasses import dataclass

import numpy as np
from django.core.exceptions import ValidationError

from annotation.models import Item
from annotation.services.reads import items_read_record
from projects.models import Project
from training.services.embeddings import embeddings_matrix

MAX_NEIGHBOURS = 50


class ItemNotEmbedded(ValidationError):
    """The item has no cached embedding yet: they are computed in the background after an import."""


@dataclass(frozen=True)
class SimilarItem:
    item: Item
    score: float  # cosine similarity, -1..1


def _normalised(matrix: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.maximum(norms, 1e-12)


def similar_items(
    *, actor, project: Project, item: Item, k: int = 10, via: str = "similar", with_item: bool = False
) -> list[SimilarItem]:
    """The ``k`` items of the project closest in meaning to ``item`` (itself left out), closest first.

    The read recorded names the neighbours, and ``item`` too when the caller shows its text
    (``with_item``). Raises ItemNotEmbedded when ``item`` has no cached embedding yet, and
    ValidationError when ``k`` is out of range.
    """
    if item.project_id != project.pk:
        raise ValidationError({"item": f"Item {item.pk} belongs to another project."})
    if not 1 <= k <= MAX_NEIGHBOURS:
        raise ValidationError({"k": f"must be between 1 and {MAX_NEIGHBOURS}; got {k}."})
    ids, matrix = embeddings_matrix(project=project)
    where = np.flatnonzero(ids == item.pk)
    if not where.size:
        raise ItemNotEmbedded(
            {"item": f"Item {item.pk} has no embedding yet; they are computed in the background after an import."}
        )
    matrix = _normalised(matrix.astype(np.float32, copy=False))
    scores = matrix @ matrix[where[0]]
    scores[where[0]] = -np.inf
    count = min(k, len(ids) - 1)
    if count <= 0:
        items_read_record(actor=actor, project=project, items=[item] if with_item else [], via=via)
        return []
    top = np.argpartition(-scores, count - 1)[:count]
    top = top[np.argsort(-scores[top], kind="stable")]
    found = Item.objects.select_related("project").in_bulk([int(ids[index]) for index in top])
    neighbours = [
        SimilarItem(item=found[int(ids[index])], score=float(scores[index]))
        for index in top
        if int(ids[index]) in found
    ]
    shown = ([item] if with_item else []) + [neighbour.item for neighbour in neighbours]
    items_read_record(actor=actor, project=project, items=shown, via=via)
    return neighbours
