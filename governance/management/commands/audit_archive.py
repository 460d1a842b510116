"""Archive old audit events into signed files, list and verify the archives, or restore one into the table."""

from django.core.management.base import BaseCommand, CommandError

from governance.checkpoints.note import CheckpointError, note_key_from_vkey
from governance.selectors.audit_archive import archive_config, archive_list
from governance.services.audit_archive import (
    ArchiveError,
    audit_archive_restore,
    audit_archive_run,
    audit_archive_verify,
)

ACTOR = "audit_archive"


class Command(BaseCommand):
    help = (
        "Move audit events older than AUDIT_ARCHIVE_AFTER_DAYS into signed archive files (run), show the "
        "archives (list), verify the trail across archives and table (verify), or put an archive's events "
        "back into the table (restore <id>). See docs/audit-archive.md."
    )

    def add_arguments(self, parser):
        commands = parser.add_subparsers(dest="subcommand", required=True)
        run = commands.add_parser("run", help="Archive every range that is due now.")
        run.add_argument("--limit", type=int, default=None, help="Write at most this many archive files.")
        commands.add_parser("list", help="List the archives: range, dates, state and file.")
        verify = commands.add_parser("verify", help="Verify each archive file and the chain across archives and table.")
        verify.add_argument(
            "--key",
            action="append",
            default=[],
            help="A vkey to trust (repeatable); default: the public half of AUDIT_CHECKPOINT_KEY_FILE.",
        )
        restore = commands.add_parser("restore", help="Verify an archive's file and put its events back into the table.")
        restore.add_argument("archive_id", type=int)

    def handle(self, *args, subcommand: str, **options):
        try:
            getattr(self, f"_{subcommand}")(**options)
        except (ArchiveError, CheckpointError) as error:
            raise CommandError(str(error)) from None

    def _run(self, *, limit, **options):
        outcome = audit_archive_run(actor=ACTOR, limit=limit)
        for archive in outcome.archives:
            self.stdout.write(
                f"Archived events #{archive.first_seq}..#{archive.last_seq} ({archive.event_count} events, "
                f"{archive.earliest_created_at:%Y-%m-%d} to {archive.latest_created_at:%Y-%m-%d}) to "
                f"{archive_config().folder / archive.file_name}, covered by checkpoint {archive.checkpoint_size}."
            )
        total = sum(archive.event_count for archive in outcome.archives)
        self.stdout.write(
            self.style.SUCCESS(f"{len(outcome.archives)} archive(s) written, {total} events moved out of the table.")
        )
        if outcome.reason:
            self.stdout.write(f"Stopped: {outcome.reason}")

    def _list(self, **options):
        archives = list(archive_list())
        if not archives:
            self.stdout.write("No audit archive.")
            return
        for archive in archives:
            self.stdout.write(
                f"{archive.pk:>5}  #{archive.first_seq}..#{archive.last_seq}  {archive.event_count} events  "
                f"{archive.earliest_created_at:%Y-%m-%d}..{archive.latest_created_at:%Y-%m-%d}  {archive.state}  "
                f"{archive.file_name}"
            )

    def _verify(self, *, key, **options):
        keys = [note_key_from_vkey(text) for text in key] or None
        report = audit_archive_verify(actor=ACTOR, keys=keys)
        if not report.ok:
            raise CommandError(
                f"Audit chain broken at event #{report.first_broken_seq}: {report.reason} "
                f"({report.checked} events verified before it)."
            )
        sealed = sum(1 for archive in archive_list() if archive.state == "sealed")
        self.stdout.write(
            self.style.SUCCESS(
                f"Audit chain intact across {sealed} sealed archive(s) and the table: {report.checked} events verified."
            )
        )

    def _restore(self, *, archive_id, **options):
        archive = audit_archive_restore(actor=ACTOR, archive_id=archive_id)
        self.stdout.write(
            self.style.SUCCESS(
                f"Archive {archive.pk} restored: events #{archive.first_seq}..#{archive.last_seq} "
                f"({archive.event_count}) are back in the table; its file stays as it was."
            )
        )
