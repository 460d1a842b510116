"""The Jobs pages are linked where their users look: the project page for managers and ML engineers, the menu for admins."""

import pytest
from django.urls import reverse

from tests.annotation.views.support import client_for

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("role", ["manager", "ml_engineer"])
def test_links_the_projects_jobs_page_from_the_project_page_for_roles_that_start_jobs(request, role, project):
    # The Jobs page is linked from the project page's Settings section.
    url = reverse("annotation:project-detail", args=[project.pk]) + "?section=settings"
    page = client_for(request.getfixturevalue(role)).get(url)
    assert reverse("governance:project-jobs", args=[project.pk]) in page.content.decode()


@pytest.mark.parametrize("role", ["annotator", "reviewer"])
def test_shows_no_jobs_link_to_roles_that_cannot_open_the_jobs_page(request, role, project):
    client = client_for(request.getfixturevalue(role))
    for section in ("", "labelling", "review", "data", "quality", "models", "settings"):
        url = reverse("annotation:project-detail", args=[project.pk]) + f"?section={section}"
        page = client.get(url)
        assert page.status_code == 200
        assert reverse("governance:project-jobs", args=[project.pk]) not in page.content.decode()


def test_links_every_projects_jobs_from_the_menu_for_admins_only(admin_user, manager):
    every = reverse("governance:jobs")
    assert every in client_for(admin_user).get(reverse("annotation:project-list")).content.decode()
    assert every not in client_for(manager).get(reverse("annotation:project-list")).content.decode()
