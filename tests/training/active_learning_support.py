"""Helpers for the active-learning tests: a project whose labelled items make the head sure of some texts."""

from annotation.models import Item
from governance.roles import ProjectRole
from tests.factories import answer_submit, project_make
from training.services.active_learning import (
    active_learning_refresh_request,
    active_learning_refresh_run,
    active_learning_update,
)
from training.services.embeddings import embeddings_compute_run

POSITIVE = [
    "I love this product, it is wonderful and makes me very happy.",
    "Fantastic service, friendly staff, I am delighted with everything.",
    "Absolutely brilliant, the best purchase I have made this year.",
    "Great quality and fast delivery, I am thrilled and grateful.",
    "What a lovely experience, everyone was kind and helpful.",
    "Superb, excellent, amazing: I recommend it to all my friends.",
]
NEGATIVE = [
    "I hate this product, it is awful and makes me very angry.",
    "Terrible service, rude staff, I am disgusted with everything.",
    "Absolutely dreadful, the worst purchase I have made this year.",
    "Poor quality and slow delivery, I am furious and disappointed.",
    "What a horrible experience, everyone was nasty and useless.",
    "Broken, useless, a scam: I warn all my friends against it.",
]
TWO_LABELS = [
    {"name": "positive", "description": "The writer is pleased, happy or approving."},
    {"name": "negative", "description": "The writer is unhappy, angry or critical."},
]


def al_project(*, manager, annotator, texts, labels=None, task_type="single_label"):
    return project_make(
        manager=manager,
        labels=TWO_LABELS if labels is None else labels,
        task_type=task_type,
        texts=texts,
        members={annotator: ProjectRole.ANNOTATOR},
    )


def item_of(project, text: str) -> Item:
    return next(item for item in project.items.all() if item.text == text)


def label(project, annotator, text: str, *names: str):
    return answer_submit(actor=annotator, item=item_of(project, text), value={"labels": list(names)})


def al_on(project, manager, **settings):
    """Turn the loop on, with the embeddings already computed as the import's worker would."""
    embeddings_compute_run(project_id=project.pk, notify=False)
    return active_learning_update(actor=manager, project=project, **{"strategy": "least_confidence", **settings})


def refresh(project):
    """What the worker does when the queued message arrives, run here."""
    active_learning_refresh_request(project=project, force=True)
    active_learning_refresh_run(project_id=project.pk)
    state = project.active_learning
    state.refresh_from_db()
    return state
