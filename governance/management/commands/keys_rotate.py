"""Re-wrap every project's data key under the newest master key (the first in MASTER_KEYS)."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from governance.services.keys import project_keys_rotate


class Command(BaseCommand):
    help = (
        "Rotate the master key without downtime: put the new key first in MASTER_KEYS (keep the "
        "old ones after it), restart, run this, then remove the old keys. Data is not re-encrypted; "
        "each project's data key is re-wrapped. Safe to run again; every re-wrap is audited."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--user", help="Administrator recorded as the actor; defaults to the system."
        )

    def handle(self, *args, user: str | None, **options):
        actor = "keys_rotate command"
        if user:
            actor = (
                get_user_model()
                .objects.filter(username=user, is_active=True, is_superuser=True)
                .first()
            )
            if actor is None:
                raise CommandError(f"No active administrator named {user!r}.")
        result = project_keys_rotate(actor=actor)
        self.stdout.write(
            self.style.SUCCESS(
                f"Master key {result.master_key_id}: {result.rotated} data key(s) re-wrapped, "
                f"{result.already_current} already current. Older master keys can now be removed."
            )
        )
