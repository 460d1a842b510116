"""The database half of a backup: a consistent dump (pg_dump in custom format, or SQLite's online backup)
with the facts the manifest records, read from the same snapshot, and its load into an empty database."""

import contextlib
import os
import re
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

from django.db import connection, transaction

from governance.models import AuditEvent, ProjectKey
from governance.services.backup.manifest import DUMP_NAMES, BackupError

_TOOL_TIMEOUT_SECONDS = 30


def database_vendor() -> str:
    if connection.vendor not in DUMP_NAMES:
        raise BackupError(
            f"Backups cover PostgreSQL and SQLite; this installation uses {connection.vendor}."
        )
    return connection.vendor


def database_label() -> str:
    """The target as an operator names it (host, port and name; never the password)."""
    params = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"SQLite file {params['NAME']}"
    host = params.get("HOST") or "local socket"
    port = f":{params['PORT']}" if params.get("PORT") else ""
    return f"PostgreSQL database {params['NAME']!r} on {host}{port}"


# --- PostgreSQL client tools --------------------------------------------------------------------


def _tool_major(path: Path) -> int | None:
    try:
        text = subprocess.run(
            [str(path), "--version"], capture_output=True, text=True, timeout=_TOOL_TIMEOUT_SECONDS
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    found = re.search(r"(\d+)(?:\.\d+)?", text)
    return int(found.group(1)) if found else None


def _bin_folders() -> list[Path]:
    """Where PostgreSQL's programs may be: ``pg_config --bindir``, then PATH's, then Debian's per-version folders."""
    folders = []
    pg_config = shutil.which("pg_config")
    if pg_config:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            bindir = subprocess.run(
                [pg_config, "--bindir"], capture_output=True, text=True, timeout=_TOOL_TIMEOUT_SECONDS
            ).stdout.strip()
            if bindir:
                folders.append(Path(bindir))
    for entry in os.get_exec_path():
        folders.append(Path(entry))
    folders += sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
    return folders


def pg_tool(name: str) -> Path:
    """``pg_dump`` or ``pg_restore`` of at least the server's major version (older ones refuse newer servers)."""
    with connection.cursor():
        server_major = connection.pg_version // 10000
    seen = []
    for folder in _bin_folders():
        path = folder / name
        if not path.is_file() or path in seen:
            continue
        seen.append(path)
        major = _tool_major(path)
        if major is not None and major >= server_major:
            return path
    found = ", ".join(str(path) for path in seen) or "none"
    raise BackupError(
        f"No {name} of PostgreSQL {server_major} or later was found (found: {found}). Install the "
        f"server's client tools (on Debian: apt install postgresql-client-{server_major}) so that "
        "`pg_config --bindir` or PATH names them."
    )


def _pg_command(tool: str, *arguments: str) -> tuple[list[str], dict]:
    """The command line and environment that point a PostgreSQL program at this installation's database."""
    params = connection.settings_dict
    command = [str(pg_tool(tool)), *arguments]
    for flag, key in (("--host", "HOST"), ("--port", "PORT"), ("--username", "USER")):
        if params.get(key):
            command += [flag, str(params[key])]
    command += ["--dbname", params["NAME"]]
    # The programs need the whole environment (PATH, locale); the password goes there, never on the
    # command line where other users of the machine could read it.
    environment = dict(os.environ)
    if params.get("PASSWORD"):
        environment["PGPASSWORD"] = str(params["PASSWORD"])
    for option in ("sslmode", "sslrootcert", "sslcert", "sslkey"):
        if params.get("OPTIONS", {}).get(option):
            environment[f"PG{option.upper()}"] = str(params["OPTIONS"][option])
    return command, environment


def _pg_run(tool: str, *arguments: str) -> None:
    command, environment = _pg_command(tool, *arguments)
    result = subprocess.run(command, capture_output=True, text=True, env=environment)
    if result.returncode != 0:
        message = (result.stderr or result.stdout).strip() or f"exit status {result.returncode}"
        raise BackupError(f"{command[0]} failed: {message}")


# --- what the manifest records ------------------------------------------------------------------


def _facts(cursor, tables: list[str]) -> dict:
    """Row counts, applied migrations, the audit chain's head and the master keys in use, read through ``cursor``."""
    quote = connection.ops.quote_name
    counts = {}
    for table in sorted(tables):
        cursor.execute(f"SELECT COUNT(*) FROM {quote(table)}")
        counts[table] = cursor.fetchone()[0]
    migrations = []
    if "django_migrations" in tables:
        cursor.execute('SELECT app, name FROM "django_migrations" ORDER BY app, name')
        migrations = [list(row) for row in cursor.fetchall()]
    head = None
    audit_table = AuditEvent._meta.db_table
    if audit_table in tables:
        cursor.execute(f'SELECT "seq", "hash" FROM {quote(audit_table)} ORDER BY "seq" DESC LIMIT 1')
        row = cursor.fetchone()
        head = {"seq": row[0], "hash": row[1]} if row else None
    in_use, shredded = {}, 0
    key_table = ProjectKey._meta.db_table
    if key_table in tables:
        cursor.execute(
            f'SELECT "master_key_id", COUNT(*) FROM {quote(key_table)} '
            'WHERE "wrapped_key" IS NOT NULL GROUP BY "master_key_id" ORDER BY "master_key_id"'
        )
        in_use = {key_id: count for key_id, count in cursor.fetchall()}
        cursor.execute(f'SELECT COUNT(*) FROM {quote(key_table)} WHERE "wrapped_key" IS NULL')
        shredded = cursor.fetchone()[0]
    return {
        "counts": counts,
        "migrations": migrations,
        "audit": {"head": head, "events": counts.get(audit_table, 0)},
        "keys": {"master_key_ids": in_use, "shredded_projects": shredded},
    }


def _sqlite_tables(handle: sqlite3.Connection) -> list[str]:
    rows = handle.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
    return [name for (name,) in rows]


def database_dump(folder: Path) -> tuple[str, dict]:
    """Dump the database into ``folder``; return the dump's file name and the facts read from the same snapshot.

    PostgreSQL: a read-only repeatable-read transaction exports its snapshot and pg_dump reads that
    very snapshot, so the counts and the audit head recorded describe exactly what the dump holds,
    however busy the installation. SQLite: the online backup API copies the database page by page
    while it stays in use, and the facts are read from the copy.
    """
    vendor = database_vendor()
    name = DUMP_NAMES[vendor]
    target = folder / name
    if vendor == "postgresql":
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            cursor.execute("SELECT pg_export_snapshot()")
            snapshot = cursor.fetchone()[0]
            _pg_run("pg_dump", "--format=custom", f"--snapshot={snapshot}", "--file", str(target))
            facts = _facts(cursor, connection.introspection.table_names(cursor))
        return name, facts
    connection.ensure_connection()
    copy = sqlite3.connect(target)
    try:
        connection.connection.backup(copy)
        # One self-contained file: a copy in WAL mode would need its -wal and -shm files beside it.
        copy.execute("PRAGMA journal_mode=DELETE")
        facts = _facts(copy.cursor(), _sqlite_tables(copy))
    finally:
        copy.close()
    return name, facts


# --- restoring ----------------------------------------------------------------------------------


def database_tables() -> list[str]:
    """The tables the configured database holds now (empty for a fresh database)."""
    with connection.cursor() as cursor:
        return connection.introspection.table_names(cursor)


def database_clear() -> None:
    """Drop every table of the configured database (``restore --replace``), in one transaction."""
    quote = connection.ops.quote_name
    tables = database_tables()
    if connection.vendor == "sqlite":
        # The online backup replaces the whole file; nothing needs dropping first.
        return
    with transaction.atomic(), connection.cursor() as cursor:
        if tables:
            cursor.execute(f"DROP TABLE {', '.join(quote(table) for table in tables)} CASCADE")


@contextlib.contextmanager
def _sqlite_source(path: Path) -> Iterator[sqlite3.Connection]:
    handle = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        yield handle
    finally:
        handle.close()


def database_load(dump: Path, *, vendor: str, clean: bool = False) -> None:
    """Load ``dump`` into the configured, empty database; on PostgreSQL all or nothing (one transaction).

    ``clean`` (after database_clear) also drops what dropping the tables leaves behind under the
    dump's names, such as the audit trail's trigger functions.
    """
    if vendor != database_vendor():
        raise BackupError(
            f"This backup holds a {vendor} database and the target is {database_label()}; a backup "
            f"restores into the kind of database it was made from (set DATABASE_URL to a {vendor} database)."
        )
    if vendor == "postgresql":
        extra = ["--clean", "--if-exists"] if clean else []
        _pg_run(
            "pg_restore", "--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction", *extra, str(dump)
        )
        return
    connection.close()
    with _sqlite_source(dump) as source:
        target = sqlite3.connect(connection.settings_dict["NAME"])
        try:
            source.backup(target)
        finally:
            target.close()
