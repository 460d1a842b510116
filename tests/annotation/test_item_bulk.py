"""Bulk actions on a browser selection: the confirmation, who may do what, each action through its service, the job."""

import time

import pytest
from django.urls import reverse

from annotation.models import ExportRecord, Item, ItemBulkJob
from annotation.selectors.browser import ItemFilters
from annotation.services.item_bulk import item_bulk_request, item_bulk_run
from common.jobs.models import JobStatus
from governance.models import AuditEvent
from tests.factories import answer_submit

pytestmark = pytest.mark.django_db


def _bulk_url(project, query: str = "") -> str:
    return reverse("annotation:items-bulk", args=[project.pk]) + query


def _items(project) -> list[Item]:
    return list(project.items.order_by("id"))


@pytest.fixture
def labelled(project, annotator):
    """The first three items answered (overlap 1: each done with a final answer), the rest open."""
    items = _items(project)
    for item in items[:3]:
        answer_submit(actor=annotator, item=item, value={"labels": ["positive"]})
    return items


def _request(user, project, action: str, query: dict | None = None) -> ItemBulkJob:
    from annotation.selectors.browser import item_browse
    from governance.access import project_perms

    filters = ItemFilters(**(query or {}))
    items = item_browse(
        project=project, user=user, perms=project_perms(user=user, project=project), filters=filters
    )
    return item_bulk_request(
        actor=user, project=project, action=action, items=items, filters=filters
    )


# --- the confirmation page ---------------------------------------------------------------------


def test_shows_the_count_and_the_actions_a_manager_may_take(client, project, manager):
    client.force_login(manager)
    response = client.get(_bulk_url(project, "?status=open"))
    assert response.status_code == 200
    assert [action.name for action in response.context["actions"]] == [
        "delete",
        "gold",
        "review",
        "export",
        "dataset",
    ]
    assert response.context["count"].value == 6


def test_offers_a_reviewer_only_send_to_review(client, project, reviewer):
    client.force_login(reviewer)
    assert [action.name for action in client.get(_bulk_url(project)).context["actions"]] == [
        "review"
    ]


def test_offers_an_ml_engineer_export_and_dataset_version(client, project, ml_engineer):
    client.force_login(ml_engineer)
    assert [action.name for action in client.get(_bulk_url(project)).context["actions"]] == [
        "export",
        "dataset",
    ]


def test_denies_an_annotator_bulk_actions(client, project, annotator):
    client.force_login(annotator)
    assert client.get(_bulk_url(project)).status_code == 403
    assert (
        client.post(_bulk_url(project), {"action": "review", "confirm": "yes"}).status_code == 403
    )


def test_denies_a_reviewer_an_action_of_another_role(client, project, reviewer):
    client.force_login(reviewer)
    response = client.post(_bulk_url(project), {"action": "delete", "confirm": "yes"})
    assert response.status_code == 403
    assert project.items.count() == 6


def test_asks_for_the_confirmation_before_acting(client, project, manager):
    client.force_login(manager)
    response = client.post(_bulk_url(project), {"action": "delete"})
    assert response.status_code == 422 and "confirmation" in response.context["error"]
    assert not ItemBulkJob.objects.exists()


def test_refuses_an_empty_selection(client, project, manager):
    client.force_login(manager)
    response = client.post(
        _bulk_url(project, "?status=gold"), {"action": "review", "confirm": "yes"}
    )
    assert response.status_code == 422 and "No items match" in response.context["error"]


def test_a_confirmed_action_becomes_a_job_and_its_page_shows_it(client, project, manager, labelled):
    client.force_login(manager)
    response = client.post(
        _bulk_url(project, "?status=done"), {"action": "review", "confirm": "yes"}
    )
    job = ItemBulkJob.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse(
        "annotation:item-bulk-job", args=[project.pk, job.pk]
    )
    assert (job.action, job.item_count, job.item_ranges) == (
        "review",
        3,
        [[labelled[0].pk, labelled[2].pk]],
    )
    page = client.get(response["Location"])
    assert page.status_code == 200 and b"0 of 3 items handled" in page.content


def test_the_request_is_audited_with_its_filters_and_items(project, manager, labelled):
    job = _request(manager, project, "review", {"statuses": ("done",)})
    event = AuditEvent.objects.get(action="item.bulk_request")
    assert event.details == {
        "action": "review", "filters": {"statuses": ["done"]}, "count": 3, "items": [[labelled[0].pk, labelled[2].pk]]
    }  # fmt: skip
    assert event.target_id == str(job.pk)


