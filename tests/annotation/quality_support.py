"""Builders shared by the quality-figure tests: projects, answers and finals made directly."""


import pytest

from annotation.models import Annotation, AnnotationStatus, FinalAnnotation, FinalSource
from governance.roles import ProjectRole
from projects.models import TaskType
from tests.factories import project_make, user_make

ENTITY_LABELS = [{"name": "PER"}, {"name": "LOC"}, {"name": "ORG"}]
EMOTION_LABELS = [{"name": "joy"}, {"name": "anger"}, {"name": "fear"}]


def texts(count: int, prefix: str = "Sentence") -> list[str]:
    return [f"{prefix} number {index} is about Alice Smith in Paris." for index in range(count)]


def answer(
    item,
    user,
    value,
    *,
    status=AnnotationStatus.SUBMITTED,
    lead_time_ms=1000,
    prediction=None,
    outcome="",
    created_at=None,
) -> Annotation:
    """An annotation written directly, for figures built from exactly known data."""
    annotation = Annotation(
        project=item.project,
        item=item,
        annotator=user,
        status=status,
        lead_time_ms=lead_time_ms,
        prediction=prediction,
        suggestion_outcome=outcome,
    )
    annotation.value = value
    annotation.save()
    if created_at is not None:
        Annotation.objects.filter(pk=annotation.pk).update(created_at=created_at)
    return annotation


def final_set(item, value, *, source=FinalSource.REVIEW) -> FinalAnnotation:
    final = FinalAnnotation(project=item.project, item=item, source=source)
    final.value = value
    final.save()
    return final


def labelled(name: str) -> dict:
    return {"labels": [name]}


@pytest.fixture
def team(manager):
    return [user_make(name) for name in ("ann", "bob", "cy")]


def project_with(manager, team, *, count=10, task_type=TaskType.SINGLE_LABEL, labels=None):
    return project_make(
        manager=manager,
        task_type=task_type,
        labels=labels,
        texts=texts(count),
        members={user: ProjectRole.ANNOTATOR for user in team},
    )


def by_name(report):
    return {who.username: who for who in report.per_annotator}


def measure(report, key):
    return next(m for m in report.measures if m.key == key).value

def span(start, end, label):
    return {"start": start, "end": end, "label": label}
