"""Back up the database and the artifact folder into a new folder, with a manifest and a master-key checklist."""

from django.core.management.base import BaseCommand, CommandError

from governance.commands import command_admin
from governance.services.backup import BackupError, backup_create


class Command(BaseCommand):
    help = (
        "Write a backup into a new folder backup-<UTC time> inside FOLDER: the database dump (pg_dump "
        "custom format, or SQLite's online backup), a copy of ARTIFACT_DIR, manifest.json (versions, "
        "migrations, row counts, audit chain head, sha256 of every file) and MASTER-KEYS-CHECKLIST.txt. "
        "The master keys are never written into it: keep them apart (docs/backup.md). Audited."
    )

    def add_arguments(self, parser):
        parser.add_argument("folder", help="Folder that receives the new backup folder (created if missing).")
        parser.add_argument("--user", help="Administrator recorded as the actor; defaults to the system.")

    def handle(self, *args, folder: str, user: str | None, **options):
        actor = command_admin(user) if user else "backup command"
        try:
            result = backup_create(actor=actor, parent=folder)
        except BackupError as error:
            raise CommandError(str(error)) from None
        head = result.manifest["audit"]["head"]
        keys = ", ".join(result.manifest["keys"]["master_key_ids"]) or "none"
        self.stdout.write(
            self.style.SUCCESS(
                f"Backup written to {result.path}: {result.files} files, {result.bytes} bytes; "
                f"audit chain head #{head['seq'] if head else 0}; manifest sha256 {result.manifest_sha256}."
            )
        )
        self.stdout.write(
            f"It needs the master key(s) {keys} to be read; they are not in it. Keep them as "
            "MASTER-KEYS-CHECKLIST.txt says."
        )
