"""Request model pre-annotation of a project from the command line; a Celery worker does the work."""

import time

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.http import Http404

from projects.models import Project
from governance.access import access_project
from governance.roles import Perm
from training.models import JobStatus
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
        actor = self._actor(project, user)
        try:
            target = access_project(user=actor, project_id=project, perm=Perm.RUN_PREANNOTATION)
        except Http404:
            raise CommandError(f"Project {project} does not exist or {actor.get_username()} is not a member.") from None
        except PermissionDenied:
            raise CommandError(
                f"{actor.get_username()} may not run pre-annotation in project {project}; "
                "a manager or ML engineer can."
            ) from None
        try:
            job = preannotation_request(actor=actor, project=target)
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from None
        self.stdout.write(f"Pre-annotation job {job.pk} for project {target.pk} is {job.status}.")
        if wait:
            self._follow(target, job.pk, timeout)

    def _actor(self, project_id: int, username: str | None):
        if username:
            actor = get_user_model().objects.filter(username=username, is_active=True).first()
            if actor is None:
                raise CommandError(f"No active user named {username!r}.")
            return actor
        project = Project.objects.filter(pk=project_id).select_related("created_by").first()
        if project is None:
            raise CommandError(f"Project {project_id} does not exist.")
        if project.created_by is None or not project.created_by.is_active:
            raise CommandError(f"Project {project_id} has no active creator; name a user with --user.")
        return project.created_by

    def _follow(self, project: Project, job_id: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        last_line = None
        while True:
            job = preannotation_job_get(project=project, job_id=job_id)
            line = f"{job.status}: {job.items_done}/{job.items_total} items"
            if line != last_line:
                self.stdout.write(line)
                last_line = line
            if job.status == JobStatus.SUCCEEDED:
                self.stdout.write(
                    self.style.SUCCESS(
                        f"Job {job.pk} succeeded: {job.items_done} predictions, "
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
