"""File the word index of every item afresh: for items imported before the index existed."""

from django.core.management.base import BaseCommand, CommandError

from annotation.services.item_words import item_words_rebuild
from projects.models import Project


class Command(BaseCommand):
    help = (
        "File the words of every item of one project (--project) or of all projects in the word "
        "index, one transaction per batch of items. Safe to run again, and beside imports and "
        "edits. Shredded projects have nothing to file: their word rows are dropped."
    )

    def add_arguments(self, parser):
        parser.add_argument("--project", type=int, help="Only this project's id.")
        parser.add_argument("--batch-size", type=int, default=1000)

    def handle(self, *args, project: int | None, batch_size: int, **options):
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        projects = Project.objects.order_by("id")
        if project is not None:
            projects = projects.filter(pk=project)
            if not projects.exists():
                raise CommandError(f"No project with id {project}.")
        for target in projects:
            rows = item_words_rebuild(project_id=target.pk, batch_size=batch_size)
            self.stdout.write(f"Project {target.pk} '{target.name}': {rows} word rows filed.")
