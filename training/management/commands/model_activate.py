"""Activate a model version from the command line: it becomes the project's model and pre-annotates."""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.http import Http404

from governance.commands import command_actor, command_project
from governance.roles import Perm
from training.selectors.training import headline_text, model_version_by_number, version_headline
from training.services.registry import ActivationNeedsConfirmation, model_version_activate


class Command(BaseCommand):
    help = (
        "Make model version N the project's active model and queue pre-annotation of its unlabelled items "
        "(a worker runs it). Acts as --user, or the project's creator; needs train_models. A degenerate version, "
        "or one worse with confidence than what suggests labels now, is refused with the verdict (exit 1) unless "
        "--confirm is given; the confirmation is audited. model_deactivate goes back to the embedding head."
    )

    def create_parser(self, prog_name, subcommand, **kwargs):
        # --version names the model version here; Django's own --version (its release) gives way.
        return super().create_parser(prog_name, subcommand, conflict_handler="resolve", **kwargs)

    def add_arguments(self, parser):
        parser.add_argument("--project", type=int, required=True, help="Project id.")
        parser.add_argument("--version", type=int, required=True, help="Model version number (1, 2, ...).")
        parser.add_argument("--user", help="Username to act as; defaults to the project's creator.")
        parser.add_argument(
            "--confirm",
            action="store_true",
            help="Activate even a degenerate version or one worse than what suggests now (recorded in the audit trail).",
        )

    def handle(self, *args, project: int, version: int, user: str | None, confirm: bool, **options):
        actor = command_actor(project, user)
        target = command_project(actor, project, perm=Perm.TRAIN_MODELS, doing="train models")
        try:
            model = model_version_by_number(project=target, number=version)
            job = model_version_activate(actor=actor, model_version=model, confirm=confirm)
        except Http404 as error:
            raise CommandError(str(error)) from None
        except ActivationNeedsConfirmation as refusal:
            self.stdout.write(f"Score: {headline_text(version_headline(model))}")
            self.stdout.write(f"Verdict: {refusal.verdict.line()}")
            raise CommandError(
                f"Not activated: {'; '.join(refusal.verdict.reasons)}. Run again with --confirm to activate "
                f"{model.name} anyway (the confirmation is recorded in the audit trail)."
            ) from None
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from None
        self.stdout.write(
            self.style.SUCCESS(
                f"{model.name} is now active in project {target.pk}; pre-annotation job {job.pk} is {job.status}."
            )
        )
