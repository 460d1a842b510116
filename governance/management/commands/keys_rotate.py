"""One-step master-key rotation (older flow): promote the first key of MASTER_KEYS, then re-wrap inline."""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from governance.commands import command_admin
from governance.keyring import master_key_current, master_keys
from governance.services.key_lifecycle import master_key_promote
from governance.services.keys import project_keys_rotate


class Command(BaseCommand):
    help = (
        "Rotate the master key in one step: once the new key is first in MASTER_KEYS on every process, "
        "make it the primary and re-wrap every data key now. Data is not re-encrypted. Safe to run again; "
        "every step is audited. The staged flow with a background job is `manage.py keys` (docs/keys.md)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--user", help="Administrator recorded as the actor; defaults to the system."
        )

    def handle(self, *args, user: str | None, **options):
        actor = command_admin(user) if user else "keys_rotate command"
        first, _ = master_keys()[0]
        try:
            if master_key_current()[0] != first:
                master_key_promote(actor=actor, fingerprint=first)
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from None
        result = project_keys_rotate(actor=actor)
        self.stdout.write(
            self.style.SUCCESS(
                f"Master key {result.master_key_id}: {result.rotated} data key(s) re-wrapped, "
                f"{result.already_current} already current. Older master keys can now be disabled "
                "and destroyed (`manage.py keys`), then removed from MASTER_KEYS."
            )
        )
