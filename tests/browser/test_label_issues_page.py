"""The label-issues page in a real Chromium follows a check it started until the result is in."""

import pytest
from django.db import transaction
from playwright.sync_api import expect

from training.models_active import ActiveLearning, LabelIssue, RefreshStatus
from training.services.label_issues import label_issues_run

pytestmark = pytest.mark.browser


def test_check_labels_now_shows_progress_then_the_result_without_a_reload(browser_session, project, reviewer, annotator):
    from tests.annotation.views.support import label_first_item

    item = label_first_item(project, annotator)
    page = browser_session.login(reviewer)
    page.goto(f"/projects/{project.pk}/label-issues/")
    expect(page.locator("#label-check-summary")).to_contain_text("The labels have not been checked yet.")

    page.click("#label-check-button")
    expect(page.locator("#label-issues-panel")).to_have_attribute("data-status", "queued")
    expect(page.locator("#label-check-summary")).to_contain_text("Checking the labels")
    assert ActiveLearning.objects.get(project=project).label_check_status == RefreshStatus.QUEUED

    # What the worker does (tests/training/test_label_issues_worker.py runs it in the real worker),
    # with a finding committed at the same moment, so the page's next poll sees both.
    with transaction.atomic():
        label_issues_run(project_id=project.pk)
        LabelIssue.objects.create(
            project=project, item=item, given_label="positive", suggested_label="negative", quality=0.1
        )

    expect(page.locator("#label-issues-panel")).to_have_attribute("data-status", "idle", timeout=10_000)
    expect(page.locator("#label-check-summary")).to_contain_text("Last check")
    expect(page.locator(f"#label-issue-{LabelIssue.objects.get().pk}")).to_contain_text(item.text)
    assert browser_session.errors == []
