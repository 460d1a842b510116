"""A backup folder's layout, its manifest of file hashes, and the checks that it is whole before anything is restored."""

import hashlib
import json
import shutil
from pathlib import Path

FORMAT = "sensitive-annotator-backup"
FORMAT_VERSION = 1
MANIFEST_NAME = "manifest.json"
KEYS_CHECKLIST_NAME = "MASTER-KEYS-CHECKLIST.txt"
ARTIFACTS_FOLDER = "artifacts"
# One name per database vendor: the dump a backup holds tells which kind of database it restores into.
DUMP_NAMES = {"postgresql": "database.pgdump", "sqlite": "database.sqlite3"}
_READ_BYTES = 1 << 20
# How many problems one refusal lists; the rest are counted.
_SHOWN = 5


class BackupError(Exception):
    """A backup could not be made or restored; the message says what, where, and the state left behind."""


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_READ_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


def file_copy_hashed(source: Path, target: Path) -> tuple[str, int]:
    """Copy ``source`` to ``target`` reading it once; return the sha256 and size of what was copied."""
    digest = hashlib.sha256()
    size = 0
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(source, "rb") as reader, open(target, "wb") as writer:
        while chunk := reader.read(_READ_BYTES):
            digest.update(chunk)
            writer.write(chunk)
            size += len(chunk)
    shutil.copystat(source, target)
    return digest.hexdigest(), size


def file_entry(path: Path) -> dict:
    return {"sha256": file_sha256(path), "bytes": path.stat().st_size}


def manifest_write(folder: Path, manifest: dict) -> str:
    """Write the manifest into ``folder``; return its own sha256 (printed and audited, to tell it was not swapped)."""
    path = folder / MANIFEST_NAME
    path.write_text(json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False) + "\n")
    return file_sha256(path)


def manifest_read(folder: Path) -> tuple[dict, str]:
    """The manifest of the backup in ``folder`` and its sha256; refused unless it is one this code can restore."""
    if not folder.is_dir():
        raise BackupError(f"{folder} is not a folder; give the path of a backup folder made by `manage.py backup`.")
    path = folder / MANIFEST_NAME
    if not path.is_file():
        raise BackupError(f"{folder} holds no {MANIFEST_NAME}: it is not a backup, or the backup is incomplete.")
    try:
        manifest = json.loads(path.read_text())
    except (ValueError, UnicodeDecodeError) as error:
        raise BackupError(f"{path} is not readable JSON ({error}); the backup is damaged.") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError(f"{path} is not the manifest of a Sensitive Annotator backup.")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise BackupError(
            f"{path} has backup format version {manifest.get('format_version')!r}; this code restores "
            f"version {FORMAT_VERSION} only. Restore it with the release that made it."
        )
    for key in ("files", "database", "counts", "migrations", "audit", "keys", "artifact_dir"):
        if key not in manifest:
            raise BackupError(f"{path} lacks its {key!r} entry; the backup is damaged.")
    return manifest, file_sha256(path)


def _listed(problems: list[str]) -> str:
    shown = "; ".join(problems[:_SHOWN])
    more = len(problems) - _SHOWN
    return shown + (f"; and {more} more" if more > 0 else "")


def backup_files_verify(folder: Path, manifest: dict) -> int:
    """Check every file the manifest lists against its size and sha256, and that no other file is there.

    Nothing is written; a refusal names the files. Returns the bytes checked.
    """
    problems = []
    checked = 0
    listed = manifest["files"]
    for name, entry in sorted(listed.items()):
        path = folder / name
        if ".." in Path(name).parts or Path(name).is_absolute():
            problems.append(f"{name}: not a path inside the backup")
            continue
        if not path.is_file():
            problems.append(f"{name} is missing")
            continue
        if path.stat().st_size != entry["bytes"]:
            problems.append(f"{name} has {path.stat().st_size} bytes, the manifest says {entry['bytes']}")
            continue
        actual = file_sha256(path)
        if actual != entry["sha256"]:
            problems.append(f"{name} has sha256 {actual[:16]}…, the manifest says {entry['sha256'][:16]}…")
            continue
        checked += entry["bytes"]
    # The checklist is for people to tick, so it is not hashed.
    known = set(listed) | {MANIFEST_NAME, KEYS_CHECKLIST_NAME}
    extra = sorted(
        str(path.relative_to(folder))
        for path in folder.rglob("*")
        if path.is_file() and str(path.relative_to(folder)) not in known
    )
    problems += [f"{name} is not in the manifest" for name in extra]
    if problems:
        raise BackupError(
            f"The backup in {folder} does not match its manifest: {_listed(problems)}. Nothing was restored; "
            "restore from another copy of this backup, or from another backup."
        )
    return checked
