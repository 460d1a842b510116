"""The label-issues page in a real Chromium follows a check it started until the worker's result is in."""

import re

import pytest
from playwright.sync_api import expect

from tests.training.topics_support import item_by_text, topic_project
from training.models.active import LabelIssue

pytestmark = [pytest.mark.browser, pytest.mark.worker]


def test_check_labels_now_shows_progress_then_the_result_without_a_reload(
    browser_session, celery_worker_process, manager, annotator
):
    project, pairs = topic_project(manager=manager, annotator=annotator, flipped={4: "weather"})
    page = browser_session.login(manager)
    page.goto(f"/projects/{project.pk}/label-issues/")
    expect(page.locator("#label-check-summary")).to_contain_text("The labels have not been checked yet.")

    page.click("#label-check-button")
    # The answer to the click shows the check pending; the shared worker may have taken it already.
    expect(page.locator("#label-issues-panel")).to_have_attribute("data-status", re.compile("queued|running"))
    expect(page.locator("#label-check-summary")).to_contain_text("Checking the labels")

    # The real worker runs the check; the panel's polling brings its result in, no reload.
    expect(page.locator("#label-issues-panel")).to_have_attribute("data-status", "idle", timeout=120_000)
    expect(page.locator("#label-check-summary")).to_contain_text("Last check")
    flipped = LabelIssue.objects.get(project=project, item=item_by_text(project, pairs[4][0]))
    expect(page.locator(f"#label-issue-{flipped.pk}")).to_contain_text(pairs[4][0])
    assert browser_session.errors == []
