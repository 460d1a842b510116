"""Refresh a project's active-learning order now, in this process: embeddings first, then the head."""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from common.jobs.models import JobStatus
from governance.keyring import DataShredded
from projects.models import Project
from training.models.active import ActiveLearning
from training.services.active_learning import active_learning_refresh_now


class Command(BaseCommand):
    help = (
        "Compute the missing embeddings of a project's items and re-rank its queue with its "
        "active-learning strategy, here and now (no worker needed); prints what ranked the queue."
    )

    def add_arguments(self, parser):
        parser.add_argument("project", type=int, help="The project's id.")

    def handle(self, *args, project: int, **options):
        found = Project.objects.filter(pk=project).first()
        if found is None:
            raise CommandError(f"No project with id {project}.")
        try:
            refresh = active_learning_refresh_now(project=found)
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from None
        except DataShredded as error:
            raise CommandError(str(error)) from None
        if refresh.status != JobStatus.SUCCEEDED:
            why = refresh.error or refresh.get_status_display()
            raise CommandError(f"The refresh failed: {why}")
        state = ActiveLearning.objects.get(project=found)
        self.stdout.write(
            self.style.SUCCESS(
                f"Ranked project {found.pk}'s queue by {state.scored_by or 'nothing'} "
                f"in {state.refresh_seconds:.2f} s."
            )
        )
