"""Test data built through the real services, so every fixture passes the same write path as users."""

import io
import itertools
import json

from django.contrib.auth import get_user_model

from annotation.models import Project, TaskType
from annotation.services.imports import items_import
from annotation.services.projects import project_create
from governance.services.membership import membership_set

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
) -> Project:
    """A project managed by ``manager``, with labels, items and ``members`` as {user: role}."""
    project = project_create(
        actor=manager,
        name=name or f"Project {next(_counter)}",
        task_type=task_type,
        labels=SENTIMENT_LABELS if labels is None else labels,
        guidelines="Label the feeling the writer expresses.",
    )
    for user, role in (members or {}).items():
        membership_set(actor=manager, project=project, user=user, role=role)
    if texts:
        items_add(project=project, actor=manager, texts=texts)
    return project


def items_add(*, project: Project, actor, texts: list[str]):
    lines = "".join(json.dumps({"text": text}) + "\n" for text in texts)
    return items_import(actor=actor, project=project, stream=io.BytesIO(lines.encode()), filename="items.jsonl")
