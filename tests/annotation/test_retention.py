"""Retention periods: setting them, and the batch job deleting expired items everywhere they were copied."""

from datetime import timedelta
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.utils import timezone

from annotation.models import Annotation, Item
from annotation.services.retention import project_retention_set, retention_batch_run
from governance.models import AuditEvent, ProjectRetention
from tests.factories import answer_submit
from training.models import DatasetStatus
from training.services.datasets import dataset_version_build, dataset_version_create

pytestmark = pytest.mark.django_db


def _age(items, days):
    Item.objects.filter(pk__in=[item.pk for item in items]).update(created_at=timezone.now() - timedelta(days=days))


def test_allows_manager_to_set_a_retention_period_and_audits_it(project, manager):
    project_retention_set(actor=manager, project=project, days=30)
    assert ProjectRetention.objects.get(project=project).days == 30
    event = AuditEvent.objects.filter(action="retention.set").last()
    assert event.details == {"from_days": None, "to_days": 30}


def test_rejects_a_retention_period_of_zero_days_naming_the_field(project, manager):
    with pytest.raises(ValidationError) as error:
        project_retention_set(actor=manager, project=project, days=0)
    assert "days" in error.value.message_dict


def test_deletes_only_expired_items_with_their_annotations_and_audits_each_batch(project, manager, annotator):
    items = list(project.items.order_by("pk"))
    answer_submit(actor=annotator, item=items[0], value={"labels": ["positive"]})
    _age(items[:3], days=40)
    project_retention_set(actor=manager, project=project, days=30)

    first = retention_batch_run(batch_size=2)
    assert (first.deleted, first.more) == (2, True)
    second = retention_batch_run(batch_size=2)
    assert (second.deleted, second.more) == (1, False)

    assert not Item.objects.filter(pk__in=[item.pk for item in items[:3]]).exists()
    assert Item.objects.filter(project=project).count() == len(items) - 3
    assert not Annotation.objects.filter(item_id=items[0].pk).exists()
    batches = list(AuditEvent.objects.filter(action="retention.batch").order_by("seq"))
    assert [event.details["items"] for event in batches] == [2, 1]
    assert batches[0].details["item_ranges"] == [[items[0].pk, items[1].pk]]
    assert batches[0].details["annotations"] == 1


def test_makes_dataset_versions_holding_expired_items_unreadable_but_keeps_their_manifest(
    project, manager, annotator
):
    item = project.items.order_by("pk").first()
    answer_submit(actor=annotator, item=item, value={"labels": ["positive"]})
    version = dataset_version_create(actor=manager, project=project)
    version = dataset_version_build(version_id=version.pk)
    path = Path(version.file_path)
    assert path.exists()
    _age([item], days=10)
    project_retention_set(actor=manager, project=project, days=5)

    retention_batch_run()

    version.refresh_from_db()
    assert not path.exists()
    assert version.status == DatasetStatus.FAILED and "Erased" in version.error
    assert version.content_hash and version.manifest["items"] == 1
    assert version.entries.get().item_id is None


def test_retention_run_command_deletes_everything_expired(project, manager):
    _age(list(project.items.all()), days=3)
    project_retention_set(actor=manager, project=project, days=1)
    call_command("retention_run", "--batch-size", "1")
    assert not Item.objects.filter(project=project).exists()


def test_retention_task_on_a_worker_requeues_itself_until_every_expired_item_is_gone(
    transactional_db, celery_worker_process, project, manager
):
    import time

    from annotation.celery_tasks import retention_run_task

    _age(list(project.items.all()), days=3)
    project_retention_set(actor=manager, project=project, days=1)
    retention_run_task.delay(2)
    deadline = time.monotonic() + 60
    while Item.objects.filter(project=project).exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not Item.objects.filter(project=project).exists()
    assert AuditEvent.objects.filter(action="retention.batch").count() == 3


def test_a_data_source_period_overrides_the_project_period_for_its_items(project, manager):
    from annotation.models import DataSource

    items = list(project.items.order_by("pk"))
    short = DataSource.objects.create(project=project, name="chat logs", retention_days=2)
    Item.objects.filter(pk=items[0].pk).update(source=short)
    _age(items[:2], days=5)
    project_retention_set(actor=manager, project=project, days=30)

    assert retention_batch_run().deleted == 1

    assert not Item.objects.filter(pk=items[0].pk).exists()
    assert Item.objects.filter(pk=items[1].pk).exists()
    event = AuditEvent.objects.get(action="retention.batch")
    assert event.details["source"] == short.pk and event.details["days"] == 2
