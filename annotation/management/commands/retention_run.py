"""Delete every item older than its project's retention period now, batch by batch (for cron without beat)."""

from django.core.management.base import BaseCommand

from annotation.services.exports import exports_expire
from annotation.services.retention import BATCH, retention_run_all


class Command(BaseCommand):
    help = "Apply project retention periods: delete expired items with their annotations, in audited batches."

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=BATCH, help=f"Items per batch (default {BATCH}).")

    def handle(self, *args, batch_size: int, **options):
        expired = exports_expire()
        deleted = retention_run_all(batch_size=max(1, batch_size))
        self.stdout.write(
            self.style.SUCCESS(f"Retention: {deleted} expired item(s) deleted, {expired} expired export file(s) removed.")
        )
