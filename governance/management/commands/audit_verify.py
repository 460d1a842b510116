"""Verify the audit hash chain and name the first broken event."""

from django.core.management.base import BaseCommand, CommandError

from governance.audit import audit_chain_verify


class Command(BaseCommand):
    help = "Walk the audit trail in order and report the first event whose hash link is broken."

    def handle(self, *args, **options):
        report = audit_chain_verify()
        if not report.ok:
            raise CommandError(
                f"Audit chain broken at event #{report.first_broken_seq}: {report.reason} "
                f"({report.checked} events verified before it)."
            )
        self.stdout.write(self.style.SUCCESS(f"Audit chain intact: {report.checked} events verified."))
