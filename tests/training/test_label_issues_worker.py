"""The label check requested from the app runs in the real worker process and opens the issues it finds."""

import time

import pytest

from tests.training.topics_support import item_by_text, topic_project
from training.models.active import ActiveLearning, LabelIssue
from training.services.label_issues import label_issues_request

pytestmark = pytest.mark.worker

TIMEOUT_SECONDS = 120


def test_a_requested_label_check_is_run_by_the_worker_process(
    transactional_db, celery_worker_process, manager, annotator
):
    project, pairs = topic_project(manager=manager, annotator=annotator, flipped={4: "weather"})

    label_issues_request(actor=manager, project=project)

    deadline = time.monotonic() + TIMEOUT_SECONDS
    while not ActiveLearning.objects.filter(project=project, label_check_at__isnull=False).exists():
        if time.monotonic() > deadline:
            pytest.fail(f"No label check after {TIMEOUT_SECONDS} s; worker log:\n{celery_worker_process.log_text()[-4000:]}")
        time.sleep(0.3)
    flipped = LabelIssue.objects.get(project=project, item=item_by_text(project, pairs[4][0]))
    assert (flipped.given_label, flipped.suggested_label) == ("weather", "sport")
    assert ActiveLearning.objects.get(project=project).label_check_items == len(pairs)
