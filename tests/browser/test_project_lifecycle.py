"""Archiving and deleting a project from its Settings section, in a real browser."""

import pytest
from playwright.sync_api import expect

from governance.models import AuditEvent
from projects.models import Project

pytestmark = pytest.mark.browser


def test_a_manager_archives_a_project_annotators_are_refused_then_it_is_deleted_by_name(
    browser_session, project, manager, annotator
):
    page = browser_session.login(manager)
    page.goto(f"/projects/{project.pk}/?section=settings")
    page.click("#project-archive-form button[type=submit]")
    expect(page.locator("#project-archived")).to_be_visible()
    expect(page.locator("#project-unarchive-form")).to_be_visible()

    labeller = browser_session.login(annotator)
    labeller.goto(f"/projects/{project.pk}/label/")
    expect(labeller.locator("#forbidden-reason")).to_contain_text(
        f"Project '{project.name}' is archived: it can be read but not changed."
    )
    labeller.goto("/")
    expect(labeller.locator("#archived-projects")).to_be_visible()

    page.click("#project-delete-link")
    page.fill("#id_confirm_name", "customer feedback")
    page.click("#project-delete-form button[type=submit]")
    expect(page.locator("#project-delete-form")).to_contain_text("Type the project's name exactly")
    assert Project.objects.filter(pk=project.pk).exists()
    page.fill("#id_confirm_name", project.name)
    page.click("#project-delete-form button[type=submit]")
    page.wait_for_url(browser_session.base_url + "/")
    expect(page.locator(".messages")).to_contain_text("was deleted")
    assert not Project.objects.filter(pk=project.pk).exists()
    actions = list(
        # Only the project's own events: a worker's active-learning refresh may land in between.
        AuditEvent.objects.filter(project_id=project.pk, action__startswith="project.")
        .order_by("-seq")
        .values_list("action", flat=True)[:3]
    )
    assert actions == ["project.delete", "project.shred", "project.archive"]
    assert browser_session.errors == []
