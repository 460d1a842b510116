"""Fill one bench database: an audit history of N events loaded by COPY, then the same labelling project in each.

Runs inside a Django process whose DATABASE_URL is the database to fill (audit_scale.py starts one
per database). The history comes first, dated over the years before now, seq 1..N, its chain
from the genesis hash; then the bench's accounts, a 10,000-item project and its import are made
through the app's own services, so their events are appended by governance.audit on top of it.
The secondary indexes are dropped for the COPY and built again after it (as pg_restore does).
"""

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench._audit_events import COLUMNS, TrailSpec, trail

TABLE = "governance_auditevent"
PROJECT_NAME = "audit-scale N={items}"
LABELS = ["World", "Sports", "Business", "SciTech"]


def _secondary_indexes(cursor) -> list[tuple[str, str]]:
    """(drop, create) statements of the table's indexes and unique constraints but its primary key."""
    cursor.execute(
        "SELECT c.relname, pg_get_indexdef(i.indexrelid), con.conname, pg_get_constraintdef(con.oid) "
        "FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
        "LEFT JOIN pg_constraint con ON con.conindid = i.indexrelid AND con.conrelid = i.indrelid "
        "WHERE i.indrelid = %s::regclass AND NOT i.indisprimary",
        [TABLE],
    )
    found = []
    for index, indexdef, constraint, constraintdef in cursor.fetchall():
        if constraint:
            found.append((f'ALTER TABLE {TABLE} DROP CONSTRAINT "{constraint}"',
                          f'ALTER TABLE {TABLE} ADD CONSTRAINT "{constraint}" {constraintdef}'))  # fmt: skip
        else:
            found.append((f'DROP INDEX "{index}"', indexdef))
    return found


def history_load(*, events: int, end: datetime) -> dict:
    """COPY ``events`` chained events into the empty trail; seconds for each step."""
    from django.db import connection, transaction

    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM (SELECT 1 FROM {TABLE} LIMIT 1) AS t")
        if cursor.fetchone()[0]:
            raise SystemExit(f"{TABLE} is not empty: fill a fresh database (--rebuild drops the bench databases)")
    timings: dict = {}
    t0 = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL maintenance_work_mem = '1GB'")
        indexes = _secondary_indexes(cursor)
        # Constraints before the indexes they need (the hash's LIKE index is separate from its key).
        for drop, _ in indexes:
            cursor.execute(drop)
        head = None
        copy_sql = f"COPY {TABLE} ({', '.join(COLUMNS)}) FROM STDIN"
        buffer: list[str] = []
        with cursor.cursor.copy(copy_sql) as copy:
            for line, digest in trail(TrailSpec(events=events, end=end)):
                buffer.append(line)
                if len(buffer) == 5000:
                    copy.write("".join(buffer))
                    buffer.clear()
                head = digest
            if buffer:
                copy.write("".join(buffer))
        timings["generate_and_copy_s"] = round(time.perf_counter() - t0, 1)
        t1 = time.perf_counter()
        for _, create in sorted(indexes, key=lambda pair: "CONSTRAINT" not in pair[1]):
            cursor.execute(create)
        timings["indexes_s"] = round(time.perf_counter() - t1, 1)
        cursor.execute(f"SELECT setval(pg_get_serial_sequence('{TABLE}', 'seq'), %s)", [events])
    t2 = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {TABLE}")
    timings["analyze_s"] = round(time.perf_counter() - t2, 1)
    timings["head_hash"] = head
    timings["total_s"] = round(time.perf_counter() - t0, 1)
    return timings


