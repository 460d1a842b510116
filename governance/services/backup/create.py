"""Making a backup: the database dump, a copy of the artifact folder, the manifest and the master-key checklist."""

import getpass
import importlib.metadata
import platform
import shutil
import socket
import sqlite3
from dataclasses import dataclass
from pathlib import Path

import django
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from governance.audit import AuditAction, audit_record
from governance.keyring import master_key_current
from governance.services.backup.database import database_dump, database_vendor
from governance.services.backup.manifest import (
    ARTIFACTS_FOLDER,
    FORMAT,
    FORMAT_VERSION,
    KEYS_CHECKLIST_NAME,
    BackupError,
    file_copy_hashed,
    file_entry,
    manifest_write,
)

PACKAGE_NAME = "sensitive-annotator"


@dataclass(frozen=True)
class BackupResult:
    path: Path
    manifest_sha256: str
    files: int
    bytes: int
    manifest: dict


def _versions() -> dict:
    try:
        package = importlib.metadata.version(PACKAGE_NAME)
    except importlib.metadata.PackageNotFoundError:
        package = "0+unknown"
    if connection.vendor == "postgresql":
        with connection.cursor():
            server = f"PostgreSQL {connection.pg_version // 10000}.{connection.pg_version % 10000}"
    else:
        server = f"SQLite {sqlite3.sqlite_version}"
    return {
        "application": package,
        "django": django.get_version(),
        "python": platform.python_version(),
        "database": server,
    }


def operator_name() -> str:
    """Who ran the command, as the operating system knows them (audit details of backups and restores)."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # a container user with no name
        user = "unknown"
    return f"{user}@{socket.gethostname()}"


def _skipped(relative: Path) -> bool:
    # Files still being written (sealed files and model folders are moved into place when done).
    return any(part.endswith(".partial") for part in relative.parts)


def _artifacts_copy(source: Path, target: Path) -> dict[str, dict]:
    """Copy the artifact folder's finished files; return their manifest entries by path inside the backup."""
    files = {}
    if not source.is_dir():
        return files
    # The development master key sits in DATA_DIR; it must never travel with the data it protects.
    never = {(Path(settings.DATA_DIR) / "master.key").resolve()}
    for path in sorted(source.rglob("*")):
        relative = path.relative_to(source)
        if path.is_symlink() or not path.is_file() or _skipped(relative) or path.resolve() in never:
            continue
        name = f"{ARTIFACTS_FOLDER}/{relative.as_posix()}"
        sha256, size = file_copy_hashed(path, target / name)
        files[name] = {"sha256": sha256, "bytes": size}
    return files


def _checklist(manifest: dict, name: str) -> str:
    """The master-key checklist kept beside the data: which keys it needs, by fingerprint, never the keys."""
    current, _ = master_key_current()
    needed = manifest["keys"]["master_key_ids"]
    lines = [
        f"MASTER KEYS CHECKLIST for backup {name} (made {manifest['created_at']})",
        "",
        "This backup holds no master key, by design. Item texts, metadata, annotations, predictions,",
        "dataset versions and export files in it are encrypted under per-project data keys, and the",
        "data keys are stored only wrapped by the master keys (MASTER_KEYS). Without the keys listed",
        "below nobody can read this backup's data, you included: that is what keeps a stolen backup",
        "useless, and what makes a backup whose keys were lost worthless.",
        "",
        "Master keys this backup needs (fingerprints, not the keys):",
    ]
    lines += [f"  [ ] {key_id}  wraps the data keys of {count} project(s)" for key_id, count in needed.items()]
    if not needed:
        lines.append("  (none: no project holds a readable data key)")
    lines += [
        f"The primary master key when the backup was made: {current}",
        f"Projects shredded before the backup: {manifest['keys']['shredded_projects']} (unreadable in any backup).",
        "",
        "Where the keys must be kept:",
        "  [ ] In the secret store that sets MASTER_KEYS for the application (comma-separated,",
        "      any order). Without MASTER_KEYS (development only) the key is the file",
        "      DATA_DIR/master.key: copy it to the secret store too, it is not in this backup.",
        "  [ ] A second copy of each key above, offline (e.g. sealed in a safe), held by someone",
        "      other than whoever holds the backups.",
        "  [ ] Never in the same place as the backups: whoever holds both reads everything.",
        "  [ ] Keep every key listed here for as long as this backup is kept, even after",
        "      a re-wrap (`manage.py keys rewrap`) has moved the live data keys to a newer master key.",
        "",
        "`manage.py restore` refuses to start unless MASTER_KEYS holds every key listed above.",
        "See docs/backup.md.",
        "",
    ]
    return "\n".join(lines)


def backup_create(*, actor, parent: Path) -> BackupResult:
    """Write a new backup folder inside ``parent`` (``backup-<UTC time>``), then audit it.

    The folder is built under a ``.partial`` name and renamed when complete, so a folder without
    that suffix is always a whole backup. The database dump comes first: files written after it
    (a newer dataset version, say) may be copied too, and are harmless; files deleted in between
    would be missing, which the restore checks report. The ``backup.create`` event is recorded
    after the dump, so it is in the live trail, not in the backup it describes.
    """
    parent = Path(parent).expanduser().resolve()
    artifact_dir = Path(settings.ARTIFACT_DIR).resolve()
    if parent == artifact_dir or artifact_dir in parent.parents:
        raise BackupError(f"{parent} is inside ARTIFACT_DIR ({artifact_dir}); keep backups elsewhere.")
    database_vendor()
    created = timezone.now()
    name = f"backup-{created:%Y%m%dT%H%M%SZ}"
    final = parent / name
    work = parent / f"{name}.partial"
    if final.exists() or work.exists():
        raise BackupError(f"{final} already exists; wait a second and run the backup again.")
    try:
        work.mkdir(parents=True)
    except OSError as error:
        raise BackupError(f"Cannot create the backup folder {work}: {error}.") from None
    try:
        dump_name, facts = database_dump(work)
        files = {dump_name: file_entry(work / dump_name)}
        files.update(_artifacts_copy(artifact_dir, work))
        manifest = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "created_at": created.isoformat(timespec="seconds"),
            "versions": _versions(),
            "database": {"vendor": connection.vendor, "dump": dump_name},
            "artifact_dir": str(artifact_dir),
            **facts,
            "files": files,
        }
        (work / KEYS_CHECKLIST_NAME).write_text(_checklist(manifest, name))
        manifest_sha256 = manifest_write(work, manifest)
        work.rename(final)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    total = sum(entry["bytes"] for entry in files.values())
    with transaction.atomic():
        audit_record(
            actor=actor,
            action=AuditAction.BACKUP_CREATE,
            details={
                "path": str(final),
                "manifest_sha256": manifest_sha256,
                "files": len(files),
                "bytes": total,
                "audit_head_seq": (facts["audit"]["head"] or {}).get("seq"),
                "master_key_ids": sorted(facts["keys"]["master_key_ids"]),
                "by": operator_name(),
            },
        )
    return BackupResult(path=final, manifest_sha256=manifest_sha256, files=len(files), bytes=total, manifest=manifest)
