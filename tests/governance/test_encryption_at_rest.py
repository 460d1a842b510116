"""Sentinel scan: after import, labelling and export, no sensitive string is anywhere in the stored database."""

import io
import json
import os
import subprocess
import uuid
from pathlib import Path

import pytest
from django.db import connection

from annotation.services.annotations import annotation_submit, item_skip
from annotation.services.exports import annotations_export
from annotation.services.imports import items_import
from annotation.services.queue import queue_next_item
from governance.roles import ProjectRole
from tests.factories import project_make, user_make

RUN = uuid.uuid4().hex[:12]
TEXT_SENTINELS = [f"SENTINEL-TEXT-{RUN}-{n}" for n in range(4)]
META_SENTINELS = [f"SENTINEL-META-{RUN}-{n}" for n in range(4)]
SKIP_SENTINEL = f"SENTINEL-SKIP-{RUN}"
SENTINELS = [*TEXT_SENTINELS, *META_SENTINELS, SKIP_SENTINEL]
# Stored in clear on purpose (a project name is configuration, not content): proves the scan sees the data.
PROJECT_NAME = f"Visible project name {RUN}"


def _stored_forms(sentinel: str) -> list[bytes]:
    # The raw bytes, and the hex that pg_dump prints for a bytea column holding them.
    return [sentinel.encode(), sentinel.encode().hex().encode()]


def _populate() -> bytes:
    manager, annotator = user_make(f"m{RUN}"), user_make(f"a{RUN}")
    project = project_make(
        manager=manager, name=PROJECT_NAME, members={annotator: ProjectRole.ANNOTATOR}
    )
    rows = [
        {"id": f"row-{n}", "text": f"Patient {text} reported pain.", "meta": {"ward": meta, "n": n}}
        for n, (text, meta) in enumerate(zip(TEXT_SENTINELS, META_SENTINELS))
    ]
    stream = io.BytesIO("".join(json.dumps(row) + "\n" for row in rows).encode())
    assert (
        items_import(actor=manager, project=project, stream=stream, filename="ward.jsonl").created
        == 4
    )
    for _ in range(3):  # rows 0-2 labelled (and so exported), row 3 skipped
        item = queue_next_item(actor=annotator, project=project)
        annotation_submit(
            actor=annotator, item=item, value={"labels": ["negative"]}, lead_time_ms=500
        )
    item_skip(
        actor=annotator,
        item=queue_next_item(actor=annotator, project=project),
        reason=SKIP_SENTINEL,
    )
    return b"".join(annotations_export(actor=manager, project=project, fmt="jsonl"))


def _sqlite_files() -> list[Path]:
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    database = Path(connection.settings_dict["NAME"])
    files = [
        database,
        Path(f"{database}-wal"),
        Path(f"{database}-shm"),
        Path(f"{database}-journal"),
    ]
    return [path for path in files if path.exists()]


def _pg_dump() -> bytes:
    db = connection.settings_dict
    command = ["pg_dump", "--no-owner", "--dbname", db["NAME"]]
    for flag, key in (("--host", "HOST"), ("--port", "PORT"), ("--username", "USER")):
        if db.get(key):
            command += [flag, str(db[key])]
    environment = {**os.environ, "PGPASSWORD": db.get("PASSWORD") or ""}
    result = subprocess.run(command, capture_output=True, env=environment, timeout=120)
    assert result.returncode == 0, result.stderr.decode()
    return result.stdout


@pytest.mark.django_db(transaction=True)
def test_no_sentinel_from_texts_metadata_or_skip_reasons_is_stored_in_clear():
    exported = _populate()
    # The export hands the plaintext to the user who asked for it, so the data did go in and out.
    assert all(
        sentinel.encode() in exported for sentinel in TEXT_SENTINELS[:3] + META_SENTINELS[:3]
    )

    if connection.vendor == "sqlite":
        files = _sqlite_files()
        stored = b"".join(path.read_bytes() for path in files)
        where = ", ".join(str(path) for path in files)
    elif connection.vendor == "postgresql":
        stored = _pg_dump()
        where = f"pg_dump of {connection.settings_dict['NAME']}"
    else:
        pytest.fail(f"No raw-storage scan written for the {connection.vendor} backend.")

    assert PROJECT_NAME.encode() in stored, f"the scan of {where} does not see committed data"
    leaked = [
        sentinel
        for sentinel in SENTINELS
        if any(form in stored for form in _stored_forms(sentinel))
    ]
    assert not leaked, f"plaintext found in {where}: {leaked}"
