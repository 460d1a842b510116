"""Reads of annotation data; callers have already passed the permission gate for the project."""

import time
from collections.abc import Iterator
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet

from annotation.models import (
    Annotation,
    AnnotationStatus,
    FinalAnnotation,
    FinalSource,
    Item,
    ItemLock,
    LockPurpose,
    Prediction,
)
from governance.access import has_project_perm, projects_visible_to
from governance.keyring import project_cipher, project_readable_check
from governance.roles import Perm
from governance.rows import instances_from_rows, model_columns
from projects.models import Project

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


# How stale the team totals of a progress answer may be where the caller allows it (the queue API).
PROGRESS_MAX_AGE_S = 5.0
# (project id, project created_at) -> (monotonic time counted, total, done); per process. The
# creation time is in the key because a rolled-back project's id can be handed out again (SQLite).
_team_counts: dict[tuple, tuple[float, int, int]] = {}


def _project_counts(project: Project) -> tuple[int, int]:
    # Gold items are checks on annotators, not work: they stay out of the counts. One pass, not two.
    counts = Item.objects.filter(project=project, is_gold=False).aggregate(
        total=Count("id"), done=Count("id", filter=Q(is_done=True))
    )
    return counts["total"], counts["done"]


def project_progress(*, project: Project, user, max_age_s: float = 0.0) -> Progress:
    """The project's totals and the user's own count of submitted annotations.

    Counting a big project's items costs milliseconds per 10,000 items, so a caller on a hot path
    may accept totals up to ``max_age_s`` old, remembered per process; ``mine`` is always exact.
    """
    key = (project.pk, project.created_at)
    now = time.monotonic()
    cached = _team_counts.get(key) if max_age_s > 0 else None
    if cached is not None and now - cached[0] <= max_age_s:
        total, done = cached[1], cached[2]
    else:
        total, done = _project_counts(project)
        if len(_team_counts) > 1000:  # a long-lived process must not collect every project ever seen
            _team_counts.clear()
        _team_counts[key] = (now, total, done)
    return Progress(
        total=total,
        done=done,
        mine=_submitted_count(project=project, user=user),
    )


def _submitted_count(*, project: Project, user) -> int:
    # Written out: the labelling API asks it on every "next", and building the ORM's COUNT took
    # twice the CPU the database spent on it (the same statement; the annotator index serves it).
    q = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT COUNT(*) FROM {q(Annotation._meta.db_table)}"
            f" WHERE {q('project_id')} = %s AND {q('annotator_id')} = %s AND {q('status')} = %s",
            [project.pk, user.pk, AnnotationStatus.SUBMITTED.value],
        )
        return cursor.fetchone()[0]


# Selectors of encrypted content raise DataShredded for a shredded project, even when the list
# would be empty, so every client gets the same clear answer (410 in the API).


def item_list(*, project: Project) -> QuerySet[Item]:
    project_readable_check(project=project)
    return Item.objects.filter(project=project).order_by("id")


def item_for_reader(*, project_id: int, item_id: int, user_id: int, every_item: bool) -> Item | None:
    """The item if the reader may see it: any of the project's items with ``every_item``, otherwise
    only one the queue handed them (a hold, live or lapsed) or that they answered or skipped.

    The lookup behind ``governance.access.access_item``, which owns the rule and calls this.
    """
    items = Item.objects.filter(pk=item_id, project_id=project_id)
    if not every_item:
        handed = ItemLock.objects.filter(item=OuterRef("pk"), user_id=user_id, purpose=LockPurpose.ANNOTATE)
        answered = Annotation.objects.filter(item=OuterRef("pk"), annotator_id=user_id)
        items = items.filter(Exists(handed) | Exists(answered))
    return items.first()


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


def annotation_own(*, item: Item, user) -> Annotation | None:
    """The user's own annotation of the item, with its review, if any."""
    return Annotation.objects.filter(item=item, annotator=user).select_related("review").first()


def annotation_previous(*, project: Project, user, exclude_item: Item | None = None) -> Annotation | None:
    """The user's most recently submitted annotation in the project that may still be changed."""
    annotations = Annotation.objects.filter(project=project, annotator=user, status=AnnotationStatus.SUBMITTED).exclude(
        item__final__source=FinalSource.REVIEW
    )
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
        proposed = {(span["start"], span["end"], span["label"]) for span in proposal.get("spans", [])}
        text = self.item.text
        return [
            SpanChoice(start, end, label, text[start:end], counts.get((start, end, label), 0), (start, end, label) in proposed)
            for start, end, label in sorted(set(counts) | proposed)
        ]


