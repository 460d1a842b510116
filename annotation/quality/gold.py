"""A project's gold items: how annotators met each, the finals that may become gold, lookup by reference."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from annotation.models import Annotation, AnnotationStatus, FinalAnnotation, Item
from annotation.quality.annotators import share
from annotation.services.annotations import value_key
from governance.keyring import project_readable_check
from projects.models import Project


@dataclass(frozen=True)
class GoldItemFigures:
    item: Item
    value: dict
    answered: int
    correct: int

    @property
    def accuracy(self) -> float | None:
        return share(self.correct, self.answered)


def gold_item_list(*, project: Project) -> list[GoldItemFigures]:
    """The project's gold items with their answers, how many annotators met each and how many got it right."""
    project_readable_check(project=project)
    items = list(Item.objects.filter(project=project, is_gold=True).order_by("id"))
    answers = defaultdict(list)
    for annotation in Annotation.objects.filter(
        project=project, item__is_gold=True, status=AnnotationStatus.SUBMITTED
    ).only("item_id", "annotator_id", "project_id", "value_ct"):
        answers[annotation.item_id].append(value_key(annotation.value))
    figures = []
    for item in items:
        expected = value_key(item.gold_value)
        given = answers[item.pk]
        figures.append(
            GoldItemFigures(
                item, item.gold_value, len(given), sum(key == expected for key in given)
            )
        )
    return figures


def gold_candidates(*, project: Project, limit: int = 20) -> list[FinalAnnotation]:
    """The most recently finalised items, whose final answers a manager may promote to gold."""
    project_readable_check(project=project)
    finals = FinalAnnotation.objects.filter(project=project, item__is_gold=False).select_related(
        "item"
    )
    return list(finals.order_by("-updated_at", "-id")[:limit])


def item_by_reference(*, project: Project, reference: str) -> Item | None:
    """The project's item with this external id or, failing that, this numeric id."""
    reference = reference.strip()
    if not reference:
        return None
    items = Item.objects.filter(project=project)
    item = items.filter(external_id=reference).first()
    if item is None and reference.isdigit():
        item = items.filter(pk=int(reference)).first()
    return item
