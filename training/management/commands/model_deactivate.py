"""Switch a project's active model off from the command line, so the embedding head suggests labels again."""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from governance.commands import command_actor, command_project
from governance.roles import Perm
from training.services.registry import model_version_deactivate


class Command(BaseCommand):
    help = (
        "Switch the project's active model version off: the embedding head (or zero-shot) suggests labels again "
        "and pre-annotation with it is queued (span projects keep their predictions). Acts as --user, or the "
        "project's creator; needs train_models. Exit 1 when no model is active."
    )

    def add_arguments(self, parser):
        parser.add_argument("--project", type=int, required=True, help="Project id.")
        parser.add_argument("--user", help="Username to act as; defaults to the project's creator.")
        parser.add_argument("--reason", default="", help="Why, for the audit trail.")

    def handle(self, *args, project: int, user: str | None, reason: str, **options):
        actor = command_actor(project, user)
        target = command_project(actor, project, perm=Perm.TRAIN_MODELS, doing="train models")
        try:
            job = model_version_deactivate(actor=actor, project=target, reason=reason)
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from None
        tail = f"; pre-annotation job {job.pk} is {job.status}." if job else "; span projects keep their predictions."
        self.stdout.write(
            self.style.SUCCESS(f"No model is active in project {target.pk}: the embedding head suggests again{tail}")
        )
