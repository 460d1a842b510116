"""This app's side of the item-browser benchmark: the project, the timed pages, the count's plan.

The project is built through the real import path (a Label Studio JSON file given to
``import_job_create``, then ``import_job_run``, the service the Celery task calls, run here in
this process): encryption, exact dedup, the personal-data scan (policy "keep": findings listed),
near-duplicate links, the imported answers and suggestions, and whatever else the import writes
(the word index). Pages are requested in-process through Django's test ``Client`` with a
logged-in manager: the time is the whole server side (middleware, session, permission gate,
queries, decryption, the audited read, rendering), without the HTTP exchange.
"""

import re
import time
from pathlib import Path
from urllib.parse import urlencode

from bench import _browser_corpus as corpus

ANALYZED = (
    "annotation_item", "annotation_annotation", "annotation_prediction", "annotation_piifinding",
    "annotation_itemword", "auth_user",
)  # fmt: skip
# Tables whose whole-table read by a page would mean the page grows with the project.
_ITEM_COUNT = re.compile(r'<p id="item-count">(.*?)(?:<a |</p>)', re.DOTALL)
_COUNT = re.compile(r"\s*SELECT\s+COUNT\(\*\)", re.IGNORECASE)
BIG_TABLES = (
    "annotation_item",
    "annotation_annotation",
    "annotation_prediction",
    "annotation_itemword",
    "annotation_piifinding",
)


def migrate_if_needed() -> list[str]:
    """Apply this checkout's migrations to the bench database (the other helpers add some)."""
    from django.core.management import call_command
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    if plan:
        call_command("migrate", verbosity=0)
    return [f"{migration.app_label}.{migration.name}" for migration, _ in plan]


def manager():
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Permission

    user, _ = get_user_model().objects.get_or_create(username="bench-browser")
    user.user_permissions.add(Permission.objects.get(codename="add_project"))
    return user


def project_name(n: int) -> str:
    return f"browser-bench N={n} seed={corpus.SEED}"


def _statistics_refresh() -> float | None:
    """VACUUM (ANALYZE) the tables the pages read, as autovacuum would soon after the import.

    This machine's PostgreSQL runs with autovacuum off (see bench/README.md, labelling loop).
    Without ANALYZE the planner takes the fresh rows for an empty project; without VACUUM the
    visibility map is empty, so every index-only scan of the word index fetches its heap rows too.
    """
    from django.db import connection

    if connection.vendor != "postgresql":
        return None
    tables = [t for t in ANALYZED if t in connection.introspection.table_names()]
    t0 = time.perf_counter()
    with connection.cursor() as cursor:
        # VACUUM cannot run in a transaction (the tests' database): ANALYZE alone there.
        command = "ANALYZE " if connection.in_atomic_block else "VACUUM (ANALYZE) "
        cursor.execute(command + ", ".join(tables))
    return round(time.perf_counter() - t0, 2)


