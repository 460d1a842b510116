"""Crypto-shred a project: destroy its data key so none of its encrypted data can be read again."""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from governance.commands import command_admin, command_project_get
from governance.services.keys import project_data_shred


class Command(BaseCommand):
    help = (
        "Destroy a project's data key (irreversible): item texts, metadata, annotations and "
        "predictions become unreadable everywhere, backups included. Audited."
    )

    def add_arguments(self, parser):
        parser.add_argument("--project", type=int, required=True, help="Project id.")
        parser.add_argument("--user", required=True, help="Administrator performing the shredding.")
        parser.add_argument("--yes", action="store_true", help="Do not ask for confirmation.")

    def handle(self, *args, project: int, user: str, yes: bool, **options):
        actor = command_admin(user, why="only administrators may shred data")
        target = command_project_get(project)
        if not yes:
            answer = input(
                f"Destroy all data of project {target.pk} '{target.name}' for good? Type its id to confirm: "
            )
            if answer.strip() != str(target.pk):
                raise CommandError("Not confirmed; nothing was destroyed.")
        try:
            key = project_data_shred(actor=actor, project=target)
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from None
        self.stdout.write(
            self.style.SUCCESS(
                f"Project {target.pk} '{target.name}': data key destroyed at {key.shredded_at:%Y-%m-%d %H:%M} UTC; "
                "its encrypted data can no longer be read."
            )
        )
