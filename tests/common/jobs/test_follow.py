"""Following a job from a command: each change of progress printed once, the job returned as it ended."""

import pytest
from django.core.management.base import CommandError

from common.jobs import follow
from common.jobs.follow import job_follow
from common.jobs.lifecycle import job_claim, job_fail, job_finish, job_progress
from common.jobs.models import JobStatus
from governance.models import AuditVerification

pytestmark = pytest.mark.django_db


def _line(job) -> str:
    return f"{job.status}: {job.progress_done}/{job.progress_total}"


def _worker_runs_while_waiting(monkeypatch, job, steps) -> None:
    """Each poll's sleep lets the worker take its next step on the job's row."""
    pending = list(steps)

    def sleep(seconds):
        if pending:
            pending.pop(0)(job)

    monkeypatch.setattr(follow.time, "sleep", sleep)


def test_prints_each_change_of_progress_once_and_returns_the_job_as_it_ended(monkeypatch):
    job = AuditVerification.objects.create()
    _worker_runs_while_waiting(
        monkeypatch,
        job,
        [
            lambda job: job_claim(AuditVerification, job_id=job.pk),
            lambda job: job_progress(job, done=1, total=3),
            lambda job: job_progress(job, done=1),  # a heartbeat that moved nothing
            lambda job: job_progress(job, done=3),
            lambda job: job_finish(job),
        ],
    )
    lines = []

    ended = job_follow(job, write=lines.append, line=_line, timeout_s=60)

    assert lines == [
        "queued: 0/0",
        "running: 0/0",
        "running: 1/3",
        "running: 3/3",
        "succeeded: 3/3",
    ]
    assert ended.pk == job.pk and ended.status == JobStatus.SUCCEEDED


def test_returns_a_failed_job_with_its_error_for_the_command_to_report(monkeypatch):
    job = AuditVerification.objects.create()
    _worker_runs_while_waiting(
        monkeypatch,
        job,
        [
            lambda job: job_claim(AuditVerification, job_id=job.pk),
            lambda job: job_fail(job, error="The chain is empty."),
        ],
    )

    ended = job_follow(job, write=lambda line: None, line=_line, timeout_s=60)

    assert ended.status == JobStatus.FAILED and ended.error == "The chain is empty."


def test_returns_at_once_a_job_that_had_already_ended():
    job = AuditVerification.objects.create(status=JobStatus.CANCELLED)
    lines = []

    ended = job_follow(job, write=lines.append, line=_line, timeout_s=0)

    assert ended.status == JobStatus.CANCELLED and lines == ["cancelled: 0/0"]


def test_gives_up_after_the_timeout_naming_the_state_and_which_worker_should_run_it():
    job = AuditVerification.objects.create()
    lines = []

    with pytest.raises(
        CommandError,
        match=rf"^Gave up after 0.05 s; job {job.pk} is still queued. Is a worker up\?$",
    ):
        job_follow(
            job,
            write=lines.append,
            line=_line,
            timeout_s=0.05,
            poll_s=0.01,
            worker_hint="Is a worker up?",
        )
    assert lines == ["queued: 0/0"]  # polled several times, printed once


def test_reads_the_job_through_the_given_reread_on_every_poll(monkeypatch):
    job = AuditVerification.objects.create()
    _worker_runs_while_waiting(monkeypatch, job, [lambda job: job_finish(job)])
    reads = []

    def reread(job):
        reads.append(job.pk)
        return AuditVerification.objects.get(pk=job.pk)

    job_follow(job, write=lambda line: None, line=_line, timeout_s=60, reread=reread)

    assert reads == [job.pk, job.pk]