def project_build(actor, n: int, tasks: list[dict], work: Path, rebuild: bool = False) -> dict:
    """The N-item project, imported now, or the one an earlier run imported from the same tasks."""
    from annotation.models import ImportJob, Item
    from annotation.services.import_jobs import import_job_create, import_job_run
    from annotation.services.import_policies import import_policy_update
    from annotation.services.projects import project_create
    from common.jobs.models import JobStatus
    from projects.models import PiiPolicy, Project

    name = project_name(n)
    earlier = Project.objects.filter(name=name).order_by("-id").first()
    if earlier and not rebuild and Item.objects.filter(project=earlier).count() == n:
        return {
            "project_id": earlier.pk,
            "reused": True,
            **project_contents(earlier),
            "vacuum_analyze_s": _statistics_refresh(),
        }
    if earlier:
        name = f"{name} ({time.time():.0f})"
    project = project_create(
        actor=actor, name=name, labels=[{"name": label} for label in corpus.LABELS], overlap=2
    )
    project = import_policy_update(
        actor=actor,
        project=project,
        cleaning_policy={},
        pii_policy=PiiPolicy.KEEP,
        neardup_threshold=0.8,
    )
    path = corpus.tasks_write(work / f"browser-tasks-{n}.json", tasks)
    t0 = time.perf_counter()
    with path.open("rb") as stream:
        job = import_job_create(
            actor=actor, project=project, stream=stream, filename=path.name, fmt="labelstudio",
            create_missing_labels=True,
        )  # fmt: skip
    import_job_run(job_id=job.pk)
    # The near-duplicate links follow the import in a pass of their own, as a worker runs it next.
    from annotation.models import NearDupJob
    from annotation.services.neardup_jobs import neardup_job_run

    for near in NearDupJob.objects.filter(import_job_id=job.pk):
        neardup_job_run(job_id=near.pk)
    seconds = time.perf_counter() - t0
    job = ImportJob.objects.get(pk=job.pk)
    if job.status != JobStatus.SUCCEEDED:
        raise RuntimeError(f"import of {n} items ended {job.status}: {job.error}")
    if project.name != project_name(n):  # a rebuild: the new project takes the plain name
        Project.objects.filter(name=project_name(n)).exclude(pk=project.pk).update(
            name=f"{project_name(n)} (old {time.time():.0f})"
        )
        Project.objects.filter(pk=project.pk).update(name=project_name(n))
    return {
        "project_id": project.pk, "reused": False, "import_s": round(seconds, 1),
        "import_rows_per_s": round(n / seconds, 1), **project_contents(project), "vacuum_analyze_s": _statistics_refresh(),
    }  # fmt: skip


def project_contents(project) -> dict:
    """How many rows of each kind the project holds (what the filters select from)."""
    from django.apps import apps

    from annotation.models import Annotation, Item, PiiFinding, Prediction

    items = Item.objects.filter(project=project)
    contents = {
        "items": items.count(),
        "done": items.filter(is_done=True, is_gold=False).count(),
        "in_progress": items.filter(is_done=False, annotation_count__gt=0).count(),
        "annotations": Annotation.objects.filter(project=project).count(),
        "predictions": Prediction.objects.filter(project=project).count(),
        "pii_findings": PiiFinding.objects.filter(project=project).count(),
        "items_with_pii": PiiFinding.objects.filter(project=project)
        .values("item")
        .distinct()
        .count(),
        "near_duplicates": items.filter(duplicate_of__isnull=False).count(),
    }
    try:
        word_model = apps.get_model("annotation", "ItemWord")
        contents["word_index_rows"] = word_model.objects.filter(project=project).count()
    except LookupError:
        contents["word_index_rows"] = None
    return contents


def annotator_username(project, email: str) -> str:
    """The placeholder account the import credited ``email``'s answers to."""
    from django.contrib.auth import get_user_model

    from annotation.services.import_rows import ImportedRows
    from governance.keyring import project_cipher

    user_id = ImportedRows(project, project_cipher(project.pk)).annotator_id(email)
    return get_user_model().objects.get(pk=user_id).username


