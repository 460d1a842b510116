"""The migration that makes active-learning refreshes jobs keeps what each row was doing, and goes back."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from tests.common.jobs.test_migrations import migrate

BEFORE = [("training", "0009_label_check_job")]
AFTER = [("training", "0010_active_learning_refresh_job")]


@pytest.mark.django_db(transaction=True)
def test_queued_running_and_failed_refreshes_become_jobs_and_come_back():
    latest = MigrationExecutor(connection).loader.graph.leaf_nodes()
    try:
        old = migrate(BEFORE)
        Project = old.get_model("projects", "Project")
        state = old.get_model("training", "ActiveLearning").objects
        state.create(
            project=Project.objects.create(name="Queued"),
            strategy="entropy",
            refresh_status="queued",
        )
        state.create(
            project=Project.objects.create(name="Running"),
            strategy="entropy",
            refresh_status="running",
        )
        state.create(
            project=Project.objects.create(name="Failed"),
            strategy="margin",
            error="RuntimeError: boom",
        )
        state.create(project=Project.objects.create(name="Quiet"), strategy="margin")

        new = migrate(AFTER)
        refreshes = new.get_model("training", "ActiveLearningRefresh").objects.select_related(
            "project"
        )
        assert {(r.project.name, r.status, r.error) for r in refreshes} == {
            ("Queued", "queued", ""),
            ("Running", "running", ""),
            ("Failed", "failed", "RuntimeError: boom"),
        }
        assert refreshes.get(project__name="Running").started_at is not None
        assert refreshes.get(project__name="Running").heartbeat_at is None

        back = migrate(BEFORE)
        states = back.get_model("training", "ActiveLearning").objects
        assert {
            (s.project.name, s.refresh_status, s.refresh_started_at is not None, s.error)
            for s in states.select_related("project")
        } == {
            ("Queued", "queued", False, ""),
            ("Running", "running", True, ""),
            ("Failed", "idle", False, "RuntimeError: boom"),
            ("Quiet", "idle", False, ""),
        }
    finally:
        migrate(latest)
