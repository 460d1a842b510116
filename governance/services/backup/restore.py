"""Restoring a backup into an empty database and an empty artifact folder, then checking what came back."""

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.db import transaction
from django.db.migrations.loader import MigrationLoader

from governance.audit import AuditAction, audit_record
from governance.keyring import cache_clear, master_keys
from governance.services.backup.checks import (
    CheckOutcome,
    artifact_paths_move,
    loaded_checks_run,
    migrations_pending,
    restore_checks_run,
)
from governance.services.backup.create import operator_name
from governance.services.backup.database import (
    database_clear,
    database_label,
    database_load,
    database_tables,
    database_vendor,
)
from governance.services.backup.manifest import (
    ARTIFACTS_FOLDER,
    BackupError,
    backup_files_verify,
    file_copy_hashed,
    manifest_read,
)


@dataclass(frozen=True)
class RestoreReport:
    manifest: dict
    manifest_sha256: str
    checks: list[CheckOutcome]
    paths_moved: dict[str, int]

    @property
    def ok(self) -> bool:
        return all(check.ok for check in self.checks)


def _migrations_known(manifest: dict, *, migrate: bool) -> list:
    """The migrations to apply after loading; refused if the backup has some this code lacks, or needs
    some and ``migrate`` was not given."""
    known = set(MigrationLoader(None, ignore_no_migrations=True).disk_migrations)
    unknown = sorted({tuple(pair) for pair in manifest["migrations"]} - known)
    if unknown:
        names = ", ".join(f"{app}.{name}" for app, name in unknown[:5])
        raise BackupError(
            f"This backup was made by a newer release (application {manifest['versions']['application']}): "
            f"{len(unknown)} of its migrations are unknown to this code ({names}). Restore it with that "
            "release or a later one. Nothing was restored."
        )
    pending = migrations_pending(manifest["migrations"])
    if pending and not migrate:
        names = ", ".join(f"{app}.{name}" for app, name in pending[:5])
        raise BackupError(
            f"This backup was made by an older release (application {manifest['versions']['application']}): "
            f"this code has {len(pending)} migrations it lacks ({names}). Pass --migrate to apply them once "
            "the backup is loaded, as the upgrade would have, or restore with the release that made it. "
            "Nothing was restored."
        )
    return pending


def _keys_present(manifest: dict) -> None:
    configured = {key_id for key_id, _ in master_keys()}
    missing = sorted(set(manifest["keys"]["master_key_ids"]) - configured)
    if missing:
        raise BackupError(
            f"MASTER_KEYS lacks the master key(s) {', '.join(missing)} that wrap this backup's data keys "
            f"(configured: {', '.join(sorted(configured))}). Without them its texts, annotations, dataset "
            "versions and exports cannot be opened, by design. Set MASTER_KEYS to the keys listed in the "
            "backup's MASTER-KEYS-CHECKLIST.txt (kept apart from the backup) and run restore again. "
            "Nothing was restored."
        )


def _artifacts_present(folder: Path) -> list[Path]:
    return sorted(folder.iterdir()) if folder.is_dir() else []


def _artifacts_restore(source: Path, manifest: dict, target: Path) -> int:
    """Copy the backup's artifact files into ``target``, checking each copy's hash as it is written."""
    count = 0
    prefix = f"{ARTIFACTS_FOLDER}/"
    for name, entry in sorted(manifest["files"].items()):
        if not name.startswith(prefix):
            continue
        sha256, _ = file_copy_hashed(source / name, target / name.removeprefix(prefix))
        if sha256 != entry["sha256"]:
            raise BackupError(f"the copy of {name} hashes to {sha256[:16]}…, not {entry['sha256'][:16]}…")
        count += 1
    return count


