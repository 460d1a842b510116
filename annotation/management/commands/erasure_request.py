"""Erase a data subject's items now, from the command line, with the same service and record as the pages."""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from annotation.services.erasure import erasure_request_create, erasure_run
from governance.commands import command_admin, command_project_get


class Command(BaseCommand):
    help = (
        "Erase every item of a data subject (found by identifier in texts, subject metadata and the blind index), "
        "with annotations and predictions; destroys dataset version and export files that held them. Audited."
    )

    def add_arguments(self, parser):
        parser.add_argument("--identifier", required=True, help="The subject's identifier, e.g. an email.")
        parser.add_argument("--user", required=True, help="Administrator performing the erasure.")
        parser.add_argument("--project", type=int, help="Limit to one project (default: every project).")
        parser.add_argument("--reason", default="", help="Reference of the request, e.g. a ticket number.")

    def handle(self, *args, identifier: str, user: str, project: int | None, reason: str, **options):
        actor = command_admin(user, why="only administrators may erase data")
        target = command_project_get(project) if project is not None else None
        try:
            request = erasure_request_create(actor=actor, identifier=identifier, project=target, reason=reason)
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from None
        # Runs here rather than waiting for a worker; the queued task then finds it done and does nothing.
        request = erasure_run(request_id=request.pk)
        if request.error:
            raise CommandError(f"Erasure {request.pk} failed: {request.error}")
        totals = request.record.get("totals", {})
        self.stdout.write(self.style.SUCCESS(f"Erasure {request.pk} done: {totals or 'nothing found'}."))
