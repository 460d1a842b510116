"""Request model pre-annotation of a project from the command line; a Celery worker does the work."""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from common.jobs.follow import job_follow
from common.jobs.models import JobStatus
from governance.commands import command_actor, command_project
from governance.roles import Perm
from training.models import PreannotationJob
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
        parser.add_argument(
            "--user", help="Username to request as; defaults to the project's creator."
        )
        parser.add_argument("--wait", action="store_true", help="Follow the job until it finishes.")
        parser.add_argument(
            "--timeout",
            type=float,
            default=600.0,
            help="Seconds to wait with --wait (default 600).",
        )

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
            self._follow(job, timeout)

    def _follow(self, job: PreannotationJob, timeout: float) -> None:
        job = job_follow(
            job,
            write=self.stdout.write,
            line=lambda job: f"{job.status}: {job.progress_done}/{job.progress_total} items",
            timeout_s=timeout,
            poll_s=POLL_SECONDS,
            worker_hint=(
                "Is a Celery worker consuming the 'gpu' queue (celery -A config worker -Q default,gpu)?"
            ),
        )
        if job.status != JobStatus.SUCCEEDED:
            raise CommandError(f"Job {job.pk} {job.status}: {job.error}")
        self.stdout.write(
            self.style.SUCCESS(
                f"Job {job.pk} succeeded: {job.progress_done} predictions, "
                f"method {job.method}, model {job.model_version}."
            )
        )
