"""Test data built through the real services, so every fixture passes the same write path as users."""

import io
import itertools
import json
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.utils import timezone

from annotation.models import ItemLock, LockPurpose
from annotation.services.annotations import annotation_submit
from annotation.services.imports import items_import
from annotation.services.projects import project_create
from governance.services.membership import membership_set
from projects.models import Project, TaskType

_counter = itertools.count(1)

SENTIMENT_LABELS = [
    {"name": "positive", "color": "#2ca02c", "description": "The writer is pleased, happy or approving."},
    {"name": "negative", "color": "#d62728", "description": "The writer is unhappy, angry or critical."},
    {"name": "neutral", "color": "#7f7f7f", "description": "Plain facts with no clear feeling either way."},
]


def user_make(username: str | None = None, *, password: str = "correct-horse-battery", **extra):
    username = username or f"user{next(_counter)}"
    return get_user_model().objects.create_user(username=username, password=password, **extra)


def superuser_make(username: str = "admin", *, password: str = "correct-horse-battery"):
    return get_user_model().objects.create_superuser(username=username, password=password, email="")


def project_make(
    *,
    manager,
    name: str | None = None,
    task_type: str = TaskType.SINGLE_LABEL,
    labels: list[dict] | None = None,
    texts: list[str] | None = None,
    members: dict | None = None,
    active_learning: str | None = None,
) -> Project:
    """A project managed by ``manager``, with labels, items and ``members`` as {user: role}.

    ``active_learning`` sets the loop's strategy from the start ("off": the queue keeps import
    order); None keeps the default a new project of ``task_type`` gets.
    """
    project = project_create(
        actor=manager,
        name=name or f"Project {next(_counter)}",
        task_type=task_type,
        labels=SENTIMENT_LABELS if labels is None else labels,
        guidelines="Label the feeling the writer expresses.",
    )
    if active_learning is not None:
        from training.models import ActiveLearning

        ActiveLearning.objects.filter(project=project).update(strategy=active_learning)
    for user, role in (members or {}).items():
        membership_set(actor=manager, project=project, user=user, role=role)
    if texts:
        items_add(project=project, actor=manager, texts=texts)
    return project


def items_add(*, project: Project, actor, texts: list[str]):
    lines = "".join(json.dumps({"text": text}) + "\n" for text in texts)
    return items_import(actor=actor, project=project, stream=io.BytesIO(lines.encode()), filename="items.jsonl")


def item_hand(*, actor, item) -> None:
    """Hold ``item`` for ``actor``, as the queue does when it hands the item over.

    The labelling services take an answer or a skip only for an item handed to its annotator (or
    answered by them before); tests that label chosen items in their own order hand them over here.
    """
    ItemLock.objects.update_or_create(
        item_id=item.pk,
        user=actor,
        purpose=LockPurpose.ANNOTATE,
        defaults={"expires_at": timezone.now() + timedelta(seconds=settings.QUEUE_LOCK_SECONDS)},
    )


def answer_submit(*, actor, item, value, **fields):
    """``annotation_submit`` for a chosen item: handed to ``actor`` first, then answered."""
    item_hand(actor=actor, item=item)
    return annotation_submit(actor=actor, item=item, value=value, **fields)
