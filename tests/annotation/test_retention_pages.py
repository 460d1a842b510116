"""The retention page (project managers) and the erasure requests page (auditors read, admins erase)."""

import pytest
from django.urls import reverse

from annotation.services.erasure import erasure_request_create, erasure_run
from governance.models import ErasureRequest, ErasureStatus, ProjectRetention
from tests.annotation.views.support import client_for

pytestmark = pytest.mark.django_db


def test_allows_manager_to_set_the_retention_period_on_the_page(project, manager):
    url = reverse("annotation:project-retention", args=[project.pk])
    response = client_for(manager).post(url, {"days": "90"})
    assert response.status_code == 302
    assert ProjectRetention.objects.get(project=project).days == 90
    assert "90 days" in client_for(manager).get(url).text


def test_rejects_a_negative_retention_period_with_the_field_named(project, manager):
    url = reverse("annotation:project-retention", args=[project.pk])
    response = client_for(manager).post(url, {"days": "-3"})
    assert response.status_code == 422
    assert not ProjectRetention.objects.exists()


def test_denies_reviewer_the_retention_page(project, reviewer):
    url = reverse("annotation:project-retention", args=[project.pk])
    assert client_for(reviewer).post(url, {"days": "1"}).status_code == 403
    assert not ProjectRetention.objects.exists()


def test_allows_admin_to_request_an_erasure_and_never_shows_the_identifier(project, admin_user):
    url = reverse("annotation:erasure-requests")
    response = client_for(admin_user).post(url, {"identifier": "c-4711@example.org", "reason": "ticket 9"})
    assert response.status_code == 302
    request = ErasureRequest.objects.get()
    assert request.status == ErasureStatus.QUEUED and request.requested_by == admin_user
    erasure_run(request_id=request.pk)
    page = client_for(admin_user).get(url).text
    assert "c-4711" not in page and "Done" in page


def test_allows_auditor_to_read_erasure_records_but_not_to_erase(project, admin_user, auditor):
    erasure_run(request_id=erasure_request_create(actor=admin_user, identifier="nobody@example.org").pk)
    url = reverse("annotation:erasure-requests")
    client = client_for(auditor)
    assert client.get(url).status_code == 200
    assert client.post(url, {"identifier": "someone@example.org"}).status_code == 403
    assert ErasureRequest.objects.count() == 1


def test_denies_managers_the_erasure_page(project, manager):
    assert client_for(manager).get(reverse("annotation:erasure-requests")).status_code == 403


def test_the_erasure_page_shows_a_finished_erasure_that_removed_items(project, admin_user, auditor):
    # The record's totals count "items": the page once iterated totals.items and answered 500.
    text = project.items.order_by("pk").first().text
    erasure = erasure_request_create(actor=admin_user, identifier=text)
    erasure = erasure_run(request_id=erasure.pk)
    assert erasure.record["totals"]["items"] >= 1
    for user in (admin_user, auditor):
        response = client_for(user).get(reverse("annotation:erasure-requests"))
        assert response.status_code == 200
        assert f"items: {erasure.record['totals']['items']}" in response.text


def test_the_erasure_page_lists_totals_named_like_dict_methods(project, admin_user):
    ErasureRequest.objects.create(
        requested_by=admin_user,
        status=ErasureStatus.DONE,
        record={"totals": {"items": 2, "keys": 3, "values": 4}, "projects": {"7": {"items": 2, "dataset_versions": [1], "exports": []}}},
    )
    response = client_for(admin_user).get(reverse("annotation:erasure-requests"))
    assert response.status_code == 200
    # PostgreSQL's jsonb keeps its own key order.
    assert all(pair in response.text for pair in ("items: 2", "keys: 3", "values: 4"))
    assert "project 7: 1 dataset versions, 0 exports" in response.text


def _aged(project, days=3):
    from datetime import timedelta

    from django.utils import timezone

    from annotation.models import Item

    Item.objects.filter(project=project).update(created_at=timezone.now() - timedelta(days=days))


def test_allows_manager_to_run_retention_now_on_a_worker_for_their_project_alone(
    transactional_db, celery_worker_process, project, manager
):
    import time

    from annotation.models import Item
    from annotation.services.retention import project_retention_set
    from governance.models import AuditEvent
    from tests.factories import project_make, user_make

    other = project_make(manager=user_make("other-manager"), name="Other team", texts=["kept", "also kept"])
    for each in (project, other):
        _aged(each)
        project_retention_set(actor=each.created_by, project=each, days=1)

    url = reverse("annotation:project-retention-run", args=[project.pk])
    client = client_for(manager)
    response = client.post(url)
    assert response.status_code == 302
    deadline = time.monotonic() + 60
    while Item.objects.filter(project=project).exists() and time.monotonic() < deadline:
        time.sleep(0.2)

    assert not Item.objects.filter(project=project).exists(), celery_worker_process.log_text()[-4000:]
    assert Item.objects.filter(project=other).count() == 2, "Run now reached another project"
    request = AuditEvent.objects.get(action="retention.run_request")
    assert (request.actor_id, request.project_id) == (manager.pk, project.pk)
    assert AuditEvent.objects.filter(action="retention.batch", project_id=project.pk).exists()
    assert "Retention run queued" in client.get(response.url).text


def test_denies_reviewer_to_run_retention_now(project, reviewer, manager):
    from annotation.services.retention import project_retention_set
    from governance.models import AuditEvent

    project_retention_set(actor=manager, project=project, days=1)
    url = reverse("annotation:project-retention-run", args=[project.pk])
    assert client_for(reviewer).post(url).status_code == 403
    assert not AuditEvent.objects.filter(action="retention.run_request").exists()


def test_running_retention_now_without_a_period_asks_to_save_one_first(project, manager):
    from governance.models import AuditEvent

    url = reverse("annotation:project-retention-run", args=[project.pk])
    response = client_for(manager).post(url, follow=True)
    assert "no retention period to apply: save one first" in response.text
    assert not AuditEvent.objects.filter(action="retention.run_request").exists()


def test_the_retention_page_shows_when_the_schedule_last_ran_and_when_it_runs_next(project, manager):
    from datetime import datetime, timezone

    from governance.models import ScheduleRun

    url = reverse("annotation:project-retention", args=[project.pk])
    assert "The schedule has not run yet" in client_for(manager).get(url).text

    ScheduleRun.objects.create(
        entry="retention-daily", last_run_at=datetime(2026, 3, 4, 2, 0, tzinfo=timezone.utc)
    )
    page = client_for(manager).get(url).text
    assert "On schedule every 1\xa0day." in page
    assert "Last scheduled run: 2026-03-04 02:00." in page
    assert "Next run due: 2026-03-05 02:00." in page
    assert "Overdue" in page, "a run due months ago means beat is not running"
    assert reverse("annotation:project-retention-run", args=[project.pk]) in page