def test_denies_the_job_page_to_an_annotator(client, project, manager, annotator, labelled):
    job = _request(manager, project, "review", {"statuses": ("done",)})
    client.force_login(annotator)
    assert (
        client.get(reverse("annotation:item-bulk-job", args=[project.pk, job.pk])).status_code
        == 403
    )


# --- each action, through its per-item service -------------------------------------------------


def test_sends_the_selection_to_review_item_by_item(project, manager, labelled):
    job = item_bulk_run(job_id=_request(manager, project, "review").pk)
    assert job.status == JobStatus.SUCCEEDED and job.progress_done == 6
    assert job.result["changed"] == 3 and sum(job.result["skipped"].values()) == 3
    assert AuditEvent.objects.filter(action="item.review_request").count() == 3
    assert not Item.objects.filter(
        pk__in=[item.pk for item in labelled[:3]], final__isnull=False
    ).exists()


def test_marks_items_with_a_final_answer_gold_and_leaves_the_others(project, manager, labelled):
    job = item_bulk_run(job_id=_request(manager, project, "gold").pk)
    assert set(Item.objects.filter(project=project, is_gold=True).values_list("pk", flat=True)) == {
        item.pk for item in labelled[:3]
    }
    assert job.result == {"changed": 3, "skipped": {"no final answer": 3}}
    assert Item.objects.get(pk=labelled[0].pk).gold_value == {"labels": ["positive"]}


def test_deletes_the_selection_and_nothing_else(project, manager, labelled):
    job = item_bulk_run(job_id=_request(manager, project, "delete", {"statuses": ("open",)}).pk)
    assert job.result == {"changed": 3, "skipped": {}}
    assert list(project.items.order_by("id")) == labelled[:3]
    assert AuditEvent.objects.filter(action="item.delete").count() == 3


def test_a_deleted_item_is_left_out_and_said_so(project, manager, labelled):
    job = _request(manager, project, "delete", {"statuses": ("open",)})
    labelled[5].delete()
    job = item_bulk_run(job_id=job.pk)
    assert job.result == {"changed": 2, "skipped": {"no longer there": 1}}


def test_runs_a_job_once_even_when_delivered_twice(project, manager, labelled):
    job = _request(manager, project, "review")
    item_bulk_run(job_id=job.pk)
    again = item_bulk_run(job_id=job.pk)
    assert again.result["changed"] == 3
    assert AuditEvent.objects.filter(action="item.review_request").count() == 3


def test_exports_only_the_selected_items(project, manager, labelled):
    from annotation.services.exports import export_build

    job = _request(manager, project, "export", {"statuses": ("final",)})
    export = ExportRecord.objects.get(pk=job.result["export"])
    assert job.status == JobStatus.SUCCEEDED and export.selection == [
        [labelled[0].pk, labelled[2].pk]
    ]
    export = export_build(export_id=export.pk)
    assert export.item_ranges == [[labelled[0].pk, labelled[2].pk]]


def test_an_export_of_part_of_the_answers_holds_only_that_part(project, manager, labelled):
    from annotation.services.exports import export_build

    job = _request(manager, project, "export", {"text": labelled[1].text})
    export = export_build(export_id=job.result["export"])
    assert export.item_ranges == [[labelled[1].pk, labelled[1].pk]] and export.progress_done == 1


def test_makes_a_dataset_version_of_the_selection_through_training(project, manager, labelled):
    from training.models import DatasetVersion
    from training.services.datasets import dataset_version_build

    job = _request(manager, project, "dataset", {"text": labelled[0].text})
    version = DatasetVersion.objects.get(pk=job.result["dataset_version"])
    assert version.filters == {"items": [[labelled[0].pk, labelled[0].pk]]}
    version = dataset_version_build(version_id=version.pk)
    assert list(version.entries.values_list("item_id", flat=True)) == [labelled[0].pk]


def test_a_worker_runs_a_confirmed_bulk_action(
    transactional_db, celery_worker_process, project, manager, labelled
):
    job = _request(manager, project, "review")
    deadline = time.monotonic() + 60
    while job.is_active and time.monotonic() < deadline:
        time.sleep(0.2)
        job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED, job.error or celery_worker_process.log_text()[-3000:]
    assert job.result["changed"] == 3
