"""What a restore checks once the data is back, and where higher apps register their own checks and stored paths.

Governance checks what it owns (row counts, migrations, the audit chain, the data keys); annotation
and training register theirs in their AppConfig.ready() (texts open, dataset versions verify, models
load), so this kernel module imports nothing above it. They also register the columns that hold
absolute paths into ARTIFACT_DIR, rewritten when a backup is restored under another folder.
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.db import connection, transaction
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.recorder import MigrationRecorder
from django.db.models import Value
from django.db.models.functions import Concat, Substr

from governance import keyring
from governance.audit import audit_chain_verify
from governance.models import AuditEvent, ProjectKey


@dataclass(frozen=True)
class CheckOutcome:
    name: str
    ok: bool
    detail: str


# (name, function() -> (ok, detail)), run in the order registered after governance's own.
_checks: list[tuple[str, Callable[[], tuple[bool, str]]]] = []
# (model, field name) of columns holding absolute paths under ARTIFACT_DIR.
_path_fields: list[tuple[type, str]] = []


def restore_check_register(name: str, function: Callable[[], tuple[bool, str]]) -> None:
    """Have ``function()`` run after every restore; it returns (ok, what it found), or raises (a failure)."""
    if all(registered is not function for _, registered in _checks):
        _checks.append((name, function))


def artifact_path_field_register(model: type, field: str) -> None:
    """Declare that ``model.field`` stores absolute paths under ARTIFACT_DIR (moved on restore)."""
    if (model, field) not in _path_fields:
        _path_fields.append((model, field))


def artifact_paths_move(*, old_root: str, new_root: str) -> dict[str, int]:
    """Point stored paths under ``old_root`` at ``new_root``, in one transaction; rows changed per column."""
    moved = {}
    if old_root.rstrip("/") == new_root.rstrip("/"):
        return moved
    old, new = old_root.rstrip("/") + "/", new_root.rstrip("/") + "/"
    with transaction.atomic():
        for model, field in _path_fields:
            rows = model.objects.filter(**{f"{field}__startswith": old}).update(
                **{field: Concat(Value(new), Substr(field, len(old) + 1))}
            )
            moved[f"{model._meta.label}.{field}"] = rows
    return moved


def _counts(manifest: dict) -> tuple[bool, str]:
    quote = connection.ops.quote_name
    different = []
    with connection.cursor() as cursor:
        for table, expected in sorted(manifest["counts"].items()):
            cursor.execute(f"SELECT COUNT(*) FROM {quote(table)}")
            found = cursor.fetchone()[0]
            if found != expected:
                different.append(f"{table}: {found} rows, the backup had {expected}")
    if different:
        return False, "; ".join(different)
    return True, f"{len(manifest['counts'])} tables, {sum(manifest['counts'].values())} rows, as in the backup"


def migrations_pending(applied) -> list[tuple[str, str]]:
    """Migrations this code has that ``applied`` (pairs of app and name) lacks."""
    known = set(MigrationLoader(None, ignore_no_migrations=True).disk_migrations)
    return sorted(known - {tuple(pair) for pair in applied})


def _migrations(manifest: dict) -> tuple[bool, str]:
    applied = {tuple(pair) for pair in MigrationRecorder(connection).applied_migrations()}
    recorded = {tuple(pair) for pair in manifest["migrations"]}
    if applied != recorded:
        return False, f"{len(applied)} migrations applied, the backup recorded {len(recorded)}"
    pending = migrations_pending(applied)
    if pending:
        names = ", ".join(f"{app}.{name}" for app, name in pending[:5])
        return True, f"{len(applied)} applied, as in the backup; {len(pending)} newer in this code ({names})"
    return True, f"{len(applied)} applied, as in the backup; none pending"


def _audit_head(manifest: dict) -> tuple[bool, str]:
    """The trail ends where the backup's did (read in SQL: the table may predate this code's model)."""
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            f'SELECT "seq", "hash" FROM {quote(AuditEvent._meta.db_table)} ORDER BY "seq" DESC LIMIT 1'
        )
        row = cursor.fetchone()
    head = {"seq": row[0], "hash": row[1]} if row else None
    expected = manifest["audit"]["head"]
    if head != expected:
        return False, f"the last event is {head}, the backup's was {expected}"
    return True, f"last event #{head['seq']} {head['hash'][:16]}…, as in the backup" if head else "no events, as in the backup"


def _audit_chain(manifest: dict) -> tuple[bool, str]:
    report = audit_chain_verify()
    if not report.ok:
        return False, f"broken at event #{report.first_broken_seq}: {report.reason}"
    return True, f"{report.checked} events verified"


def _data_keys(manifest: dict) -> tuple[bool, str]:
    keyring.cache_clear()
    unwrapped, shredded, failed = 0, 0, []
    for key in ProjectKey.objects.order_by("project_id"):
        if key.is_shredded:
            shredded += 1
            continue
        try:
            keyring.data_key_unwrapped(key)
            unwrapped += 1
        except Exception as error:  # each project's outcome is reported, not the first failure only
            failed.append(f"project {key.project_id}: {error}")
    if failed:
        return False, "; ".join(failed[:5])
    expected = manifest["keys"]["shredded_projects"]
    if shredded != expected:
        return False, f"{unwrapped} open; {shredded} shredded, the backup had {expected}"
    return True, f"{unwrapped} project data keys open with MASTER_KEYS; {shredded} shredded, as in the backup"


def _run(checks) -> list[CheckOutcome]:
    outcomes = []
    for name, function in checks:
        try:
            ok, detail = function()
        except Exception as error:  # a check that cannot run has failed, and says why
            ok, detail = False, f"{type(error).__name__}: {error}"
        outcomes.append(CheckOutcome(name=name, ok=ok, detail=detail))
    return outcomes


def loaded_checks_run(*, manifest: dict) -> list[CheckOutcome]:
    """What can be compared with the manifest in plain SQL, right after loading, before any migration."""
    return _run(
        [
            ("Row counts", lambda: _counts(manifest)),
            ("Migrations", lambda: _migrations(manifest)),
            ("Audit head", lambda: _audit_head(manifest)),
        ]
    )


def restore_checks_run(*, manifest: dict) -> list[CheckOutcome]:
    """Checks through the application's models (so after migrations): governance's, then those registered.

    One failing (or raising) does not stop the others.
    """
    return _run(
        [
            ("Audit chain", lambda: _audit_chain(manifest)),
            ("Data keys", lambda: _data_keys(manifest)),
            *_checks,
        ]
    )
