"""Reads of annotation data; callers have already passed the permission gate for the project."""

from collections.abc import Iterator
from dataclasses import dataclass

from django.db.models import F, Prefetch, QuerySet

from annotation.models import Annotation, AnnotationStatus, Item, Prediction, Project
from governance.access import has_project_perm, projects_visible_to
from governance.keyring import project_cipher, project_readable_check
from governance.roles import Perm

EXPORT_CHUNK = 2000


def project_list(*, user) -> QuerySet[Project]:
    """Visible projects; ``data_shredded_at`` is set on those whose data key was destroyed."""
    return projects_visible_to(user=user).annotate(data_shredded_at=F("data_key__shredded_at")).order_by("id")


@dataclass(frozen=True)
class Progress:
    total: int
    done: int
    mine: int

    @property
    def remaining(self) -> int:
        return self.total - self.done

    @property
    def percent(self) -> int:
        return round(100 * self.done / self.total) if self.total else 0


def project_progress(*, project: Project, user) -> Progress:
    items = Item.objects.filter(project=project)
    return Progress(
        total=items.count(),
        done=items.filter(is_done=True).count(),
        mine=Annotation.objects.filter(project=project, annotator=user, status=AnnotationStatus.SUBMITTED).count(),
    )


# Selectors of encrypted content raise DataShredded for a shredded project, even when the list
# would be empty, so every client gets the same clear answer (410 in the API).


def item_list(*, project: Project) -> QuerySet[Item]:
    project_readable_check(project=project)
    return Item.objects.filter(project=project).order_by("id")


def item_find_by_text(*, project: Project, text: str) -> QuerySet[Item]:
    """Items whose text equals ``text`` after normalisation, found through the blind index."""
    return item_list(project=project).filter(text_index=project_cipher(project.pk).blind_index(text))


def annotation_list(*, project: Project, user) -> QuerySet[Annotation]:
    """Everyone's annotations for those allowed to see them, otherwise only the user's own."""
    project_readable_check(project=project)
    annotations = Annotation.objects.filter(project=project).select_related("annotator").order_by("id")
    if not has_project_perm(user=user, project=project, perm=Perm.VIEW_ANNOTATIONS):
        annotations = annotations.filter(annotator=user)
    return annotations


def prediction_list(*, project: Project) -> QuerySet[Prediction]:
    project_readable_check(project=project)
    return Prediction.objects.filter(project=project).order_by("id")


def prediction_latest(*, item: Item) -> Prediction | None:
    return item.predictions.order_by("-created_at", "-id").first()


def export_records(*, project: Project) -> Iterator[dict]:
    """One record per item that has a submitted annotation, with those annotations, in id order."""
    submitted = Annotation.objects.filter(status=AnnotationStatus.SUBMITTED).select_related("annotator").order_by("id")
    items = (
        Item.objects.filter(project=project, annotations__status=AnnotationStatus.SUBMITTED)
        .distinct()
        .order_by("id")
        .prefetch_related(Prefetch("annotations", queryset=submitted, to_attr="submitted"))
    )
    for item in items.iterator(chunk_size=EXPORT_CHUNK):
        yield {
            "id": item.pk,
            "external_id": item.external_id,
            "text": item.text,
            "meta": item.meta,
            "annotations": [
                {
                    "annotator": annotation.annotator.get_username(),
                    "status": annotation.status,
                    "value": annotation.value,
                    "lead_time_ms": annotation.lead_time_ms,
                    "created_at": annotation.created_at.isoformat(),
                    "updated_at": annotation.updated_at.isoformat(),
                }
                for annotation in item.submitted
            ],
        }