def backup_restore(
    *, actor, source: Path, replace: bool = False, migrate: bool = False, say: Callable[[str], None] = print
) -> RestoreReport:
    """Restore the backup in ``source`` into the configured database and ARTIFACT_DIR, check it, audit it.

    Everything that can be checked without writing is checked first (the files against the manifest,
    the release, the master keys, that the targets are empty), and a refusal there leaves both
    targets untouched. ``replace`` drops the target database's tables and empties the artifact
    folder first; ``migrate`` applies this code's newer migrations after loading a backup of an
    older release (the comparisons with the manifest are made before). A failure once writing has
    begun says which state the targets are left in. ``say`` receives one line per step.
    """
    source = Path(source).expanduser().resolve()
    manifest, manifest_sha256 = manifest_read(source)
    checked = backup_files_verify(source, manifest)
    say(f"Backup {source.name}: {len(manifest['files'])} files, {checked} bytes, all match the manifest.")
    vendor = manifest["database"]["vendor"]
    if vendor != database_vendor():
        raise BackupError(
            f"This backup holds a {vendor} database and the target is {database_label()}; a backup restores "
            f"into the kind of database it was made from. Nothing was restored."
        )
    pending = _migrations_known(manifest, migrate=migrate)
    _keys_present(manifest)
    target_db = database_label()
    tables = database_tables()
    artifact_dir = Path(settings.ARTIFACT_DIR).resolve()
    present = _artifacts_present(artifact_dir)
    if (tables or present) and not replace:
        found = []
        if tables:
            found.append(f"{target_db} holds {len(tables)} tables (e.g. {', '.join(sorted(tables)[:3])})")
        if present:
            found.append(f"the artifact folder {artifact_dir} holds {len(present)} entries")
        raise BackupError(
            f"The target is not empty: {'; '.join(found)}. Restore into a new, empty database and an empty "
            "artifact folder, or pass --replace to delete what they hold first. Nothing was changed."
        )
    say(f"Target: {target_db}, artifact folder {artifact_dir}.")

    step, state = "", "as they were"
    try:
        if replace and tables:
            step = "dropping the target database's tables"
            database_clear()
            state = "with the database emptied"
        if replace and present:
            step = "emptying the artifact folder"
            for entry in present:
                shutil.rmtree(entry) if entry.is_dir() and not entry.is_symlink() else entry.unlink()
            state = "with the database and the artifact folder emptied" if tables else "with the artifact folder emptied"
        step = "loading the database dump"
        database_load(source / manifest["database"]["dump"], vendor=vendor, clean=bool(replace and tables))
        say(f"Database restored from {manifest['database']['dump']}.")
        step = "copying the artifact files"
        state = "with the database restored and the artifact folder partly filled"
        artifact_dir.mkdir(parents=True, exist_ok=True)
        copied = _artifacts_restore(source, manifest, artifact_dir)
        say(f"Artifact files restored: {copied}.")
        step = "pointing stored file paths at the new artifact folder"
        moved = artifact_paths_move(old_root=manifest["artifact_dir"], new_root=str(artifact_dir))
        state = "with the database and the artifact files restored"
        loaded = loaded_checks_run(manifest=manifest)
        if pending:
            step = f"applying {len(pending)} migrations"
            state = "with the database and the artifact files restored and the migrations partly applied"
            call_command("migrate", interactive=False, verbosity=0)
            say(f"Migrations applied: {len(pending)}.")
    except Exception as error:
        raise BackupError(
            f"Restore failed while {step}: {error}. State: {target_db} and {artifact_dir} are left {state}."
            + (" Empty them (or run restore again with --replace) before trying again." if state != "as they were" else "")
        ) from error
    if any(moved.values()):
        say(f"Stored paths moved from {manifest['artifact_dir']} to {artifact_dir}: {sum(moved.values())} rows.")

    cache_clear()
    checks = loaded + restore_checks_run(manifest=manifest)
    with transaction.atomic():
        audit_record(
            actor=actor,
            action=AuditAction.BACKUP_RESTORE,
            details={
                "backup": source.name,
                "backup_created_at": manifest["created_at"],
                "manifest_sha256": manifest_sha256,
                "replaced": bool(replace and (tables or present)),
                "migrations_applied": len(pending),
                "paths_moved": sum(moved.values()),
                "checks_failed": [check.name for check in checks if not check.ok],
                "by": operator_name(),
            },
        )
    return RestoreReport(manifest=manifest, manifest_sha256=manifest_sha256, checks=checks, paths_moved=moved)
