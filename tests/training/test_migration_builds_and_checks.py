"""The migrations that make dataset builds and label checks jobs keep what each row was doing, and go back."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from tests.common.jobs.test_migrations import migrate

BEFORE = [("training", "0007_job_lifecycle")]
AFTER = [("training", "0009_label_check_job")]


@pytest.mark.django_db(transaction=True)
def test_building_versions_and_pending_label_checks_become_jobs_and_come_back():
    latest = MigrationExecutor(connection).loader.graph.leaf_nodes()
    try:
        old = migrate(BEFORE)
        Project = old.get_model("projects", "Project")
        version = old.get_model("training", "DatasetVersion").objects
        version.create(project=Project.objects.create(name="Unclaimed"), number=1)
        version.create(
            project=Project.objects.create(name="Claimed"), number=1, file_path="/v1.sealed"
        )
        version.create(project=Project.objects.create(name="Built"), number=1, status="ready")
        state = old.get_model("training", "ActiveLearning").objects
        state.create(project=Project.objects.create(name="Queued"), label_check_status="queued")
        state.create(project=Project.objects.create(name="Running"), label_check_status="running")
        state.create(
            project=Project.objects.create(name="Failed"), label_check_error="RuntimeError: boom"
        )
        state.create(project=Project.objects.create(name="Quiet"))

        new = migrate(AFTER)
        versions = new.get_model("training", "DatasetVersion").objects
        assert {(v.project.name, v.status) for v in versions.select_related("project")} == {
            ("Unclaimed", "queued"),
            ("Claimed", "running"),
            ("Built", "ready"),
        }
        assert versions.get(project__name="Claimed").started_at is not None
        checks = new.get_model("training", "LabelCheck").objects.select_related("project")
        assert {(c.project.name, c.status, c.error) for c in checks} == {
            ("Queued", "queued", ""),
            ("Running", "running", ""),
            ("Failed", "failed", "RuntimeError: boom"),
        }
        assert checks.get(project__name="Running").started_at is not None

        back = migrate(BEFORE)
        versions = back.get_model("training", "DatasetVersion").objects
        assert set(versions.values_list("status", flat=True)) == {"building", "ready"}
        states = back.get_model("training", "ActiveLearning").objects
        assert {
            (s.project.name, s.label_check_status, s.label_check_error)
            for s in states.select_related("project")
        } == {
            ("Queued", "queued", ""),
            ("Running", "running", ""),
            ("Failed", "idle", "RuntimeError: boom"),
            ("Quiet", "idle", ""),
        }
    finally:
        migrate(latest)