class AppPages:
    """Times this app's item browser pages in-process, as the project's manager."""

    def __init__(self, project_id: int, user, page_size: int):
        from django.test import Client

        from projects.models import Project

        self.project = Project.objects.get(pk=project_id)
        self.client = Client(HTTP_HOST="127.0.0.1")
        self.client.force_login(user)
        self.page_size = page_size

    def url(self, kind: str, params: dict) -> str | None:
        """The page's URL, or None where this checkout has no such page yet."""
        from django.urls import NoReverseMatch, reverse

        # api_count: the API page with its count (with_count=true), as Label Studio's page has its
        # total; html_count: the count the HTML page loads after its rows.
        name = {"html": "annotation:items", "api": "api:items", "api_count": "api:items",
                "html_count": "annotation:items-count"}[kind]  # fmt: skip
        try:
            base = reverse(name, args=[self.project.pk])
        except NoReverseMatch:
            return None
        query = {**params, "page_size": self.page_size}
        if kind == "api_count":
            query["with_count"] = "true"
        return base + ("?" + urlencode(query) if query else "")

    def get(self, url: str) -> tuple[float, object]:
        t0 = time.perf_counter()
        response = self.client.get(url)
        ms = (time.perf_counter() - t0) * 1000
        if response.status_code != 200:
            raise RuntimeError(
                f"GET {url} answered {response.status_code}: {response.content[:300]!r}"
            )
        return ms, response

    def describe(self, kind: str, url: str) -> dict:
        """One untimed request: rows shown, the count the page states, statements run."""
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as queries:
            ms, response = self.get(url)
        statements = [q["sql"] for q in queries.captured_queries]
        # Where this one request's time went: waiting on its statements, or the rest (Python).
        sql_ms = sum(float(q["time"]) for q in queries.captured_queries) * 1000
        out = {
            "statements": len(statements),
            "described_ms": round(ms, 1),
            "described_sql_ms": round(sql_ms, 1),
        }
        if kind in ("api", "api_count"):
            body = response.json()
            rows = body.get("results", body.get("items")) if isinstance(body, dict) else body
            out["rows"] = len(rows) if isinstance(rows, list) else None
            out["stated_count"] = (
                {k: v for k, v in body.items() if k not in ("results", "items")}
                if isinstance(body, dict)
                else None
            )
        else:
            out["html_bytes"] = len(response.content)
            # What the page says about the count (its #item-count paragraph), in words.
            found = _ITEM_COUNT.search(response.content.decode())
            out["stated_count"] = (
                " ".join(re.sub(r"<[^>]+>", " ", found.group(1)).split()) if found else None
            )
        out["_sql"] = statements
        return out


def explain(statements: list[str], project_items: int) -> list[dict]:
    """EXPLAIN ANALYZE of each SELECT a page ran that reads a big table: rows each read, whole-table scans."""
    from django.db import connection

    plans = []
    if connection.vendor != "postgresql":  # the plans read here are PostgreSQL's
        return plans
    for sql in statements:
        head = sql.lstrip().upper()
        if (
            not head.startswith("SELECT")
            or " FOR UPDATE" in head
            or not any(t in sql for t in BIG_TABLES)
        ):
            continue
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + sql)
            plan = cursor.fetchone()[0]
            plan = plan[0] if isinstance(plan, list) else plan
            cursor.execute("EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) " + sql)
            text = "\n".join(row[0] for row in cursor.fetchall())
        read, seq = {}, set()
        _walk(plan["Plan"], read, seq)
        plans.append({
            "sql": sql if len(sql) < 1500 else sql[:1500] + " …",
            # The page's count of matches (its outermost SELECT is a COUNT), not a per-row count.
            "is_count": bool(_COUNT.match(sql)),
            "execution_ms": round(plan.get("Execution Time", 0.0), 2),
            "rows_read": read,
            "item_rows_read": read.get("annotation_item", 0),
            "share_of_project_items": round(read.get("annotation_item", 0) / max(project_items, 1), 3),
            "seq_scans": sorted(seq),
            "plan": text,
        })  # fmt: skip
    return plans


def _walk(node: dict, read: dict, seq: set) -> None:
    table = node.get("Relation Name")
    if table:
        loops = node.get("Actual Loops", 1)
        rows = (
            node.get("Actual Rows", 0)
            + node.get("Rows Removed by Filter", 0)
            + node.get("Rows Removed by Index Recheck", 0)
        )
        read[table] = read.get(table, 0) + rows * loops
        if node.get("Node Type") == "Seq Scan" and table in BIG_TABLES:
            seq.add(table)
    for child in node.get("Plans", []):
        _walk(child, read, seq)
