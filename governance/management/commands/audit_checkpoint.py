"""Sign a checkpoint of the audit trail now (if it grew) and deliver every pending one to the sinks."""

from django.core.management.base import BaseCommand, CommandError

from governance.checkpoints.note import CheckpointError
from governance.services.checkpoints import audit_checkpoint_publish


class Command(BaseCommand):
    help = (
        "Publish a signed checkpoint of the audit trail now, whatever the interval, if the trail grew since "
        "the last one; then send every sink what it has not taken yet. Exits non-zero when a sink failed."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--if-due", action="store_true", help="Sign only if the configured interval says so (as beat does)."
        )

    def handle(self, *args, if_due: bool, **options):
        try:
            outcome = audit_checkpoint_publish(force=not if_due)
        except CheckpointError as error:
            raise CommandError(str(error)) from None
        if not outcome.enabled:
            raise CommandError("Checkpoints are off: set AUDIT_CHECKPOINT_KEY_FILE (docs/audit-checkpoints.md).")
        if outcome.checkpoint is None:
            self.stdout.write("No checkpoint signed: the trail has not grown since the last one (or none is due).")
        else:
            self.stdout.write(f"Checkpoint of size {outcome.checkpoint.size} signed (head {outcome.checkpoint.head_hash}).")
        for sink, size in outcome.delivered:
            self.stdout.write(f"Delivered checkpoint {size} to {sink}.")
        if outcome.failed:
            lines = [f"checkpoint {size} to {sink}: {error}" for sink, size, error in outcome.failed]
            raise CommandError("Not delivered (retried next time): " + "; ".join(lines))
