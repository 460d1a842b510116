"""Projects a user may see and how far their labelling has come."""

import time
from dataclasses import dataclass

from django.db import connection
from django.db.models import Count, F, Q, QuerySet

from annotation.models import (
    Annotation,
    AnnotationStatus,
    Item,
)
from governance.access import projects_visible_to
from projects.models import Project


def project_list(*, user) -> QuerySet[Project]:
    """Visible projects, archived ones last; ``data_shredded_at`` is set on those whose data key was destroyed."""
    return (
        projects_visible_to(user=user)
        .annotate(data_shredded_at=F("data_key__shredded_at"))
        .order_by(F("archived_at").asc(nulls_first=True), "id")
    )


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
        if (
            len(_team_counts) > 1000
        ):  # a long-lived process must not collect every project ever seen
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