def item_review_context(*, item: Item) -> ReviewDetails:
    """An item's submitted annotations (with annotator and any review) and its final answer."""
    annotations = list(
        Annotation.objects.filter(item=item, status=AnnotationStatus.SUBMITTED)
        .select_related("annotator", "prediction", "review")
        .order_by("id")
    )
    return ReviewDetails(item=item, annotations=annotations, final=FinalAnnotation.objects.filter(item=item).first())


def final_list(*, project: Project) -> QuerySet[FinalAnnotation]:
    project_readable_check(project=project)
    return FinalAnnotation.objects.filter(project=project).select_related("decided_by").order_by("id")


@dataclass(frozen=True)
class ReviewProgress:
    pending: int
    decided: int
    agreed: int


def review_progress(*, project: Project) -> ReviewProgress:
    finals = FinalAnnotation.objects.filter(project=project)
    return ReviewProgress(
        pending=Item.objects.filter(project=project, is_done=True, is_gold=False, final__isnull=True).count(),
        decided=finals.filter(source=FinalSource.REVIEW).count(),
        agreed=finals.filter(source=FinalSource.AGREEMENT).count(),
    )


def prediction_list(*, project: Project) -> QuerySet[Prediction]:
    project_readable_check(project=project)
    return Prediction.objects.filter(project=project).order_by("id")


def prediction_latest(*, item: Item) -> Prediction | None:
    # Written out (the labelling API asks it on every "next"); the same statement as
    # item.predictions.order_by("-created_at", "-id").first(), at a third of the CPU.
    q = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {model_columns(Prediction)} FROM {q(Prediction._meta.db_table)}"
            f" WHERE {q('item_id')} = %s ORDER BY {q('created_at')} DESC, {q('id')} DESC LIMIT 1",
            [item.pk],
        )
        row = cursor.fetchone()
    return instances_from_rows(Prediction, [row])[0] if row is not None else None


def item_suggestion(*, item: Item, may_see_predictions: bool) -> Prediction | None:
    """The suggestion shown with an item someone labels: its latest prediction, never for a gold item.

    A gold item measures the annotator against its known answer; a suggestion would let them pass
    by accepting it. It gets none, and nothing else marks it out.
    """
    if not may_see_predictions or item.is_gold:
        return None
    return prediction_latest(item=item)


def export_records(*, project: Project) -> Iterator[dict]:
    """One record per item that has a submitted annotation, with those annotations, in id order.

    Read as plain values and opened directly (``Model.<field>.opened``), EXPORT_CHUNK items at a
    time with their annotations in one query: building an instance of the item, each annotation
    and its annotator's whole user row cost more than the decryption.
    """
    items = (
        Item.objects.filter(project=project, annotations__status=AnnotationStatus.SUBMITTED)
        .distinct()
        .order_by("id")
        .values_list("id", "external_id", "text_ct", "text_index", "meta_ct")
    )
    chunk = []
    for row in items.iterator(chunk_size=EXPORT_CHUNK):
        chunk.append(row)
        if len(chunk) == EXPORT_CHUNK:
            yield from _export_chunk(project.pk, chunk)
            chunk = []
    yield from _export_chunk(project.pk, chunk)


def _export_chunk(project_id: int, items: list) -> Iterator[dict]:
    if not items:
        return
    submitted = (
        Annotation.objects.filter(
            item_id__in=[row[0] for row in items], status=AnnotationStatus.SUBMITTED
        )
        .order_by("id")
        .values_list(
            "item_id", "annotator_id", f"annotator__{get_user_model().USERNAME_FIELD}", "status", "value_ct",
            "lead_time_ms", "created_at", "updated_at",
        )  # fmt: skip
    )
    by_item: dict[int, list[dict]] = {}
    for item_id, annotator_id, username, status, value_ct, lead_time_ms, created, updated in submitted:
        by_item.setdefault(item_id, []).append(
            {
                "annotator": username,
                "status": status,
                "value": Annotation.value.opened(project_id, value_ct, item_id, annotator_id),
                "lead_time_ms": lead_time_ms,
                "created_at": created.isoformat(),
                "updated_at": updated.isoformat(),
            }
        )
    for item_id, external_id, text_ct, text_index, meta_ct in items:
        yield {
            "id": item_id,
            "external_id": external_id,
            "text": Item.text.opened(project_id, text_ct, text_index),
            "meta": Item.meta.opened(project_id, meta_ct),
            "annotations": by_item.get(item_id, []),
        }