def app_setup(*, items: int, annotators: int, work: Path) -> dict:
    """The bench's accounts (tokens, an auditor's session) and its project, made by the services."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.test import Client

    from annotation.models import ImportJob
    from annotation.services.import_jobs import import_job_create, import_job_run
    from annotation.services.projects import project_create
    from bench import peer_adapter
    from bench.labelling_loop import accounts_create
    from common.jobs.models import JobStatus
    from governance.models import AuditVerification
    from governance.roles import GlobalRole, ProjectRole
    from governance.services.membership import membership_set
    from projects.models import Project

    tokens = accounts_create(annotators)
    User = get_user_model()
    admin = User.objects.get(username=tokens["admin"]["username"])
    name = PROJECT_NAME.format(items=items)
    project = Project.objects.filter(name=name).order_by("-id").first()
    setup: dict = {"reused_project": project is not None}
    if project is None:
        project = project_create(actor=admin, name=name, labels=[{"name": label} for label in LABELS])
        for entry in tokens["annotators"]:
            membership_set(actor=admin, project=project, user=User.objects.get(username=entry["username"]), role=ProjectRole.ANNOTATOR)
        texts = peer_adapter.bench_peers.make_texts(items)
        path = work / "tasks.jsonl"
        path.write_text("".join(json.dumps({"text": text}) + "\n" for text in texts))
        t0 = time.perf_counter()
        with path.open("rb") as stream:
            job = import_job_create(actor=admin, project=project, stream=stream, filename=path.name)
        import_job_run(job_id=job.pk)
        job = ImportJob.objects.get(pk=job.pk)
        if job.status != JobStatus.SUCCEEDED:
            raise SystemExit(f"the import of {items} items ended {job.status}: {job.error}")
        setup["import_s"] = round(time.perf_counter() - t0, 1)
    auditor, _ = User.objects.get_or_create(username="bench-auditor")
    auditor.groups.add(Group.objects.get_or_create(name=GlobalRole.AUDITOR)[0])
    # A finished verification for the verification fragment to show (no worker walks 10M events here).
    verification = AuditVerification.objects.filter(requested_by=auditor).order_by("-id").first()
    verification = verification or AuditVerification.objects.create(requested_by=auditor, status=JobStatus.SUCCEEDED, intact=True)
    client = Client()
    client.force_login(auditor)
    setup.update(project_id=project.pk, tokens=tokens, auditor_session=client.cookies["sessionid"].value,
                 verification_id=verification.pk)  # fmt: skip
    return setup


def sizes() -> dict:
    """Rows and on-disk size of the trail: the table, its TOAST, each index."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT pg_relation_size('{TABLE}'), pg_total_relation_size('{TABLE}'), pg_indexes_size('{TABLE}'), "
            f"(SELECT max(seq) FROM {TABLE})"
        )
        table, total, indexes, last = cursor.fetchone()
        cursor.execute(
            "SELECT c.relname, pg_relation_size(c.oid) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
            "WHERE i.indrelid = %s::regclass ORDER BY 2 DESC",
            [TABLE],
        )
        per_index = {name: round(size / 2**20, 1) for name, size in cursor.fetchall()}
        cursor.execute("SELECT pg_database_size(current_database())")
        database = cursor.fetchone()[0]
    mib = 2**20
    return {
        "events": last,
        "table_mib": round(table / mib, 1),
        "indexes_mib": round(indexes / mib, 1),
        "total_mib": round(total / mib, 1),
        "index_mib": per_index,
        "database_mib": round(database / mib, 1),
    }


def fill(*, events: int, items: int, annotators: int, out: Path) -> dict:
    """Load the history if the trail is empty, make (or reuse) the app data, ANALYZE; write ``out``."""
    from django.db import connection

    from bench._browser_app import migrate_if_needed

    migrated = migrate_if_needed()
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT max(seq) FROM {TABLE}")
        last = cursor.fetchone()[0] or 0
    result: dict = {"migrated": migrated}
    if last == 0:
        end = datetime.now(UTC).replace(microsecond=0) - timedelta(days=1)
        result["history"] = history_load(events=events, end=end)
    elif last < events:
        raise SystemExit(f"the trail holds {last} events, fewer than the {events} asked for: run with --rebuild")
    else:
        result["history"] = {"reused": True}
    result["setup"] = app_setup(items=items, annotators=annotators, work=out.parent)
    t0 = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {TABLE}, annotation_item, annotation_annotation, annotation_itemlock")
    result["analyze_s"] = round(time.perf_counter() - t0, 1)
    result["sizes"] = sizes()
    out.write_text(json.dumps(result))
    out.chmod(0o600)
    return result
