import time

import pytest

from governance.models import AuditEvent
from tests.factories import answer_submit
from tests.training.active_learning_support import NEGATIVE, POSITIVE, al_project
from training.models.active import ActiveLearning, ItemEmbedding, LearningCurvePoint
from training.selectors.active import refresh_error, refresh_latest, refresh_status
from training.services.active_learning import active_learning_update

pytestmark = pytest.mark.worker

TIMEOUT_SECONDS = 120
EXTRA = [f"Remark number {n} about the shop, the staff and the prices." for n in range(18)]


def _wait(what: str, check):
    deadline = time.monotonic() + TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    pytest.fail(f"Still waiting for {what} after {TIMEOUT_SECONDS} s.")


def _refreshes(project) -> int:
    return AuditEvent.objects.filter(action="active_learning.refresh", project_id=project.pk).count()


def _settled(project) -> bool:
    return refresh_status(refresh_latest(project=project)) == "idle"


def _submit(project, annotator, items, names):
    for item, name in zip(items, names):
        # Each submit commits on its own, and its hook runs after the commit, as in a request.
        answer_submit(actor=annotator, item=item, value={"labels": [name]})


def test_bursts_of_labels_are_debounced_into_few_refreshes_by_a_real_worker(
    transactional_db, celery_worker_process, manager, annotator
):
    texts = [*POSITIVE, *NEGATIVE, *EXTRA]
    project = al_project(manager=manager, annotator=annotator, texts=texts)
    # The import asked the worker for embeddings.
    _wait("the import's embeddings", lambda: f"Embedded {len(texts)} items of project {project.pk}"
          in celery_worker_process.log_text())
    assert ItemEmbedding.objects.filter(project=project).count() == len(texts)

    active_learning_update(actor=manager, project=project, strategy="margin", refresh_every=5)
    _wait("the first refresh", lambda: _refreshes(project) == 1 and _settled(project))

    by_text = {item.text: item for item in project.items.all()}
    first = [by_text[text] for text in POSITIVE[:3] + NEGATIVE[:2]]
    _submit(project, annotator, first, ["positive"] * 3 + ["negative"] * 2)
    _wait("the burst's refresh", lambda: _refreshes(project) == 2 and _settled(project))
    time.sleep(1.0)
    assert _refreshes(project) == 2, "five labels with refresh_every=5 make exactly one refresh"

    second = [by_text[text] for text in POSITIVE[3:] + NEGATIVE[2:] + EXTRA[:5]]
    _submit(project, annotator, second, ["positive"] * 3 + ["negative"] * 4 + ["negative"] * 5)
    _wait("the second burst's refreshes", lambda: _refreshes(project) >= 3 and _settled(project))
    time.sleep(1.0)
    _wait("the loop to settle", lambda: _settled(project))

    state = ActiveLearning.objects.get(project=project)
    # Twelve labels: one refresh, at most one queued behind the running one, and so on.
    assert 3 <= _refreshes(project) <= 2 + 3
    assert state.pending_labels < state.refresh_every and refresh_error(project=project) == ""
    last = LearningCurvePoint.objects.filter(project=project).order_by("-labels").first()
    # Nothing lost: what the last refresh did not see is still counted for the next one.
    assert last.labels + state.pending_labels >= 17 and last.labels <= 17
    assert state.scored_by == "head"
