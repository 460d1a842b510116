"""Request model pre-annotation of a project from the command line; a Celery worker does the work."""

import time

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from common.jobs.models import JobStatus
from governance.commands import command_actor, command_project
from governance.roles import Perm
from projects.models import Project
from training.selectors.preannotation import preannotation_job_get
from training.services.preannotation import preannotation_request

POLL_SECONDS = 1.0


class Command(BaseCommand):
    help = (
        "Queue a pre-annotation job for a project (actor: --user, or the project's creator). "
        "With --wait, follow it until it succeeds (exit 0) or fails or times out (exit 1). "
        "A Celery worker listening on the 'gpu' queue runs the job; this command never does."
    )

    def add_arguments(self, parser):
        parser.add_argument("--project", type=int, required=True, help="Project id.")
        parser.add_argument("--user", help="Username to request as; defaults to the project's creator.")
        parser.add_argument("--wait", action="store_true", help="Follow the job until it finishes.")
        parser.add_argument("--timeout", type=float, default=600.0, help="Seconds to wait with --wait (default 600).")

    def handle(self, *args, project: int, user: str | None, wait: bool, timeout: float, **options):
        actor = command_actor(project, user)
        target = command_project(
            actor, project, perm=Perm.RUN_PREANNOTATION, doing="run pre-annotation"
        )
        try:
            job = preannotation_request(actor=actor, project=target)
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from None
        self.stdout.write(f"Pre-annotation job {job.pk} for project {target.pk} is {job.status}.")
        if wait:
            self._follow(target, job.pk, timeout)

    def _follow(self, project: Project, job_id: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        last_line = None
        while True:
            job = preannotation_job_get(project=project, job_id=job_id)
            line = f"{job.status}: {job.progress_done}/{job.progress_total} items"
            if line != last_line:
                self.stdout.write(line)
                last_line = line
            if job.status == JobStatus.SUCCEEDED:
                self.stdout.write(
                    self.style.SUCCESS(
                        f"Job {job.pk} succeeded: {job.progress_done} predictions, "
                        f"method {job.method}, model {job.model_version}."
                    )
                )
                return
            if job.status == JobStatus.FAILED:
                raise CommandError(f"Job {job.pk} failed: {job.error}")
            if time.monotonic() >= deadline:
                raise CommandError(
                    f"Gave up after {timeout:g} s; job {job.pk} is still {job.status}. "
                    "Is a Celery worker consuming the 'gpu' queue (celery -A config worker -Q default,gpu)?"
                )
            time.sleep(POLL_SECONDS)
