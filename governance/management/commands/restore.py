"""Restore a backup into an empty database and artifact folder, then check and print what came back."""

from django.core.management.base import BaseCommand, CommandError

from governance.services.backup import BackupError, backup_restore


class Command(BaseCommand):
    help = (
        "Restore a backup folder made by `manage.py backup` into the configured database (DATABASE_URL) "
        "and ARTIFACT_DIR, both of which must be empty unless --replace is given. The files are checked "
        "against the manifest and MASTER_KEYS against the keys the backup needs before anything is "
        "written. Afterwards the audit chain, row counts, data keys, item texts, dataset versions and "
        "models are checked and printed; the exit status is 1 if any check failed. Audited."
    )
    # The target database is empty until the restore: nothing may query it before.
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("backup", help="The backup folder (backup-<UTC time>).")
        parser.add_argument(
            "--replace",
            action="store_true",
            help="Drop the target database's tables and empty ARTIFACT_DIR first (what they hold is lost).",
        )
        parser.add_argument(
            "--migrate",
            action="store_true",
            help="Apply this code's newer migrations after loading a backup made by an older release.",
        )

    def handle(self, *args, backup: str, replace: bool, migrate: bool, **options):
        try:
            report = backup_restore(
                actor="restore command", source=backup, replace=replace, migrate=migrate, say=self.stdout.write
            )
        except BackupError as error:
            raise CommandError(str(error)) from None
        self.stdout.write("Checks:")
        for check in report.checks:
            mark = self.style.SUCCESS("ok  ") if check.ok else self.style.ERROR("FAIL")
            self.stdout.write(f"  {mark} {check.name}: {check.detail}")
        failed = [check.name for check in report.checks if not check.ok]
        if failed:
            raise CommandError(
                f"Restored, but {len(failed)} check(s) failed: {', '.join(failed)}. The data is in place; "
                "do not put this installation in service before the failures above are understood."
            )
        self.stdout.write(self.style.SUCCESS(f"Restore of {report.manifest['created_at']} complete; every check passed."))
