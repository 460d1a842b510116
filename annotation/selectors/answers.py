"""Annotations, reviews and final answers; callers have already passed the permission gate."""

from dataclasses import dataclass

from django.db.models import QuerySet

from annotation.models import (
    Annotation,
    AnnotationStatus,
    FinalAnnotation,
    FinalSource,
    Item,
)
from governance.access import has_project_perm
from governance.keyring import project_readable_check
from governance.roles import Perm
from projects.models import Project


def annotation_list(*, project: Project, user) -> QuerySet[Annotation]:
    """Everyone's annotations for those allowed to see them, otherwise only the user's own."""
    project_readable_check(project=project)
    annotations = (
        Annotation.objects.filter(project=project).select_related("annotator").order_by("id")
    )
    if not has_project_perm(user=user, project=project, perm=Perm.VIEW_ANNOTATIONS):
        annotations = annotations.filter(annotator=user)
    return annotations


def annotation_own(*, item: Item, user) -> Annotation | None:
    """The user's own annotation of the item, with its review, if any."""
    return Annotation.objects.filter(item=item, annotator=user).select_related("review").first()


def annotation_previous(
    *, project: Project, user, exclude_item: Item | None = None
) -> Annotation | None:
    """The user's most recently submitted annotation in the project that may still be changed."""
    annotations = Annotation.objects.filter(
        project=project, annotator=user, status=AnnotationStatus.SUBMITTED
    ).exclude(item__final__source=FinalSource.REVIEW)
    if exclude_item is not None:
        annotations = annotations.exclude(item=exclude_item)
    return annotations.order_by("-updated_at", "-id").first()


@dataclass(frozen=True)
class SpanChoice:
    start: int
    end: int
    label: str
    text: str
    marked_by: int
    chosen: bool

    @property
    def key(self) -> str:
        return f"{self.start}:{self.end}:{self.label}"


@dataclass(frozen=True)
class ReviewDetails:
    item: Item
    annotations: list
    final: FinalAnnotation | None

    def span_choices(self, proposal: dict) -> list[SpanChoice]:
        """Every distinct span any annotator marked, how many marked it, and whether the proposal keeps it."""
        counts: dict[tuple, int] = {}
        for annotation in self.annotations:
            for span in annotation.value.get("spans", []):
                key = (span["start"], span["end"], span["label"])
                counts[key] = counts.get(key, 0) + 1
        proposed = {
            (span["start"], span["end"], span["label"]) for span in proposal.get("spans", [])
        }
        text = self.item.text
        return [
            SpanChoice(
                start,
                end,
                label,
                text[start:end],
                counts.get((start, end, label), 0),
                (start, end, label) in proposed,
            )
            for start, end, label in sorted(set(counts) | proposed)
        ]


def item_review_context(*, item: Item) -> ReviewDetails:
    """An item's submitted annotations (with annotator and any review) and its final answer."""
    annotations = list(
        Annotation.objects.filter(item=item, status=AnnotationStatus.SUBMITTED)
        .select_related("annotator", "prediction", "review")
        .order_by("id")
    )
    return ReviewDetails(
        item=item, annotations=annotations, final=FinalAnnotation.objects.filter(item=item).first()
    )


def final_list(*, project: Project) -> QuerySet[FinalAnnotation]:
    project_readable_check(project=project)
    return (
        FinalAnnotation.objects.filter(project=project).select_related("decided_by").order_by("id")
    )


@dataclass(frozen=True)
class ReviewProgress:
    pending: int
    decided: int
    agreed: int


def review_progress(*, project: Project) -> ReviewProgress:
    finals = FinalAnnotation.objects.filter(project=project)
    return ReviewProgress(
        pending=Item.objects.filter(
            project=project, is_done=True, is_gold=False, final__isnull=True
        ).count(),
        decided=finals.filter(source=FinalSource.REVIEW).count(),
        agreed=finals.filter(source=FinalSource.AGREEMENT).count(),
    )
