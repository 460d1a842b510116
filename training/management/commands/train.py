"""Start fine-tuning a dataset version from the command line; a worker on the training queue runs it."""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from common.jobs.follow import job_follow
from common.jobs.models import JobStatus
from governance.commands import command_actor, command_project
from governance.roles import Perm
from training.models import TrainingJob
from training.selectors.champion import champion_verdict
from training.selectors.training import (
    base_model_by_name,
    headline_text,
    selection_summary,
    selection_text,
    trainable_version_by_number,
    version_headline,
)
from training.services.training import (
    CHOICE_HYPERPARAMETERS,
    HYPERPARAMETERS,
    training_job_refresh,
    training_request,
)

POLL_SECONDS = 1.0
CHOICES = {"fine_tuned": "the fine-tuned model", "head": "the embedding head", "none": "neither"}


def progress_line(job) -> str:
    p = job.progress
    if not p.get("total_steps"):
        return f"{job.status}"
    dev = "-" if p.get("dev_metric") is None else f"{p['dev_metric']:.4f}"
    return (
        f"{job.status}: epoch {p['epoch']}/{p['epochs']}, step {p['step']}/{p['total_steps']}, "
        f"loss {p['loss']:.4f}, dev {p.get('metric', '')} {dev}, ETA {p['eta_seconds']:.0f} s"
    )


class Command(BaseCommand):
    help = (
        "Queue a fine-tuning job for a ready dataset version (actor: --user, or the project's creator; needs "
        "train_models). With --wait, print progress until it ends, then the model's score with its 95 % interval "
        "and n, whether it is degenerate, how the step was chosen, the verdict against what suggests labels now "
        "and which the product would suggest with: exit 0 when a model is registered, 1 otherwise. "
        "A Celery worker listening on the training queue (gpu by default) runs the job; this command never does."
    )

    def add_arguments(self, parser):
        parser.add_argument("--project", type=int, required=True, help="Project id.")
        parser.add_argument(
            "--dataset-version", type=int, required=True, help="Number of a ready dataset version."
        )
        parser.add_argument("--user", help="Username to act as; defaults to the project's creator.")
        parser.add_argument(
            "--base-model",
            default="",
            help="A registered base model's name; default the bundled MiniLM-L6.",
        )
        parser.add_argument(
            "--time-limit", type=int, help="Seconds the run may take (default 6 hours)."
        )
        for name, (kind, lowest, highest) in HYPERPARAMETERS.items():
            parser.add_argument(
                f"--{name.replace('_', '-')}",
                dest=name,
                type=kind,
                help=f"{name}, {lowest}..{highest}.",
            )
        for name, values in CHOICE_HYPERPARAMETERS.items():
            parser.add_argument(f"--{name.replace('_', '-')}", dest=name, choices=values, help=f"{name}.")
        parser.add_argument(
            "--then-suggest",
            action="store_true",
            help="After training, pre-annotate with the better of the new model and the embedding head.",
        )
        parser.add_argument("--wait", action="store_true", help="Follow the job until it ends.")
        parser.add_argument(
            "--timeout", type=float, default=24 * 3600.0, help="Seconds to wait with --wait."
        )

    def handle(
        self, *args, project: int, user: str | None, wait: bool, timeout: float, then_suggest: bool, **options
    ):
        actor = command_actor(project, user)
        target = command_project(actor, project, perm=Perm.TRAIN_MODELS, doing="train models")
        hyperparameters = {
            name: options[name]
            for name in [*HYPERPARAMETERS, *CHOICE_HYPERPARAMETERS]
            if options.get(name) is not None
        }
        try:
            job = training_request(
                actor=actor,
                project=target,
                dataset_version=trainable_version_by_number(
                    project=target, number=options["dataset_version"]
                ),
                base_model=base_model_by_name(name=options["base_model"]),
                hyperparameters=hyperparameters,
                time_limit_seconds=options["time_limit"],
                then_suggest=then_suggest,
            )
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from None
        self.stdout.write(f"Training job {job.pk} for project {target.pk} is {job.status}.")
        if wait:
            self._follow(job, timeout)

    def _follow(self, job: TrainingJob, timeout: float) -> None:
        job = job_follow(
            job,
            write=self.stdout.write,
            line=progress_line,
            timeout_s=timeout,
            poll_s=POLL_SECONDS,
            # Also fails the job if its worker died, so the wait ends instead of running out.
            reread=lambda job: training_job_refresh(job=job),
            worker_hint=(
                "Is a Celery worker consuming the training queue (celery -A config worker -Q default,gpu)?"
            ),
        )
        if job.status != JobStatus.SUCCEEDED:
            raise CommandError(
                f"Job {job.pk} {job.status}: {job.error or 'see its log'}\n{job.log}"
            )
        self.report(job)

    def report(self, job: TrainingJob) -> None:
        """The registered version as every page shows it: headline, flags, selection, verdict and choice."""
        model = job.model_version
        self.stdout.write(
            self.style.SUCCESS(f"Job {job.pk} succeeded: model version {model.number} ({model.name}).")
        )
        self.stdout.write(f"Score: {headline_text(version_headline(model))}")
        selection = selection_text(selection_summary(model))
        if selection:
            self.stdout.write(f"Model selection: {selection}")
        self.stdout.write(f"Verdict: {champion_verdict(candidate=model).line()}")
        choice = (model.metrics or {}).get("choice")
        if choice:
            self.stdout.write(f"Choice: suggest with {CHOICES.get(choice.get('use'), choice.get('use'))}: {choice.get('reason')}.")
