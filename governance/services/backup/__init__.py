"""Backups of the whole installation (database, artifact folder, manifest) and their restore; see docs/backup.md."""

from governance.services.backup.checks import (
    CheckOutcome,
    artifact_path_field_register,
    restore_check_register,
)
from governance.services.backup.create import BackupResult, backup_create
from governance.services.backup.manifest import BackupError
from governance.services.backup.restore import RestoreReport, backup_restore

__all__ = [
    "BackupError",
    "BackupResult",
    "CheckOutcome",
    "RestoreReport",
    "artifact_path_field_register",
    "backup_create",
    "backup_restore",
    "restore_check_register",
]
