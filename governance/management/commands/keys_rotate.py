"""Re-wrap every project's data key under the newest master key (the first in MASTER_KEYS)."""

from django.core.management.base import BaseCommand

from governance.commands import command_admin
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
        actor = command_admin(user) if user else "keys_rotate command"
        result = project_keys_rotate(actor=actor)
        self.stdout.write(
            self.style.SUCCESS(
                f"Master key {result.master_key_id}: {result.rotated} data key(s) re-wrapped, "
                f"{result.already_current} already current. Older master keys can now be removed."
            )
        )
