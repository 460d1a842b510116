"""The migrations onto the shared job lifecycle keep every row: counts renamed, "done" read as "succeeded"."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [
    ("annotation", "0012_project_in_projects_app"),
    ("training", "0006_project_in_projects_app"),
    ("governance", "0007_project_in_projects_app"),
]
AFTER = [
    ("annotation", "0013_import_job_lifecycle"),
    ("training", "0007_job_lifecycle"),
    ("governance", "0008_audit_verification_lifecycle"),
]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.mark.django_db(transaction=True)
def test_existing_jobs_keep_their_progress_and_state_across_the_migration_and_back():
    latest = MigrationExecutor(connection).loader.graph.leaf_nodes()
    try:
        old = migrate(BEFORE)
        project = old.get_model("projects", "Project").objects.create(name="Legacy")
        old.get_model("annotation", "ImportJob").objects.create(
            project=project, filename="f.jsonl", status="succeeded", rows_read=5
        )
        old.get_model("training", "PreannotationJob").objects.create(
            project=project, status="running", items_done=3, items_total=8
        )
        version = old.get_model("training", "DatasetVersion").objects.create(
            project=project, number=1
        )
        old.get_model("training", "TrainingJob").objects.create(
            project=project, dataset_version=version, progress={"step": 4, "total_steps": 10}
        )
        old.get_model("governance", "AuditVerification").objects.create(status="done", checked=7)

        new = migrate(AFTER)
        imported = new.get_model("annotation", "ImportJob").objects.get()
        assert (imported.status, imported.progress_done) == ("succeeded", 5)
        predicted = new.get_model("training", "PreannotationJob").objects.get()
        assert (predicted.progress_done, predicted.progress_total) == (3, 8)
        trained = new.get_model("training", "TrainingJob").objects.get()
        assert (trained.progress_done, trained.progress_total) == (4, 10)
        verification = new.get_model("governance", "AuditVerification").objects.get()
        assert (verification.status, verification.checked) == ("succeeded", 7)
        assert verification.created_at is not None

        back = migrate(BEFORE)
        assert back.get_model("governance", "AuditVerification").objects.get().status == "done"
        assert back.get_model("training", "PreannotationJob").objects.get().items_done == 3
    finally:
        migrate(latest)
