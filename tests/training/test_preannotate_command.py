import io
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from annotation.models import Prediction
from projects.models import TaskType
from tests.factories import project_make
from training.models import PreannotationJob

REPO_ROOT = Path(__file__).resolve().parents[2]


def _preannotate(*args: str) -> str:
    out = io.StringIO()
    call_command("preannotate", *args, stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_command_queues_a_job_without_running_it(project):
    output = _preannotate("--project", str(project.pk))
    job = PreannotationJob.objects.get(project=project)
    assert f"job {job.pk}" in output and job.status == "queued"
    assert job.requested_by == project.created_by
    assert not Prediction.objects.exists()


@pytest.mark.django_db
def test_command_refuses_a_user_whose_role_cannot_run_preannotation(project, annotator):
    with pytest.raises(CommandError, match="may not run pre-annotation"):
        _preannotate("--project", str(project.pk), "--user", annotator.username)
    assert not PreannotationJob.objects.exists()


@pytest.mark.django_db
def test_command_refuses_an_outsider_as_if_the_project_did_not_exist(project, outsider):
    with pytest.raises(CommandError, match="does not exist or outsider is not a member"):
        _preannotate("--project", str(project.pk), "--user", outsider.username)


@pytest.mark.django_db
def test_command_reports_an_unknown_project(db):
    with pytest.raises(CommandError, match="Project 424242 does not exist"):
        _preannotate("--project", "424242")


@pytest.mark.django_db
def test_command_gives_up_waiting_with_a_hint_when_no_worker_runs(project):
    with pytest.raises(CommandError, match="Gave up after 1 s.*still queued.*worker"):
        _preannotate("--project", str(project.pk), "--wait", "--timeout", "1")


@pytest.mark.worker
def test_command_waits_for_the_worker_and_reports_success(
    transactional_db, celery_worker_process, project, ml_engineer
):
    output = _preannotate("--project", str(project.pk), "--user", ml_engineer.username, "--wait", "--timeout", "120")

    assert "succeeded: 6 predictions, method zero_shot" in output
    assert Prediction.objects.filter(project=project).count() == 6


@pytest.mark.worker
def test_command_exits_non_zero_with_the_reason_when_the_job_fails(transactional_db, celery_worker_process, manager):
    project = project_make(manager=manager, labels=[], texts=["Ada."])

    completed = subprocess.run(
        [sys.executable, "manage.py", "preannotate", "--project", str(project.pk), "--wait", "--timeout", "120"],
        cwd=REPO_ROOT,
        env=celery_worker_process.env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )

    assert completed.returncode == 1, completed.stdout + completed.stderr
    assert "failed: The project has no labels yet" in completed.stderr


def test_command_refuses_a_span_project_before_queueing_anything(transactional_db, manager):
    project = project_make(manager=manager, task_type=TaskType.SPANS, labels=[{"name": "PER"}], texts=["Ada."])
    with pytest.raises(CommandError, match="does not support span"):
        call_command("preannotate", "--project", str(project.pk))
